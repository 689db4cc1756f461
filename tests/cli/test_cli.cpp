// The `crew` command line as users meet it: real processes, their exit statuses (0 ok, 1 failure,
// 2 bad input, 3 `cluster status` of a cluster that is not running), the error code that starts
// each message, and --json output that parses into the documented shapes.
//
//   cli.input           no cluster: version, help, usage errors, missing/stale/deaf controllers,
//                       cluster start refused before anything runs
//   cli.cluster         a running 2-engine cluster: remote errors, bad input, --json, start/stop,
//                       --timeout and Ctrl-C during waits, large results, progress on a terminal
//   cli.launch_failure  mpirun itself refuses; nothing may be left running
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cluster/local_launcher.hpp"
#include "common/profile.hpp"
#include "crew/version.hpp"
#include "test_support.hpp"

extern char** environ;

using namespace crew;
using namespace crew::testing;
using json = nlohmann::json;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;
constexpr int exit_not_running = 3;

struct Run {
  RunResult r;
  double seconds = 0;
};

/// Runs `crew args...` and reports what it printed if a check on it fails.
Run crew_run(const std::vector<std::string>& args, std::vector<std::pair<std::string, std::string>> env = {},
             std::chrono::milliseconds timeout = 60s) {
  const auto t0 = std::chrono::steady_clock::now();
  Run run{crew_cli(args, std::move(env), timeout), 0};
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return run;
}

#define SHOW(run)                                                                                                      \
  INFO("crew exited " << (run).r.status << " after " << (run).seconds << " s\n--- stdout\n"                            \
                      << (run).r.out << "--- stderr\n"                                                                 \
                      << (run).r.err)

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Every line of stderr starts with the code (one line per failing engine).
/// The first "[crew.…]" line of stderr (cluster start prints "crew: …" notices before it).
std::string error_of(const std::string& err) {
  std::size_t start = 0;
  while (start < err.size()) {
    auto end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    if (err.compare(start, 6, "[crew.") == 0) return err.substr(start, end - start);
    start = end + 1;
  }
  return {};
}

bool every_line_starts_with(const std::string& text, const std::string& prefix) {
  if (text.empty()) return false;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (!starts_with(text.substr(start, end - start), prefix)) return false;
    start = end + 1;
  }
  return true;
}

json parse(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const std::exception& e) {
    FAIL("not JSON (" << e.what() << "): " << text);
    return {};
  }
}

/// A pid that existed and is gone: a child we started and reaped.
pid_t dead_pid() {
  pid_t pid = 0;
  char* argv[] = {const_cast<char*>("true"), nullptr};
  REQUIRE(::posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return pid;
}

/// A loopback port nobody listens on (bound, then released).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Writes a controller.json for `profile` as a controller would.
fs::path write_controller_file(const std::string& profile, pid_t pid, const std::string& client_url) {
  const fs::path dir = profile_dir(profile);
  ensure_profile_dir(dir);
  ControllerFile cf{profile, client_url, "tcp://127.0.0.1:1", std::string(64, 'a'), host_name(), pid, version_string};
  write_private_json(dir / controller_file_name, to_json(cf));
  return dir / controller_file_name;
}

/// Nothing of `profile` runs: status says so and no connection or state file is left.
void check_nothing_running(const std::string& profile) {
  const Run status = crew_run({"cluster", "status", "--profile", profile});
  SHOW(status);
  CHECK(status.r.status == exit_not_running);
  CHECK_FALSE(fs::exists(profile_dir(profile) / controller_file_name));
  CHECK_FALSE(fs::exists(profile_dir(profile) / "cluster.json"));
}

const std::string plugin = (test_bin_dir() / "system" / "libcrew_test_plugin.so").string();

/// The cluster of the cli.cluster suite, started and (at the end) stopped through the CLI itself.
class CliCluster {
public:
  static constexpr const char* profile = "clu";
  CliCluster() {
    const Run start =
        crew_run({"cluster", "start", "-n", "2", "--profile", profile, "--heartbeat-ms", "200", "--plugin", plugin});
    if (start.r.status != 0) throw std::runtime_error("crew cluster start failed:\n" + start.r.err);
  }
  ~CliCluster() {
    // Stopped by the last case; if a failure skipped it, stop it here.
    if (fs::exists(profile_dir(profile) / "cluster.json")) (void)crew_cli({"cluster", "stop", "--profile", profile});
  }
  CliCluster(const CliCluster&) = delete;
  CliCluster& operator=(const CliCluster&) = delete;
  Client client() const { return Client(profile, ClientOptions{10s}); }
};

CliCluster& cluster() {
  static CliCluster c;
  return c;
}

/// `crew <args> --profile clu`
Run on_cluster(std::vector<std::string> args) {
  (void)cluster();
  args.push_back("--profile");
  args.push_back(CliCluster::profile);
  return crew_run(args);
}

std::int64_t tasks_submitted() { return cluster().client().controller_stats()["tasks_submitted"].as_int(); }

/// The words of a command the CLI suggested ("crew results 3-4 --wait --profile clu"), without
/// the leading "crew": to run it as the user would.
std::vector<std::string> words_after_crew(const std::string& command) {
  std::vector<std::string> words;
  std::istringstream in(command);
  for (std::string w; in >> w;) words.push_back(w);
  if (!words.empty() && words.front() == "crew") words.erase(words.begin());
  return words;
}

/// What `crew results ID` says of a task now: "pending", "ok" or "error" (--json).
std::string task_state(const std::string& id) {
  const Run r = on_cluster({"results", id, "--json"});
  const json out = parse(r.r.out);
  if (!out.contains(id)) return "unknown";
  return out[id].contains("$error") ? "error" : out[id]["status"].get<std::string>();
}

/// `crew args...` started in the background (its own session), stdout and stderr into `log`.
/// Kills it (SIGKILL) if it is still running when the object goes.
class Background {
public:
  Background(std::vector<std::string> args, fs::path log) : log_(std::move(log)) {
    std::vector<std::string> argv{(bin_dir() / "crew").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    proc::SpawnOptions options;
    options.argv = std::move(argv);
    options.log = log_;
    pid_ = proc::spawn(options);
  }
  ~Background() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      (void)proc::wait_gone(pid_, deadline_after(10s));
    }
    fs::remove(log_);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  pid_t pid() const { return pid_; }
  /// Its exit status once it has exited (128 + signal if a signal ended it), within `timeout`.
  std::optional<int> exit_status(std::chrono::milliseconds timeout) {
    (void)poll_for([&] { return (status_ = proc::reap_if_exited(pid_)).has_value(); }, timeout);
    return status_;
  }
  std::string output() const {
    std::ifstream in(log_);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

private:
  fs::path log_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// Whether `pid` has a handler for SIGINT now (its SigCgt mask in /proc).
bool catches_sigint(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (starts_with(line, "SigCgt:")) return (std::stoull(line.substr(7), nullptr, 16) >> (SIGINT - 1) & 1) != 0;
  return false;
}

/// Every --json failure has one shape: one line on stdout, {"$error": {"code", "type",
/// "message"}}, its code the one stderr starts with, and nothing of a success object.
void check_json_failure(const Run& r, const std::string& code) {
  SHOW(r);
  CHECK(r.r.status != exit_ok);
  REQUIRE(std::count(r.r.out.begin(), r.r.out.end(), '\n') == 1);
  const json out = parse(r.r.out);
  REQUIRE(out.contains("$error"));
  const json& e = out["$error"];
  CHECK(e["code"] == code);
  CHECK(e["type"].is_string());
  if (starts_with(e["type"].get<std::string>(), "crew.")) CHECK(e["type"] == "crew." + code);
  CHECK(e["message"].is_string());
  CHECK_FALSE(starts_with(e["message"].get<std::string>(), "[crew."));
  CHECK(contains(r.r.err, "[crew." + code + "]"));
  for (const char* success_key : {"rows", "file", "scattered", "pushed", "loaded", "gathered", "value"})
    CHECK_MESSAGE(!out.contains(success_key), "a success key in a failure: " << success_key);
}

}  // namespace

// ============================================================================================
TEST_SUITE("cli.input") {

  TEST_CASE("--version prints the version") {
    const Run r = crew_run({"--version"});
    SHOW(r);
    CHECK(r.r.status == exit_ok);
    CHECK(r.r.out == std::string("crew ") + version_string + "\n");
  }

  TEST_CASE("--help works for every verb") {
    const std::vector<std::vector<std::string>> verbs{{},
                                                      {"ids"},
                                                      {"engines"},
                                                      {"functions"},
                                                      {"call"},
                                                      {"map"},
                                                      {"queue"},
                                                      {"abort"},
                                                      {"results"},
                                                      {"history"},
                                                      {"purge"},
                                                      {"exec"},
                                                      {"push"},
                                                      {"pull"},
                                                      {"shutdown"},
                                                      {"cluster"},
                                                      {"cluster", "start"},
                                                      {"cluster", "stop"},
                                                      {"cluster", "status"},
                                                      {"cluster", "list"},
                                                      {"cluster", "add"},
                                                      {"scatter"},
                                                      {"gather"},
                                                      {"reduce"},
                                                      {"save-h5"},
                                                      {"load-h5"},
                                                      {"jobscript"},
                                                      {"launchers"},
                                                      {"controller"}};
    for (auto args : verbs) {
      const std::string usage = "Usage: crew" + [&] {
        std::string words;
        for (const auto& a : args) words += " " + a;
        return words;
      }();
      args.push_back("--help");
      const Run r = crew_run(args);
      SHOW(r);
      CAPTURE(usage);
      CHECK(r.r.status == exit_ok);
      CHECK(contains(r.r.out, usage));
      CHECK(r.r.err.empty());
    }
    const Run top = crew_run({"--help"});
    for (const char* verb :
         {"ids",     "engines", "functions", "call",    "map",       "queue",     "abort",     "results",
          "history", "purge",   "exec",      "push",    "pull",      "scatter",   "gather",    "reduce",
          "save-h5", "load-h5", "shutdown",  "cluster", "jobscript", "launchers", "controller"})
      CHECK_MESSAGE(contains(top.r.out, std::string("\n  ") + verb), verb);
    CHECK(contains(top.r.out, "4 --timeout passed"));
  }

  TEST_CASE("--help says which timeout is which: --timeout the whole command, --connect-timeout the controller") {
    const Run call = crew_run({"call", "--help"});
    SHOW(call);
    CHECK(contains(call.r.out, "--timeout"));
    CHECK(contains(call.r.out, "the whole command may take, waiting for results included"));
    CHECK(contains(call.r.out, "--connect-timeout"));
    CHECK(contains(call.r.out, "the controller may take to answer"));
    const Run start = crew_run({"cluster", "start", "--help"});
    CHECK(contains(start.r.out, "--connect-timeout"));
    CHECK_FALSE(contains(start.r.out, "--timeout"));  // it has --wait for the engines
  }

  TEST_CASE("an unknown verb, a missing argument or a bad option value is a usage error naming the verb") {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"frobnicate"}, {"call"}, {"exec"}, {"ids", "--timeout", "0"}, {"ids", "--bogus"}, {"call", "--after"}}) {
      const Run r = crew_run(args);
      SHOW(r);
      CHECK(r.r.status == exit_usage);
      CHECK(every_line_starts_with(r.r.err, "[crew.input.usage] "));
    }
    const Run missing = crew_run({"call"});
    SHOW(missing);
    CHECK(missing.r.err == "[crew.input.usage] crew call: function is required; see `crew call --help`\n");
    const Run bogus = crew_run({"cluster", "status", "--bogus"});
    SHOW(bogus);
    CHECK(starts_with(bogus.r.err, "[crew.input.usage] crew cluster status: "));
    CHECK(contains(bogus.r.err, "--bogus"));
  }

  TEST_CASE("a mistyped verb or sub-verb is named, with the nearest verbs") {
    const Run cluster = crew_run({"clsuter", "status"});
    SHOW(cluster);
    CHECK(cluster.r.status == exit_usage);
    CHECK(cluster.r.err ==
          "[crew.input.usage] 'clsuter' is not a verb of `crew`; did you mean cluster? (`crew --help` lists the "
          "verbs)\n");
    const Run call = crew_run({"cal", "echo", "1"});
    SHOW(call);
    CHECK(call.r.status == exit_usage);
    CHECK(starts_with(call.r.err, "[crew.input.usage] 'cal' is not a verb of `crew`; did you mean call"));
    const Run start = crew_run({"cluster", "strat", "-n", "1", "--profile", "typo"});
    SHOW(start);
    CHECK(start.r.status == exit_usage);
    CHECK(starts_with(start.r.err, "[crew.input.usage] 'strat' is not a verb of `crew cluster`; did you mean start?"));
    check_nothing_running("typo");
    // Nothing near: every verb is listed instead.
    const Run far = crew_run({"cluster", "zzzzzzzz"});
    SHOW(far);
    CHECK(far.r.status == exit_usage);
    CHECK(contains(far.r.err, "the verbs are start, add, stop, status, list"));
  }

  TEST_CASE("crew or crew cluster alone prints its help and exits 0, as kubectl does") {
    const Run top = crew_run({});
    SHOW(top);
    CHECK(top.r.status == exit_ok);
    CHECK(top.r.err.empty());
    CHECK(contains(top.r.out, "Usage: crew"));
    CHECK(contains(top.r.out, "\n  cluster"));
    const Run cluster = crew_run({"cluster"});
    SHOW(cluster);
    CHECK(cluster.r.status == exit_ok);
    CHECK(contains(cluster.r.out, "Usage: crew cluster"));
    CHECK(contains(cluster.r.out, "\n  start"));
  }

  TEST_CASE("a name that push, scatter or load-h5 would set must be a variable name") {
    // Checked before connecting: no cluster is needed to be told.
    const Run spaced = crew_run({"push", "a = 5", "--profile", "nothing-here"});
    SHOW(spaced);
    CHECK(spaced.r.status == exit_usage);
    CHECK(spaced.r.err ==
          "[crew.input.bad_name] push 'a = 5': 'a ' is not a variable name: names are letters, digits and '_', not "
          "starting with a digit; no spaces around '=': write NAME=JSON as one word, e.g. a=5\n");
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"push", "1x=5"}, {"push", "a-b=5"}, {"scatter", "x y", "[1,2]"}, {"load-h5", "f.h5", "/x", "x.y"}}) {
      std::vector<std::string> cmd = args;
      cmd.insert(cmd.end(), {"--profile", "nothing-here"});
      const Run r = crew_run(cmd);
      SHOW(r);
      CHECK(r.r.status == exit_usage);
      CHECK(starts_with(r.r.err, "[crew.input.bad_name] "));
    }
  }

  TEST_CASE("a profile name that is not a name is bad input") {
    // (The verbs also take a path to a controller.json as --profile, so names with '/' are paths
    // there; the cluster verbs take names only.)
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"ids", "--profile", "two words"},
                                               {"cluster", "status", "--profile", "../elsewhere"},
                                               {"cluster", "start", "-n", "1", "--profile", "a/b"},
                                               {"cluster", "stop", "--profile", ".."}}) {
      const Run r = crew_run(args);
      SHOW(r);
      CHECK(r.r.status == exit_usage);
      CHECK(starts_with(r.r.err, "[crew.input.bad_profile]"));
    }
  }

  TEST_CASE("without a controller, every verb fails fast with no_profile and the profile's path") {
    const std::string file = (crew_home() / "profile_nothere" / "controller.json").string();
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{{"ids"},
                                                                               {"engines"},
                                                                               {"call", "echo", "1"},
                                                                               {"exec", "true"},
                                                                               {"push", "a=1"},
                                                                               {"pull", "a"},
                                                                               {"shutdown"}}) {
      args.insert(args.end(), {"--profile", "nothere", "--timeout", "10"});
      const Run r = crew_run(args);
      SHOW(r);
      CHECK(r.r.status == exit_failure);
      CHECK(starts_with(r.r.err, "[crew.connection.no_profile]"));
      CHECK(contains(r.r.err, file));
      CHECK(r.seconds < 3.0);  // well under its 10 s timeout: nothing to wait for
    }
  }

  TEST_CASE("a controller.json left by a dead controller is reported as controller_gone") {
    const pid_t gone = dead_pid();
    const fs::path file = write_controller_file("stale", gone, "tcp://127.0.0.1:" + std::to_string(free_port()));
    const Run r = crew_run({"ids", "--profile", "stale", "--timeout", "10"});
    SHOW(r);
    CHECK(r.r.status == exit_failure);
    CHECK(starts_with(r.r.err, "[crew.connection.controller_gone]"));
    CHECK(contains(r.r.err, file.string()));
    CHECK(contains(r.r.err, std::to_string(gone)));
    CHECK(r.seconds < 3.0);
    const Run status = crew_run({"cluster", "status", "--profile", "stale"});
    SHOW(status);
    CHECK(status.r.status == exit_not_running);
  }

  TEST_CASE("a controller that does not answer is a timeout within --timeout") {
    const std::string url = "tcp://127.0.0.1:" + std::to_string(free_port());
    write_controller_file("deaf", ::getpid(), url);  // a live pid: the file looks current
    const Run r = crew_run({"ids", "--profile", "deaf", "--timeout", "1"});
    SHOW(r);
    CHECK(r.r.status == exit_failure);
    CHECK(starts_with(r.r.err, "[crew.connection.timeout]"));
    CHECK(contains(r.r.err, url));
    CHECK(r.seconds >= 1.0);
    CHECK(r.seconds < 4.0);
    fs::remove(profile_dir("deaf") / controller_file_name);
  }

  TEST_CASE("cluster status of a profile that is not running exits 3, and --json says so") {
    const Run r = crew_run({"cluster", "status", "--profile", "idle"});
    SHOW(r);
    CHECK(r.r.status == exit_not_running);
    CHECK(contains(r.r.out, "not running"));
    const Run j = crew_run({"cluster", "status", "--profile", "idle", "--json"});
    SHOW(j);
    CHECK(j.r.status == exit_not_running);
    const json status = parse(j.r.out);
    CHECK(status["profile"] == "idle");
    CHECK(status["running"] == false);
  }

  TEST_CASE("cluster stop when nothing runs exits 1 with not_running") {
    const Run r = crew_run({"cluster", "stop", "--profile", "idle"});
    SHOW(r);
    CHECK(r.r.status == exit_failure);
    CHECK(starts_with(r.r.err, "[crew.launch.not_running]"));
  }

  TEST_CASE("cluster start with no engines is bad input, and starts nothing") {
    for (const char* n : {"0", "-3"}) {
      const Run r = crew_run({"cluster", "start", "-n", n, "--profile", "zero"});
      SHOW(r);
      CHECK(r.r.status == exit_usage);
      CHECK(starts_with(error_of(r.r.err), "[crew.input.bad_option]"));
      check_nothing_running("zero");
    }
  }

  TEST_CASE("an unknown scheme, a bad --property or a negative --hwm is bad input, and starts nothing") {
    const Run scheme = crew_run({"cluster", "start", "-n", "1", "--scheme", "fastest", "--profile", "sch"});
    SHOW(scheme);
    CHECK(scheme.r.status == exit_usage);
    CHECK(starts_with(error_of(scheme.r.err), "[crew.input.bad_option]"));
    CHECK(contains(scheme.r.err, "leastload, lru, weighted, random, twobin"));
    check_nothing_running("sch");
    const Run property = crew_run({"cluster", "start", "-n", "1", "--property", "gpu", "--profile", "sch"});
    SHOW(property);
    CHECK(property.r.status == exit_usage);
    CHECK(contains(property.r.err, "KEY=VALUE"));
    check_nothing_running("sch");
    const Run hwm = crew_run({"cluster", "start", "-n", "1", "--hwm", "-1", "--profile", "sch"});
    CHECK(hwm.r.status == exit_usage);
    check_nothing_running("sch");
    const Run controller = crew_run({"controller", "--scheme", "nope", "--profile", "sch"});
    SHOW(controller);
    CHECK(controller.r.status == exit_usage);
    CHECK(contains(controller.r.err, "no such load-balancing scheme"));
  }

  TEST_CASE("a --db-path beside --db memory, in a missing directory, or an unknown --db is bad input, and starts "
            "nothing") {
    const Run both =
        crew_run({"cluster", "start", "-n", "1", "--db", "memory", "--db-path", "t.db", "--profile", "db"});
    SHOW(both);
    CHECK(both.r.status == exit_usage);
    CHECK(starts_with(error_of(both.r.err), "[crew.input.bad_option] --db-path t.db names a task database, but --db "
                                            "memory keeps none"));
    check_nothing_running("db");
    const Run missing = crew_run({"cluster", "start", "-n", "1", "--db-path", "/no/such/dir/t.db", "--profile", "db"});
    SHOW(missing);
    CHECK(missing.r.status == exit_usage);
    CHECK(contains(error_of(missing.r.err), "there is no directory /no/such/dir"));
    check_nothing_running("db");
    const Run unknown = crew_run({"controller", "--db", "postgres", "--profile", "db"});
    CHECK(unknown.r.status == exit_usage);
    CHECK(contains(unknown.r.err, "{memory,sqlite}"));
    const Run offline = crew_run({"history", "--db-path", "/no/such/file.db", "--profile", "db"});
    SHOW(offline);
    CHECK(offline.r.status == exit_usage);
    CHECK(contains(error_of(offline.r.err), "--db-path /no/such/file.db: no such file"));
  }

  TEST_CASE("--restore with no task database to restore from is bad input, naming the file") {
    const Run none = crew_run({"controller", "--restore", "--profile", "no-records"});
    SHOW(none);
    CHECK(none.r.status == exit_usage);
    CHECK(contains(error_of(none.r.err), "tasks.db does not exist, so there is nothing to restore"));
    const Run elsewhere = crew_run({"controller", "--restore", "--db-path", "/no/such/dir/t.db", "--profile", "x"});
    CHECK(elsewhere.r.status == exit_usage);
    CHECK(contains(error_of(elsewhere.r.err), "there is no directory /no/such/dir"));
    check_nothing_running("no-records");
  }

  TEST_CASE("load-balancer options without --lb are bad input") {
    const Run r = crew_run({"call", "echo", "1", "--retries", "2", "--profile", "nothing-here"});
    SHOW(r);
    CHECK(r.r.status == exit_usage);
    CHECK(contains(r.r.err, "add --lb"));
    const Run m = crew_run({"map", "echo", "[1,2]", "--chunksize", "1", "--profile", "nothing-here"});
    CHECK(m.r.status == exit_usage);
    CHECK(contains(m.r.err, "add --lb"));
    const Run none = crew_run({"map", "echo", "--profile", "nothing-here"});
    CHECK(none.r.status == exit_usage);
    CHECK(contains(none.r.err, "a JSON list"));
    const Run scalar = crew_run({"map", "echo", "5", "--lb", "--profile", "nothing-here"});
    SHOW(scalar);
    CHECK(scalar.r.status == exit_usage);
    CHECK(starts_with(error_of(scalar.r.err), "[crew.input.not_a_sequence]"));
  }

  TEST_CASE("cluster start without mpirun on PATH fails with not_found, and leaves nothing running") {
    const fs::path bin = crew_home() / "bin-without-mpirun";
    fs::create_directories(bin);
    const fs::path empty = crew_home() / "empty-bin";
    fs::create_directories(empty);
    fs::create_symlink(bin / "no-such-program", bin / "mpirun");  // a dangling mpirun
    for (const fs::path& path : {bin, empty}) {
      CAPTURE(path);
      const Run r = crew_run({"cluster", "start", "-n", "2", "--profile", "nompi"}, {{"PATH", path.string()}});
      SHOW(r);
      CHECK(r.r.status == exit_failure);
      CHECK(starts_with(error_of(r.r.err), "[crew.launch.not_found]"));
      CHECK(contains(r.r.err, "mpirun"));
      check_nothing_running("nompi");
    }
  }

  TEST_CASE("CREW_STOP_GRACE that is no number of seconds is refused by cluster stop, naming it") {
    for (const char* bad : {"soon", "-5", "0", "10s"}) {
      CAPTURE(bad);
      const Run r = crew_run({"cluster", "stop", "--profile", "nothing-here"}, {{"CREW_STOP_GRACE", bad}});
      SHOW(r);
      CHECK(r.r.status == exit_usage);
      CHECK(starts_with(error_of(r.r.err), "[crew.input.bad_option]"));
      CHECK(contains(r.r.err, std::string("CREW_STOP_GRACE=") + bad));
    }
    // Other verbs do not read it.
    const Run ids = crew_run({"ids", "--profile", "nothing-here"}, {{"CREW_STOP_GRACE", "soon"}});
    CHECK_FALSE(contains(ids.r.err, "CREW_STOP_GRACE"));
  }

}  // TEST_SUITE cli.input

// ============================================================================================
TEST_SUITE("cli.cluster") {

  TEST_CASE("ids and engines list the engines; --json gives a list") {
    const Run ids = on_cluster({"ids"});
    SHOW(ids);
    CHECK(ids.r.status == exit_ok);
    CHECK(ids.r.out == "0 1\n");
    const Run ids_json = on_cluster({"ids", "--json"});
    CHECK(parse(ids_json.r.out) == json::array({0, 1}));

    const Run table = on_cluster({"engines"});
    SHOW(table);
    CHECK(table.r.status == exit_ok);
    CHECK(starts_with(table.r.out, "ID"));
    const Run engines_json = on_cluster({"engines", "--json"});
    SHOW(engines_json);
    const json engines = parse(engines_json.r.out);
    REQUIRE(engines.is_array());
    REQUIRE(engines.size() == 2);
    for (int id : {0, 1}) {
      const json& e = engines[static_cast<std::size_t>(id)];
      CHECK(e["id"] == id);
      CHECK(e["rank"] == id);
      CHECK(e["world"] == 0);
      CHECK(e["world_size"] == 2);
      CHECK(e["state"] == "alive");
      CHECK(e["pid"].get<std::int64_t>() > 0);
      CHECK(e["host"].is_string());
    }
  }

  TEST_CASE("call --lb runs on one engine and says which; --no-wait prints the id for `crew results`") {
    const Run r = on_cluster({"call", "echo", "7", "--lb"});
    SHOW(r);
    CHECK(r.r.status == exit_ok);
    CHECK((r.r.out == "[0] 7\n" || r.r.out == "[1] 7\n"));
    const Run j = on_cluster({"call", "echo", "7", "--lb", "--json"});
    SHOW(j);
    const json out = parse(j.r.out);
    CHECK(out["value"] == 7);
    CHECK(out["engine"].get<int>() >= 0);
    CHECK(out["msg_id"].is_string());

    const Run submitted = on_cluster({"call", "sleep", "0.3", "--lb", "--no-wait"});
    SHOW(submitted);
    CHECK(submitted.r.status == exit_ok);
    const std::string id = submitted.r.out.substr(0, submitted.r.out.find('\n'));
    const Run waited = on_cluster({"results", id, "--wait", "--json"});
    SHOW(waited);
    CHECK(waited.r.status == exit_ok);
    CHECK(parse(waited.r.out)[id]["status"] == "ok");
    const Run again = on_cluster({"results", id});
    CHECK(contains(again.r.out, id + ": ok on engine"));

    const Run aborted_done = on_cluster({"abort", id});
    SHOW(aborted_done);
    CHECK(aborted_done.r.status == exit_usage);
    CHECK(starts_with(error_of(aborted_done.r.err), "[crew.input.already_done]"));
    const Run unknown = on_cluster({"abort", "no-such-task"});
    CHECK(unknown.r.status == exit_usage);
    CHECK(starts_with(error_of(unknown.r.err), "[crew.input.unknown_task]"));
    const Run unknown_result = on_cluster({"results", "no-such-task"});
    CHECK(unknown_result.r.status == exit_usage);
    CHECK(starts_with(error_of(unknown_result.r.err), "[crew.input.unknown_task]"));
  }

  TEST_CASE("history lists a task by id with its function, engine and status; purge forgets it; bad input is named") {
    const Run submitted = on_cluster({"call", "echo", "5", "--lb", "--json"});
    SHOW(submitted);
    const std::string id = parse(submitted.r.out)["msg_id"].get<std::string>();
    const int engine = parse(submitted.r.out)["engine"].get<int>();
    const Run listed = on_cluster({"history", "--since", "1h", "--status", "ok", "--json"});
    SHOW(listed);
    CHECK(listed.r.status == exit_ok);
    json entry;
    for (const auto& t : parse(listed.r.out))
      if (t["msg_id"] == id) entry = t;
    REQUIRE(entry.is_object());
    CHECK(entry["function"] == "echo");
    CHECK(entry["engine"] == engine);
    CHECK(entry["status"] == "ok");
    CHECK(entry["completed_us"].get<std::int64_t>() >= entry["started_us"].get<std::int64_t>());
    const Run table = on_cluster({"history", "--last", "50"});
    CHECK(contains(table.r.out, "ID"));
    CHECK(contains(table.r.out, id));

    const Run purged = on_cluster({"purge", id, "--json"});
    SHOW(purged);
    CHECK(purged.r.status == exit_ok);
    CHECK(parse(purged.r.out)["purged"] == 1);
    const Run gone = on_cluster({"results", id});
    CHECK(gone.r.status == exit_usage);
    CHECK(contains(error_of(gone.r.err), "purged"));
    const Run again = on_cluster({"purge", id});
    CHECK(again.r.status == exit_failure);
    CHECK(contains(again.r.out, "not on record: " + id));

    const Run nothing = on_cluster({"purge"});
    CHECK(nothing.r.status == exit_usage);
    CHECK(starts_with(error_of(nothing.r.err), "[crew.input.bad_option] purge takes task ids, --all or --before AGE"));
    const Run bad_age = on_cluster({"history", "--since", "yesterday"});
    CHECK(bad_age.r.status == exit_usage);
    CHECK(contains(error_of(bad_age.r.err), "--since takes an age such as 90s, 10m, 1h or 2d"));
    const Run bad_status = on_cluster({"history", "--status", "done"});
    CHECK(bad_status.r.status == exit_usage);
  }

  TEST_CASE("map gives the results in order, direct or balanced; an empty sequence is an empty result") {
    const Run direct = on_cluster({"map", "echo", "[1,2,3,4,5]"});
    SHOW(direct);
    CHECK(direct.r.status == exit_ok);
    CHECK(parse(direct.r.out) == json::array({1, 2, 3, 4, 5}));
    const Run lb = on_cluster({"map", "echo", "[1,\"two\",3,4,5]", "--lb", "--chunksize", "2"});
    SHOW(lb);
    CHECK(parse(lb.r.out) == json::parse(R"([1,"two",3,4,5])"));
    const Run empty = on_cluster({"map", "echo", "[]", "--lb"});
    SHOW(empty);
    CHECK(empty.r.status == exit_ok);
    CHECK(parse(empty.r.out) == json::array());
    const Run bad_item = on_cluster({"map", "mul", "[1,2]", "--lb"});
    SHOW(bad_item);
    CHECK(bad_item.r.status == exit_failure);
    CHECK(contains(bad_item.r.err, "bad_arguments"));
  }

  TEST_CASE("a JSON list of numbers is an array wherever one is needed: reduce, save-h5, gather --npy, map --out") {
    const fs::path dir = fs::temp_directory_path() / ("crew-cli-lists-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto npy_header = [](const fs::path& f) {  // the .npy header: its dtype and shape as text
      std::ifstream in(f, std::ios::binary);
      std::string head(128, '\0');
      in.read(head.data(), static_cast<std::streamsize>(head.size()));
      return head;
    };
    // 22 ints over 2 engines: [1..11] and [12..22], int64[11] each (what numpy.array makes).
    std::string xs = "[";
    for (int i = 1; i <= 22; ++i) xs += (i > 1 ? "," : "") + std::to_string(i);
    xs += "]";
    const Run scatter = on_cluster({"scatter", "x", xs});
    SHOW(scatter);
    CHECK(scatter.r.status == exit_ok);
    CHECK(scatter.r.out == "scattered x (22 elements) to engines 0-1\n");
    const Run sum = on_cluster({"reduce", "x", "--op", "sum"});
    SHOW(sum);
    CHECK(sum.r.status == exit_ok);
    CHECK(parse(sum.r.out) == json::parse("[13,15,17,19,21,23,25,27,29,31,33]"));
    const Run saved = on_cluster({"save-h5", (dir / "x.h5").string(), "x"});
    SHOW(saved);
    CHECK(saved.r.status == exit_ok);
    const auto dump = proc::run_shell("h5dump -H -d /x " + (dir / "x.h5").string());
    CHECK(contains(dump.out, "( 22 )"));
    CHECK(contains(dump.out, "H5T_STD_I64LE"));
    const Run gathered = on_cluster({"gather", "x", "--npy", (dir / "x.npy").string()});
    SHOW(gathered);
    CHECK(gathered.r.status == exit_ok);
    CHECK(contains(npy_header(dir / "x.npy"), "'descr': '<i8'"));
    CHECK(contains(npy_header(dir / "x.npy"), "'shape': (22,)"));

    // Lists of pairs are 2-d: scatter says the shape, reduce of unequal parts names both shapes.
    const Run pairs = on_cluster({"scatter", "p", "[[1,2],[3,4],[5,6.5]]"});
    SHOW(pairs);
    CHECK(pairs.r.out == "scattered p (3x2: 3 rows) to engines 0-1\n");
    const Run unequal = on_cluster({"reduce", "p", "--op", "sum"});
    SHOW(unequal);
    CHECK(unequal.r.status == exit_failure);
    CHECK(starts_with(unequal.r.err, "[crew.remote.mismatch]"));
    CHECK(contains(unequal.r.err, "int64[2,2] (engine 0) with float64[1,2] (engine 1)"));

    // map's results: ints in one chunk, doubles in another, are one float64 array; pairs 2-d.
    const Run mixed =
        on_cluster({"map", "echo", "[1,2,3.5,4]", "--lb", "--chunksize", "2", "--out", (dir / "m.npy").string()});
    SHOW(mixed);
    CHECK(mixed.r.status == exit_ok);
    CHECK(contains(npy_header(dir / "m.npy"), "'descr': '<f8'"));
    const Run rows = on_cluster({"map", "echo", "[[1,2],[3,4],[5,6]]", "--out", (dir / "r.npy").string()});
    SHOW(rows);
    CHECK(rows.r.status == exit_ok);
    CHECK(contains(npy_header(dir / "r.npy"), "'shape': (3, 2)"));
    const Run ragged = on_cluster({"map", "echo", "[[1,2],[3]]", "--out", (dir / "g.npy").string()});
    SHOW(ragged);
    CHECK(ragged.r.status == exit_usage);
    CHECK(contains(ragged.r.err, "ragged"));
    fs::remove_all(dir);
  }

  TEST_CASE("queue shows every engine and the balancer's state; require that nothing meets fails") {
    const Run q = on_cluster({"queue"});
    SHOW(q);
    CHECK(q.r.status == exit_ok);
    CHECK(starts_with(q.r.out, "ID"));
    CHECK(contains(q.r.out, "scheme leastload"));
    const json j = parse(on_cluster({"queue", "--json"}).r.out);
    CHECK(j["engines"].size() == 2);
    CHECK(j["scheme"] == "leastload");
    const Run none = on_cluster({"call", "echo", "--lb", "--require", "gpu=true"});
    SHOW(none);
    CHECK(none.r.status == exit_failure);
    CHECK(starts_with(error_of(none.r.err), "[crew.remote.no_matching_engine]"));
  }

  TEST_CASE("call prints each engine's result; --json is an object keyed by engine id") {
    const Run r = on_cluster({"call", "echo", R"({"a": [1, 2]})"});
    SHOW(r);
    CHECK(r.r.status == exit_ok);
    CHECK(r.r.out == "[0] {\"a\":[1,2]}\n[1] {\"a\":[1,2]}\n");
    const Run j = on_cluster({"call", "echo", R"({"a": [1, 2]})", "--json"});
    SHOW(j);
    CHECK(j.r.status == exit_ok);
    CHECK(parse(j.r.out) == json::parse(R"({"0": {"a": [1, 2]}, "1": {"a": [1, 2]}})"));
  }

  TEST_CASE("an unknown function exits 1 with unknown_function, naming near matches") {
    const Run r = on_cluster({"call", "nosuchfn", "--targets", "0"});
    SHOW(r);
    CHECK(r.r.status == exit_failure);
    CHECK(starts_with(r.r.err, "[crew.remote.unknown_function]"));
    CHECK(contains(r.r.err, "nosuchfn"));
    const Run near = on_cluster({"call", "echoo", "1"});
    SHOW(near);
    CHECK(near.r.status == exit_failure);
    CHECK(every_line_starts_with(near.r.err, "[crew.remote.unknown_function]"));
    CHECK(contains(near.r.err, "did you mean echo"));
    const Run j = on_cluster({"call", "echoo", "--targets", "0", "--json"});
    SHOW(j);
    CHECK(j.r.status == exit_failure);
    const json out = parse(j.r.out);
    REQUIRE(out.contains("0"));
    const json& err = out["0"]["$error"];
    CHECK(err["code"] == "remote.unknown_function");
    CHECK(err["type"].is_string());
    CHECK(contains(err["message"].get<std::string>(), "did you mean echo"));
  }

  TEST_CASE("a wrong argument count or type exits 1 with bad_arguments naming the argument") {
    const Run count = on_cluster({"call", "sleep", "1", "2"});
    SHOW(count);
    CHECK(count.r.status == exit_failure);
    CHECK(every_line_starts_with(count.r.err, "[crew.remote.bad_arguments]"));
    CHECK(contains(count.r.err, "sleep(double) -> void takes 1 argument, got 2"));
    const Run type = on_cluster({"call", "sleep", R"("x")"});
    SHOW(type);
    CHECK(type.r.status == exit_failure);
    CHECK(every_line_starts_with(type.r.err, "[crew.remote.bad_arguments]"));
    CHECK(contains(type.r.err, "argument 1 of sleep(double) -> void: expected double, got string \"x\""));
  }

  TEST_CASE("malformed JSON exits 2 with bad_json, suggests quotes, and submits nothing") {
    const auto before = tasks_submitted();
    const Run r = on_cluster({"call", "echo", "hello"});
    SHOW(r);
    CHECK(r.r.status == exit_usage);
    CHECK(starts_with(r.r.err, "[crew.input.bad_json]"));
    CHECK(contains(r.r.err, R"('"hello"')"));
    const Run push = on_cluster({"push", "a=[1,2"});
    SHOW(push);
    CHECK(push.r.status == exit_usage);
    CHECK(starts_with(push.r.err, "[crew.input.bad_json]"));
    CHECK(tasks_submitted() == before);
  }

  TEST_CASE("bad --targets syntax exits 2 with bad_targets and submits nothing") {
    const auto before = tasks_submitted();
    for (const char* spec : {"x", "0-", "3-1", "0,,1", "1.5"}) {
      const Run r = on_cluster({"call", "echo", "1", "--targets", spec});
      SHOW(r);
      CHECK(r.r.status == exit_usage);
      CHECK(starts_with(r.r.err, "[crew.input.bad_targets]"));
    }
    CHECK(tasks_submitted() == before);
  }

  TEST_CASE("a target that does not exist exits 2 with unknown_target naming the engines there are") {
    const Run r = on_cluster({"call", "echo", "1", "--targets", "7"});
    SHOW(r);
    CHECK(r.r.status == exit_usage);
    CHECK(starts_with(r.r.err, "[crew.input.unknown_target]"));
    CHECK(contains(r.r.err, "engines 0-1"));
    const Run mixed = on_cluster({"call", "echo", "1", "--targets", "0,7"});
    SHOW(mixed);
    CHECK(mixed.r.status == exit_usage);
    CHECK(mixed.r.out == "[0] 1\n");  // the engine that exists still ran it
  }

  TEST_CASE("--after, --follow and --require take one value each: the words after them are arguments") {
    const Run first = on_cluster({"call", "echo", "1", "--lb", "--no-wait"});
    SHOW(first);
    REQUIRE(first.r.status == exit_ok);
    const std::string id = first.r.out.substr(0, first.r.out.find('\n'));
    const std::string host = parse(on_cluster({"engines", "--json"}).r.out).at(0).at("host").get<std::string>();
    for (const std::vector<std::string>& options : std::vector<std::vector<std::string>>{
             {"--after", id}, {"--after", id, "--after", id}, {"--follow", id}, {"--require", "host=" + host}}) {
      std::vector<std::string> args{"call", "mul", "--lb"};
      args.insert(args.end(), options.begin(), options.end());
      args.insert(args.end(), {"2", "3", "--json"});
      const Run r = on_cluster(args);
      SHOW(r);
      CHECK(r.r.status == exit_ok);
      CHECK(parse(r.r.out)["value"] == 6.0);
    }
    const Run map = on_cluster({"map", "echo", "--lb", "--after", id, "[1,2]"});
    SHOW(map);
    CHECK(map.r.status == exit_ok);
    CHECK(parse(map.r.out) == json::array({1, 2}));
  }

  TEST_CASE("a variable name with a space is refused before anything is submitted") {
    const auto before = tasks_submitted();
    const Run r = on_cluster({"push", "a = 5"});
    SHOW(r);
    CHECK(r.r.status == exit_usage);
    CHECK(starts_with(r.r.err, "[crew.input.bad_name]"));
    CHECK(contains(r.r.err, "'a '"));
    CHECK(tasks_submitted() == before);
    const Run keys = on_cluster({"call", "keys", "--targets", "0", "--json"});
    SHOW(keys);
    const auto by_engine = parse(keys.r.out);  // kept: a range-for over a temporary's member dangles
    for (const auto& k : by_engine["0"]) CHECK(k != "a ");
  }

  TEST_CASE("functions is a table of what the engines offer, crew's internals hidden unless --all") {
    const Run r = on_cluster({"functions"});
    SHOW(r);
    CHECK(r.r.status == exit_ok);
    CHECK(starts_with(r.r.out, "NAME"));
    CHECK(contains(r.r.out, "\necho "));
    CHECK(contains(r.r.out, "\nmul "));
    CHECK_FALSE(contains(r.r.out, "\ncrew."));  // no row of an internal function
    CHECK_FALSE(contains(r.r.out, "ENGINES"));  // both engines offer the same
    CHECK(contains(r.r.out, "internal crew.* functions not shown: `crew functions --all` shows them"));
    const Run all = on_cluster({"functions", "--all"});
    SHOW(all);
    CHECK(contains(all.r.out, "\ncrew.map "));
    CHECK_FALSE(contains(all.r.out, "not shown"));
    const Run j = on_cluster({"functions", "--json"});
    SHOW(j);
    const json fns = parse(j.r.out);
    REQUIRE(fns.is_array());
    bool echo = false;
    for (const auto& f : fns) {
      CHECK_FALSE(starts_with(f.at("name").get<std::string>(), "crew."));
      CHECK(f.at("engines") == json::array({0, 1}));
      echo = echo || f.at("name") == "echo";
    }
    CHECK(echo);
    // `crew call functions` (what earlier messages said to type) shows the same table...
    CHECK(on_cluster({"call", "functions"}).r.out == r.r.out);
    // ...and with --json stays the builtin's answer per engine.
    CHECK(parse(on_cluster({"call", "functions", "--json"}).r.out).contains("1"));
  }

  TEST_CASE("an unknown function is said once for all engines, and internals are never suggested") {
    const Run r = on_cluster({"call", "echoo", "1"});
    SHOW(r);
    CHECK(r.r.status == exit_failure);
    CHECK(r.r.err == "[crew.remote.unknown_function] engines 0-1: no function 'echoo'; did you mean echo? "
                     "(`crew functions` lists them; load more with --plugin or load_plugin)\n");
    const Run internal = on_cluster({"call", "shape_of"});
    SHOW(internal);
    CHECK(internal.r.status == exit_failure);
    CHECK(starts_with(internal.r.err, "[crew.remote.unknown_function] engines 0-1: no function 'shape_of' "));
    CHECK_FALSE(contains(internal.r.err, "crew.shape_of"));
  }

  TEST_CASE("push without '=' exits 2 and submits nothing") {
    const auto before = tasks_submitted();
    for (const char* bad : {"abc", "=5"}) {
      const Run r = on_cluster({"push", bad});
      SHOW(r);
      CHECK(r.r.status == exit_usage);
      CHECK(starts_with(r.r.err, "[crew.input.bad_option]"));
    }
    CHECK(tasks_submitted() == before);
  }

  TEST_CASE("push then pull round-trips values; --json gives the documented shapes") {
    const Run push = on_cluster({"push", "a=5", R"(b="text")"});
    SHOW(push);
    CHECK(push.r.status == exit_ok);
    CHECK(push.r.out == "pushed a, b to engines 0-1\n");
    const Run push_json = on_cluster({"push", "c=[1,2]", "--json", "--targets", "1"});
    SHOW(push_json);
    CHECK(parse(push_json.r.out) == json::parse(R"({"pushed": ["c"], "engines": [1]})"));

    const Run one = on_cluster({"pull", "a", "--json"});
    SHOW(one);
    CHECK(one.r.status == exit_ok);
    CHECK(parse(one.r.out) == json::parse(R"({"0": {"a": 5}, "1": {"a": 5}})"));
    const Run two = on_cluster({"pull", "a", "b", "--json", "--targets", "0"});
    SHOW(two);
    CHECK(parse(two.r.out) == json::parse(R"({"0": {"a": 5, "b": "text"}})"));
    const Run text = on_cluster({"pull", "c", "--targets", "1"});
    CHECK(text.r.out == "[1] c = [1,2]\n");

    const Run missing = on_cluster({"pull", "nope", "--json", "--targets", "0"});
    SHOW(missing);
    CHECK(missing.r.status == exit_failure);
    CHECK(parse(missing.r.out)["0"]["$error"]["code"] == "remote.unknown_name");
    CHECK(starts_with(missing.r.err, "[crew.remote.unknown_name]"));
  }

  TEST_CASE("exec prints each engine's exit status, and exits 1 if a command failed") {
    const Run failed = on_cluster({"exec", "exit 3", "--targets", "0"});
    SHOW(failed);
    CHECK(failed.r.status == exit_failure);
    CHECK(contains(failed.r.out, "[0] exit 3"));
    const Run ok = on_cluster({"exec", "echo hi", "--json"});
    SHOW(ok);
    CHECK(ok.r.status == exit_ok);
    CHECK(parse(ok.r.out) == json::parse(R"({"0": {"stdout": "hi\n", "stderr": "", "status": 0},
                                           "1": {"stdout": "hi\n", "stderr": "", "status": 0}})"));
  }

  TEST_CASE("a function that throws fails the call, and the engine keeps serving") {
    const Run thrown = on_cluster({"call", "fail", R"("boom")", "--targets", "0"});
    SHOW(thrown);
    CHECK(thrown.r.status == exit_failure);
    CHECK(starts_with(thrown.r.err, "[crew.remote.exception] engine 0: std::runtime_error: boom"));
    const Run refused = on_cluster({"call", "sleep", "-1", "--targets", "0"});
    SHOW(refused);
    CHECK(refused.r.status == exit_failure);
    CHECK(starts_with(refused.r.err, "[crew.remote.bad_arguments]"));
    const Run after = on_cluster({"call", "echo", "1", "--targets", "0"});
    SHOW(after);
    CHECK(after.r.status == exit_ok);
    CHECK(after.r.out == "[0] 1\n");
  }

  TEST_CASE("--timeout caps the wait: exit 4, the tasks still pending, and the command that fetches them") {
    // A direct call: engine 0 sleeps far beyond the limit.
    const Run direct = on_cluster({"call", "sleep", "8", "--targets", "0", "--timeout", "1", "--json"});
    SHOW(direct);
    CHECK(direct.r.status == 4);
    CHECK(starts_with(direct.r.err, "[crew.timeout.wait]"));
    const json out = parse(direct.r.out);
    CHECK(out["$error"]["code"] == "timeout.wait");
    REQUIRE(out["pending"].size() == 1);
    const std::string id = out["pending"][0];
    CHECK(contains(direct.r.err, id));
    CHECK(contains(direct.r.err, "crew results " + id + " --wait"));
    // It returned while the task was still running, and the task goes on.
    CHECK(task_state(id) == "pending");

    // `results --wait` is capped the same way, and says the same.
    const Run results = on_cluster({"results", id, "--wait", "--timeout", "1"});
    SHOW(results);
    CHECK(results.r.status == 4);
    CHECK(starts_with(results.r.err, "[crew.timeout.wait]"));
    CHECK(contains(results.r.err, id));
    CHECK(task_state(id) == "pending");

    // A load-balanced call likewise; then the suggested command fetches both once they are done.
    const Run lb = on_cluster({"call", "sleep", "8", "--lb", "--targets", "1", "--timeout", "1", "--json"});
    SHOW(lb);
    CHECK(lb.r.status == 4);
    const json lb_out = parse(lb.r.out);
    REQUIRE(lb_out["pending"].size() == 1);
    const std::string lb_id = lb_out["pending"][0];
    CHECK(task_state(lb_id) == "pending");
    std::vector<std::string> fetch = words_after_crew(out["fetch"].get<std::string>());
    CHECK(fetch == std::vector<std::string>{"results", id, "--wait", "--profile", CliCluster::profile});
    fetch.push_back("--json");
    const Run fetched = crew_run(fetch);
    SHOW(fetched);
    CHECK(fetched.r.status == exit_ok);
    CHECK(parse(fetched.r.out)[id]["status"] == "ok");
    CHECK(on_cluster({"results", lb_id, "--wait"}).r.status == exit_ok);

    // --connect-timeout is the controller's answer alone: a short one does not cut a long wait.
    const Run patient = on_cluster({"call", "sleep", "1.5", "--targets", "0", "--connect-timeout", "1"});
    SHOW(patient);
    CHECK(patient.r.status == exit_ok);
  }

  TEST_CASE("Ctrl-C during a wait exits 130, naming the tasks that go on; the next command is not held up") {
    const fs::path log = fs::temp_directory_path() / ("crew-cli-sigint-" + std::to_string(::getpid()));
    const auto before = tasks_submitted();
    Background waiting({"call", "sleep", "8", "--lb", "--targets", "0", "--profile", CliCluster::profile}, log);
    // Sent once the task is in and crew catches Ctrl-C (it does while it waits for results).
    REQUIRE(poll_for([&] { return tasks_submitted() > before && catches_sigint(waiting.pid()); }, 30s));
    REQUIRE(::kill(waiting.pid(), SIGINT) == 0);
    const auto status = waiting.exit_status(10s);
    INFO(waiting.output());
    REQUIRE(status.has_value());
    CHECK(*status == 130);
    const std::string said = waiting.output();
    CHECK(contains(said, "[crew.launch.interrupted]"));
    CHECK(contains(said, "the tasks continue on the engines"));
    const auto at = said.find("crew results ");
    REQUIRE(at != std::string::npos);
    const std::string fetch = said.substr(at, said.find('\n', at) - at);
    const std::vector<std::string> words = words_after_crew(fetch);
    REQUIRE(words.size() >= 3);
    const std::string id = words[1];
    CHECK(task_state(id) == "pending");  // it goes on
    // Another engine takes the next task at once; the controller answers meanwhile.
    const Run next = on_cluster({"call", "echo", "5", "--lb", "--targets", "1"});
    SHOW(next);
    CHECK(next.r.out == "[1] 5\n");
    CHECK(task_state(id) == "pending");
    const Run fetched = crew_run(words);
    SHOW(fetched);
    CHECK(fetched.r.status == exit_ok);
    CHECK(contains(fetched.r.out, id + ": ok on engine 0"));
  }

  TEST_CASE("a result above a screenful shows its shape and how to save it; --npy and --json give all of it") {
    const fs::path dir = fs::temp_directory_path() / ("crew-cli-large-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::string xs = "[";
    for (int i = 0; i < 1000; ++i) xs += (i > 0 ? "," : "") + std::to_string(i);
    xs += "]";
    REQUIRE(on_cluster({"scatter", "big", xs}).r.status == exit_ok);  // [0..499] and [500..999]
    const Run sum = on_cluster({"reduce", "big", "--op", "sum"});
    SHOW(sum);
    CHECK(sum.r.status == exit_ok);
    CHECK(sum.r.out.size() < 200);
    CHECK(starts_with(sum.r.out, "int64[500]"));
    CHECK(contains(sum.r.out, "--npy FILE"));
    CHECK(contains(sum.r.out, "--json"));
    const Run all = on_cluster({"reduce", "big", "--op", "sum", "--json"});
    const json values = parse(all.r.out);
    REQUIRE(values.size() == 500);
    CHECK(values[0] == 500);
    CHECK(values[499] == 1498);
    const fs::path npy = dir / "sum.npy";
    const Run saved = on_cluster({"reduce", "big", "--op", "sum", "--npy", npy.string()});
    SHOW(saved);
    CHECK(saved.r.status == exit_ok);
    CHECK(saved.r.out == "reduced big (int64[500]) into " + npy.string() + "\n");
    std::ifstream in(npy, std::ios::binary);
    std::string head(128, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    CHECK(contains(head, "'shape': (500,)"));

    const Run gathered = on_cluster({"gather", "big"});
    SHOW(gathered);
    CHECK(starts_with(gathered.r.out, "list[1000]"));  // a list stays a list
    REQUIRE(on_cluster({"push", "whole=" + xs}).r.status == exit_ok);
    const Run pulled = on_cluster({"pull", "whole", "--targets", "0"});
    SHOW(pulled);
    CHECK(pulled.r.out.size() < 200);
    CHECK(starts_with(pulled.r.out, "[0] whole = list[1000]"));
    const Run mapped = on_cluster({"map", "echo", xs});
    SHOW(mapped);
    CHECK(mapped.r.out.size() < 200);
    CHECK(contains(mapped.r.out, "--out FILE"));
    CHECK(parse(on_cluster({"map", "echo", xs, "--json"}).r.out).size() == 1000);
    // 200 numbers are less than a screenful: shown as they are.
    std::string ys = "[";
    for (int i = 0; i < 400; ++i) ys += (i > 0 ? "," : "") + std::to_string(i);
    REQUIRE(on_cluster({"scatter", "small", ys + "]"}).r.status == exit_ok);
    const Run small = on_cluster({"reduce", "small", "--op", "max"});
    SHOW(small);
    REQUIRE(parse(small.r.out).size() == 200);
    CHECK(parse(small.r.out)[0] == 200);
    fs::remove_all(dir);
  }

  TEST_CASE("a relative save-h5 / load-h5 path is the engines' working directory's, and the message says it") {
    const Run summary = on_cluster({"call", "summary", "--targets", "0", "--json"});
    SHOW(summary);
    const fs::path cwd = parse(summary.r.out)["0"]["cwd"].get<std::string>();
    const std::string name = "crew-cli-rel-" + std::to_string(::getpid()) + ".h5";
    const fs::path absolute = cwd / name;
    REQUIRE(on_cluster({"scatter", "rel", "[1,2,3,4]"}).r.status == exit_ok);
    const Run saved = on_cluster({"save-h5", name, "rel"});
    SHOW(saved);
    CHECK(saved.r.status == exit_ok);
    CHECK(starts_with(saved.r.out, "wrote rel to " + absolute.string() + ":/rel"));
    CHECK(fs::exists(absolute));
    const Run loaded = on_cluster({"load-h5", name, "/rel", "back", "--json"});
    SHOW(loaded);
    CHECK(parse(loaded.r.out)["file"] == absolute.string());
    const json back = parse(on_cluster({"pull", "back", "--json"}).r.out);
    const json rel = parse(on_cluster({"pull", "rel", "--json"}).r.out);
    for (const char* engine : {"0", "1"}) CHECK(back[engine]["back"] == rel[engine]["rel"]);
    const Run help = crew_run({"save-h5", "--help"});
    CHECK(contains(help.r.out, "relative to the engines' working directory"));
    fs::remove(absolute);
  }

  TEST_CASE("--json failures are one error object on stdout, spelled alike by every verb") {
    const std::string nowhere = "/nonexistent-crew-dir/x.h5";
    check_json_failure(on_cluster({"save-h5", nowhere, "nosuchvar", "--json"}), "remote.unknown_name");
    REQUIRE(on_cluster({"scatter", "jx", "[1,2,3,4]"}).r.status == exit_ok);
    check_json_failure(on_cluster({"save-h5", nowhere, "jx", "--json"}), "remote.io_failed");
    check_json_failure(on_cluster({"load-h5", nowhere, "/x", "y", "--json"}), "remote.io_failed");
    check_json_failure(on_cluster({"reduce", "nosuchvar", "--json"}), "remote.unknown_name");
    check_json_failure(on_cluster({"gather", "nosuchvar", "--json"}), "remote.unknown_name");
    check_json_failure(on_cluster({"scatter", "x", "[1,2]", "--targets", "7", "--json"}), "input.unknown_target");
    check_json_failure(on_cluster({"push", "a b=1", "--json"}), "input.bad_name");
    check_json_failure(on_cluster({"call", "echo", "{bad", "--json"}), "input.bad_json");
    check_json_failure(on_cluster({"map", "mul", "[1,2]", "--lb", "--json"}), "remote.bad_arguments");
    check_json_failure(on_cluster({"results", "no-such-task", "--json"}), "input.unknown_task");
    check_json_failure(on_cluster({"call", "--json"}), "input.usage");
    check_json_failure(crew_run({"ids", "--profile", "nothere", "--json"}), "connection.no_profile");
    // A balanced call's failure keeps its msg id and engine beside the same error object.
    const Run lb = on_cluster({"call", "nosuchfn", "--lb", "--json"});
    SHOW(lb);
    const json out = parse(lb.r.out);
    CHECK(out["$error"]["code"] == "remote.unknown_function");
    CHECK(out["$error"]["type"] == "crew.remote.unknown_function");
    CHECK(out["msg_id"].is_string());
  }

  TEST_CASE("call and map show progress on a terminal's stderr, never when piped or with --json") {
    const std::vector<std::string> slow{"map", "sleep", "[0.4,0.4,0.4,0.4,0.4,0.4]", "--lb", "--chunksize", "1"};
    const Run piped = on_cluster(slow);
    SHOW(piped);
    CHECK(piped.r.status == exit_ok);
    CHECK(piped.r.err.empty());
    // On a terminal (script(1) gives it one): "crew: 3/6 items done, 2.4/s, 1.2 s elapsed".
    std::string command = (bin_dir() / "crew").string();
    for (const auto& w : slow) command += " '" + w + "'";
    command += " --profile " + std::string(CliCluster::profile);
    proc::RunOptions options;
    options.timeout = 60s;
    const auto tty = proc::run({"script", "-qec", command, "/dev/null"}, options);
    INFO(tty.out << tty.err);
    CHECK(tty.status == exit_ok);
    CHECK(contains(tty.out, "/6 items done"));
    CHECK(contains(tty.out, "elapsed"));
    const auto tty_json = proc::run({"script", "-qec", command + " --json", "/dev/null"}, options);
    INFO(tty_json.out);
    CHECK(tty_json.status == exit_ok);
    CHECK_FALSE(contains(tty_json.out, "items done"));
  }

  TEST_CASE("cluster status exits 0 while running; --json reports the controller and the engines") {
    const Run r = on_cluster({"cluster", "status"});
    SHOW(r);
    CHECK(r.r.status == exit_ok);
    CHECK(contains(r.r.out, "engines:    2 alive"));
    const Run j = on_cluster({"cluster", "status", "--json"});
    SHOW(j);
    CHECK(j.r.status == exit_ok);
    const json s = parse(j.r.out);
    CHECK(s["running"] == true);
    CHECK(s["engines"].size() == 2);
    CHECK(s["controller"]["pid"].get<std::int64_t>() > 0);
    const Run list = crew_run({"cluster", "list", "--json"});
    SHOW(list);
    CHECK(list.r.status == exit_ok);
    const json all = parse(list.r.out);
    REQUIRE(all.is_array());
    CHECK(std::any_of(all.begin(), all.end(),
                      [](const json& p) { return p["profile"] == "clu" && p["running"] == true; }));
  }

  TEST_CASE("a second cluster start on a running profile exits 1 with already_running and changes nothing") {
    const auto state_before = json::parse(std::ifstream(profile_dir(CliCluster::profile) / "cluster.json"));
    const Run r = on_cluster({"cluster", "start", "-n", "2"});
    SHOW(r);
    CHECK(r.r.status == exit_failure);
    CHECK(starts_with(error_of(r.r.err), "[crew.launch.already_running]"));
    CHECK(json::parse(std::ifstream(profile_dir(CliCluster::profile) / "cluster.json")) == state_before);
    CHECK(on_cluster({"ids"}).r.out == "0 1\n");
  }

  TEST_CASE("cluster stop ends every process recorded in cluster.json") {
    const json state = json::parse(std::ifstream(profile_dir(CliCluster::profile) / "cluster.json"));
    std::set<pid_t> pids{state["controller_pid"].get<pid_t>()};
    for (const auto& w : state["worlds"]) {
      pids.insert(w["pid"].get<pid_t>());
      for (const auto& p : w["engine_pids"]) pids.insert(p.get<pid_t>());
    }
    CHECK(pids.size() == 4);  // controller, mpirun, two engines
    for (pid_t p : pids) CHECK(proc::alive(p));

    const Run stop = on_cluster({"cluster", "stop"});
    SHOW(stop);
    CHECK(stop.r.status == exit_ok);
    CHECK(contains(stop.r.out, "none left"));
    for (pid_t p : pids) CHECK_MESSAGE(!proc::alive(p), "pid " << p << " survived cluster stop");
    check_nothing_running(CliCluster::profile);
    const Run again = on_cluster({"cluster", "stop"});
    SHOW(again);
    CHECK(again.r.status == exit_failure);
    CHECK(starts_with(again.r.err, "[crew.launch.not_running]"));
  }

}  // TEST_SUITE cli.cluster

// ============================================================================================
TEST_SUITE("cli.launch_failure") {

  TEST_CASE("more engines than cores with --no-oversubscribe fails in mpirun's own words, leaving nothing running") {
    const int cores = crew::cluster::usable_cores();
    const Run r = crew_run({"cluster", "start", "-n", std::to_string(cores + 1), "--no-oversubscribe", "--profile",
                            "tight", "--wait", "30"});
    SHOW(r);
    CHECK(r.r.status == exit_failure);
    CHECK(starts_with(error_of(r.r.err), "[crew.launch.failed]"));
    CHECK(contains(lower(r.r.err), "not enough slots"));
    CHECK(r.seconds < 30.0);  // mpirun's refusal is noticed, not waited out
    check_nothing_running("tight");
  }

}  // TEST_SUITE cli.launch_failure

// ============================================================================================
// Launchers and job scripts as users get them wrong: nothing is started or submitted, and the
// error names what was wrong and what to do. (Real schedulers: tests/launchers/.)
TEST_SUITE("cli.launchers") {

  TEST_CASE("crew launchers lists the built-in ones with their kind and origin; --json too") {
    const Run r = crew_run({"launchers", "--json"});
    SHOW(r);
    REQUIRE(r.r.status == exit_ok);
    std::set<std::string> names;
    for (const auto& l : json::parse(r.r.out)) {
      names.insert(l.at("name").get<std::string>());
      CHECK(l.at("origin") == "built in");
      CHECK(l.contains("kind"));
    }
    CHECK(names == std::set<std::string>{"local", "lsf", "pbs", "sge", "slurm", "ssh"});
  }

  TEST_CASE("an unknown launcher is refused, listing the known ones") {
    const Run r = crew_run({"cluster", "start", "-n", "1", "--launcher", "slurn", "--profile", "unk"});
    SHOW(r);
    CHECK(r.r.status == exit_usage);
    CHECK(starts_with(error_of(r.r.err), "[crew.launch.unknown_launcher] no launcher 'slurn'; the launchers are: "));
    CHECK(contains(r.r.err, "slurm"));
    check_nothing_running("unk");
  }

  TEST_CASE("a scheduler whose commands are missing is refused naming the programs and the package") {
    const fs::path bin = crew_home() / "bin-only-mpirun";
    fs::create_directories(bin);
    if (auto mpirun = proc::find_program("mpirun")) fs::create_symlink(*mpirun, bin / "mpirun");
    for (const auto& [launcher, program] : std::vector<std::pair<std::string, std::string>>{
             {"slurm", "sbatch"}, {"pbs", "qsub"}, {"sge", "qsub"}, {"lsf", "bsub"}}) {
      CAPTURE(launcher);
      const Run r = crew_run({"cluster", "start", "-n", "1", "--launcher", launcher, "--profile", "nosched"},
                             {{"PATH", bin.string()}});
      SHOW(r);
      CHECK(r.r.status == exit_failure);
      CHECK(starts_with(error_of(r.r.err), "[crew.launch.not_found] the " + launcher + " launcher needs " + program));
      CHECK(contains(r.r.err, "install "));
      check_nothing_running("nosched");
    }
  }

  TEST_CASE("a malformed launcher file of the user's is refused with its path, line and key") {
    const fs::path dir = crew_home() / "launchers";
    fs::create_directories(dir);
    std::ofstream(dir / "mysched.toml") << "kind = \"batch\"\ntemplate = \"slurm.sh.in\"\nprograms = [\"sh\"]\n"
                                           "package = \"x\"\n[submit]\ncommand = [\"sh\", \"{script}\"]\n";
    const Run r = crew_run({"cluster", "start", "-n", "1", "--launcher", "mysched", "--profile", "bad"});
    SHOW(r);
    CHECK(r.r.status == exit_usage);
    CHECK(starts_with(error_of(r.r.err), "[crew.launch.bad_launcher] " + (dir / "mysched.toml").string() + ":5:"));
    CHECK(contains(r.r.err, "[submit] has no key 'job_id'"));
    // `crew launchers` shows it as broken, with the same reason, and the others still work.
    const Run list = crew_run({"launchers"});
    SHOW(list);
    CHECK(list.r.status == exit_ok);
    CHECK(contains(list.r.out, "broken:"));
    check_nothing_running("bad");
  }

  TEST_CASE("a user's launcher file overrides the built-in one of the same name") {
    const fs::path dir = crew_home() / "launchers";
    fs::create_directories(dir);
    std::ofstream(dir / "local.toml") << "description = \"my local\"\nkind = \"process\"\ntemplate = \"local.sh.in\"\n"
                                         "programs = [\"mpirun\"]\npackage = \"openmpi-bin\"\n";
    const Run r = crew_run({"launchers", "--json"});
    SHOW(r);
    int locals = 0;
    for (const auto& l : json::parse(r.r.out)) {
      if (l.at("name") != "local") continue;
      ++locals;
      CHECK(l.at("overridden") == (l.at("origin") == "built in"));
    }
    CHECK(locals == 2);
    fs::remove(dir / "local.toml");
  }

  TEST_CASE("batch options that do not parse are bad input, and start nothing") {
    for (const std::vector<std::string>& args : {std::vector<std::string>{"--walltime", "1:30"},
                                                 {"--walltime", "soon"},
                                                 {"--hosts", "a:0"},
                                                 {"--hosts", "a:2,b:1", "--worlds", "3"},
                                                 {"--set", "nosuchvar=1"},
                                                 {"--connection", "sometimes"}}) {
      std::vector<std::string> cmd{"cluster", "start", "-n", "1", "--profile", "badopt"};
      if (args.front() == "--hosts") cmd.insert(cmd.end(), {"--launcher", "ssh"});
      cmd.insert(cmd.end(), args.begin(), args.end());
      CAPTURE(args.front() + " " + args.at(1));
      const Run r = crew_run(cmd);
      SHOW(r);
      CHECK(r.r.status == exit_usage);
      check_nothing_running("badopt");
    }
  }

  TEST_CASE("--hosts with a launcher that places engines itself is refused") {
    const Run r = crew_run({"cluster", "start", "-n", "1", "--hosts", "a:1", "--profile", "hosts"});
    SHOW(r);
    CHECK(r.r.status == exit_usage);
    CHECK(contains(error_of(r.r.err), "--hosts is for the ssh launcher"));
    check_nothing_running("hosts");
  }

  TEST_CASE("a batch launcher with a loopback-only controller is refused naming --ip") {
    // The launcher's programs must be found first: a stand-in sbatch/squeue/scancel that would fail loudly.
    const fs::path bin = crew_home() / "fake-slurm";
    fs::create_directories(bin);
    for (const char* p : {"sbatch", "squeue", "scancel"}) {
      std::ofstream(bin / p) << "#!/bin/sh\necho 'must not be called' >&2\nexit 99\n";
      fs::permissions(bin / p, fs::perms::owner_all);
    }
    const std::string path = bin.string() + ":" + std::getenv("PATH");
    const Run r =
        crew_run({"cluster", "start", "-n", "1", "--launcher", "slurm", "--ip", "127.0.0.1", "--profile", "loop"},
                 {{"PATH", path}});
    SHOW(r);
    CHECK(r.r.status == exit_usage);
    CHECK(starts_with(error_of(r.r.err), "[crew.input.bad_option]"));
    CHECK(contains(r.r.err, "--ip auto"));
    CHECK_FALSE(contains(r.r.err, "must not be called"));
    check_nothing_running("loop");
  }

  TEST_CASE("jobscript renders a script with the scheduler's directives; its variables are listed") {
    const Run vars = crew_run({"jobscript", "--variables", "--json"});
    SHOW(vars);
    REQUIRE(vars.r.status == exit_ok);
    CHECK(json::parse(vars.r.out).contains("walltime"));
    // Without a controller there is no connection to put in the script.
    const Run none = crew_run({"jobscript", "--launcher", "slurm", "-n", "2", "--profile", "nojob"});
    SHOW(none);
    CHECK(none.r.status == exit_failure);
    CHECK(starts_with(error_of(none.r.err), "[crew.launch.not_running]"));
  }

}  // TEST_SUITE cli.launchers
