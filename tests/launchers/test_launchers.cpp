// Launchers on real schedulers: `crew cluster start --launcher L` submits real jobs to a real
// Slurm (and through Slurm's Torque wrappers as PBS, and an LSF shim), a real Grid Engine, or
// runs mpirun over ssh to a second host in a network namespace (tests/schedulers/ sets them up;
// ctest fixtures start and stop the daemons). CREW_TEST_LAUNCHER names the launcher.
//
//   launchers.<L>.basic     2 worlds: direct, balanced and scatter/gather work; status shows the
//                           jobs; stop leaves the queue empty and no process behind
//   launchers.<L>.failures  a rejected job, a job that fails before registering: clear errors
//                           in the scheduler's own words, nothing left queued or running
//   launchers.slurm.outside a job cancelled from outside mid-run: no task lost; stop of pending
//                           jobs and Ctrl-C while waiting leave the queue empty; a hand-submitted
//                           job script joins the running controller
//   launchers.sge.walltime  a job that reaches its walltime: its world is dead, stop says so
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "common/process.hpp"
#include "common/profile.hpp"
#include "test_support.hpp"

using namespace crew;
using namespace crew::testing;
using json = nlohmann::json;

namespace {

std::string launcher() {
  const char* l = std::getenv("CREW_TEST_LAUNCHER");
  return l ? l : "local";
}
bool is_batch() { return launcher() != "local" && launcher() != "ssh"; }

struct Run {
  RunResult r;
};

#define SHOW(run) INFO("crew exited " << (run).status << "\n--- stdout\n" << (run).out << "--- stderr\n" << (run).err)

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/// The first "[crew.…]" line of stderr.
std::string error_of(const std::string& err) {
  const auto at = err.find("[crew.");
  return at == std::string::npos ? std::string() : err.substr(at, err.find('\n', at) - at);
}

/// Options every start of this launcher needs on the testbed.
std::vector<std::string> launcher_args() {
  std::vector<std::string> args{"--launcher", launcher()};
  if (launcher() == "ssh") {
    // Two hosts (network namespaces) with one slot each; mpirun reaches them over the testbed's ssh.
    args.insert(args.end(), {"--hosts", "hosta:1,hostb:1", "--mpirun-args",
                             std::string("--mca plm_rsh_agent ") + std::getenv("CREW_TB_SSH_BIN") +
                                 "/ssh --mca btl self,tcp --mca btl_tcp_if_include 10.200.0.0/24 --mca "
                                 "oob_tcp_if_include 10.200.0.0/24"});
  }
  if (is_batch()) args.insert(args.end(), {"--walltime", "0:10:00"});
  return args;
}

RunResult run_crew(std::vector<std::string> args, std::chrono::milliseconds timeout = 120s) {
  return crew_cli(args, {}, timeout);
}

/// Job ids of the scheduler's queue that are still pending or running (Slurm, PBS and the LSF
/// shim all run on the testbed's Slurm; SGE has its own).
std::set<std::string> queued_jobs() {
  std::set<std::string> ids;
  const bool sge = launcher() == "sge";
  const auto r = sge ? proc::run({"qstat"}) : proc::run({"squeue", "--noheader", "--format=%i"});
  std::size_t at = 0;
  while (at < r.out.size()) {
    auto end = r.out.find('\n', at);
    if (end == std::string::npos) end = r.out.size();
    const std::string line = r.out.substr(at, end - at);
    const auto b = line.find_first_not_of(' ');
    if (b != std::string::npos && std::isdigit(static_cast<unsigned char>(line[b])))
      ids.insert(line.substr(b, line.find(' ', b) - b));
    at = end + 1;
  }
  return ids;
}

/// Processes other than this test that carry its CREW_HOME: the jobs' scripts, mpirun, engines.
std::vector<pid_t> processes_of_this_test() {
  const std::string marker = "CREW_HOME=" + crew_home().string();
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (pid == ::getpid() || !proc::alive(pid)) continue;
    std::ifstream in(entry.path() / "environ", std::ios::binary);
    const std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t at = 0;
    while (at < env.size()) {
      const auto end = std::min(env.find('\0', at), env.size());
      if (env.compare(at, end - at, marker) == 0) {
        out.push_back(pid);
        break;
      }
      at = end + 1;
    }
  }
  return out;
}

/// Checks that none of `jobs` is in the scheduler's queue, and that their processes end: a
/// scheduler may say a job ended while it still reaps the job's processes (Slurm's KillWait).
void check_gone(const std::vector<std::string>& jobs, bool other_clusters_run = false) {
  if (is_batch()) {
    const auto queued = queued_jobs();
    for (const auto& j : jobs) CHECK_MESSAGE(!queued.count(j), "job " << j << " is still queued or running");
  }
  if (other_clusters_run) return;
  std::vector<pid_t> left;
  CHECK_MESSAGE(poll_for([&] { return (left = processes_of_this_test()).empty(); }, 60s, 100ms),
                left.size() << " process(es) of the cluster's jobs still run a minute after stop");
}

json start_json(const std::vector<std::string>& extra, int engines, int worlds) {
  std::vector<std::string> args{"cluster", "start", "-n", std::to_string(engines), "--worlds", std::to_string(worlds),
                                "--json"};
  for (const auto& a : launcher_args()) args.push_back(a);
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_crew(args);
  SHOW(r);
  REQUIRE(r.status == 0);
  return json::parse(r.out);
}

std::vector<std::string> jobs_of(const json& started) { return started.at("jobs").get<std::vector<std::string>>(); }

void stop_and_check(const std::vector<std::string>& jobs) {
  const auto r = run_crew({"cluster", "stop", "--json"});
  SHOW(r);
  REQUIRE(r.status == 0);
  check_gone(jobs);
  CHECK(run_crew({"cluster", "status"}).status == 3);
}

}  // namespace

TEST_SUITE("launchers.basic") {
  TEST_CASE("two worlds start through the launcher, run direct, balanced and data work, and stop clean") {
    const int worlds = 2;
    const json started = start_json({}, 2, worlds);
    const auto jobs = jobs_of(started);
    REQUIRE(jobs.size() == 2);
    CHECK(started.at("launcher") == launcher());

    // Each engine knows its world's job, as `crew engines` shows it.
    auto r = run_crew({"engines", "--json"});
    SHOW(r);
    REQUIRE(r.status == 0);
    const json engines = json::parse(r.out);
    REQUIRE(engines.size() == 2);
    std::set<std::string> engine_jobs;
    for (const auto& e : engines) {
      CHECK(e.at("state") == "alive");
      CHECK(e.at("launcher") == launcher());
      engine_jobs.insert(e.at("job_id").get<std::string>());
      if (is_batch()) CHECK(e.at("job_end").get<long>() > 0);  // --walltime 0:10:00
    }
    CHECK(engine_jobs == std::set<std::string>(jobs.begin(), jobs.end()));
    if (launcher() == "ssh") {
      r = run_crew({"call", "hostname", "--json"});
      SHOW(r);
      const json hosts = json::parse(r.out);
      CHECK(std::set<std::string>{hosts.at("0"), hosts.at("1")} == std::set<std::string>{"hosta", "hostb"});
    }

    // Direct and balanced calls, and the data path across both worlds.
    r = run_crew({"call", "echo", "7", "--json"});
    SHOW(r);
    CHECK(json::parse(r.out) == json{{"0", 7}, {"1", 7}});
    r = run_crew({"map", "echo", "[1,2,3,4,5,6]", "--lb", "--json"});
    SHOW(r);
    CHECK(json::parse(r.out) == json::parse("[1,2,3,4,5,6]"));
    r = run_crew({"scatter", "x", "[1,2,3,4,5]"});
    SHOW(r);
    CHECK(r.status == 0);
    r = run_crew({"gather", "x", "--json"});
    SHOW(r);
    CHECK(json::parse(r.out) == json::parse("[1,2,3,4,5]"));

    // Status: each world with its job and the scheduler's state.
    r = run_crew({"cluster", "status", "--json"});
    SHOW(r);
    REQUIRE(r.status == 0);
    const json status = json::parse(r.out);
    REQUIRE(status.at("worlds").size() == 2);
    for (const auto& w : status.at("worlds")) {
      CHECK(w.at("state") == "running");
      CHECK(w.at("engines_alive") == 1);
      if (is_batch()) CHECK(w.at("seconds_left").get<long>() > 500);
    }
    stop_and_check(jobs);
  }
}

TEST_SUITE("launchers.failures") {
  // Only a batch scheduler queues, refuses or runs a job on its own: skipped (and listed as
  // skipped) for the local and ssh launchers.
  TEST_CASE("a job the scheduler refuses fails the start in the scheduler's words, leaving nothing" *
            doctest::skip(!is_batch())) {
    std::vector<std::string> args{"cluster", "start", "-n", "1", "--queue", "nosuch"};
    for (const auto& a : launcher_args()) args.push_back(a);
    const auto before = queued_jobs();
    const auto r = run_crew(args);
    SHOW(r);
    CHECK(r.status == 1);
    CHECK(contains(error_of(r.err), "[crew.launch.job_rejected] " + launcher() + " refused the job"));
    // The scheduler's own message, as is.
    const std::map<std::string, std::string> words{
        {"slurm", "invalid partition"}, {"pbs", "nvalid partition"}, {"lsf", "No such queue"}, {"sge", "nosuch"}};
    CHECK(contains(r.err, words.at(launcher())));
    CHECK(queued_jobs() == before);
    CHECK(run_crew({"cluster", "status"}).status == 3);
  }

  TEST_CASE("a job that fails before its engines register fails the start at once, with its output" *
            doctest::skip(!is_batch())) {
    std::vector<std::string> args{"cluster", "start", "-n", "1", "--prologue", "echo cannot load module; exit 3",
                                  "--wait",  "60"};
    for (const auto& a : launcher_args()) args.push_back(a);
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = run_crew(args);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    SHOW(r);
    CHECK(r.status == 1);
    CHECK(contains(error_of(r.err), "[crew.launch.job_ended] " + launcher() + " job "));
    CHECK(contains(error_of(r.err), "ended before its engines registered"));
    CHECK(contains(r.err, "cannot load module"));  // the tail of the job's output
    CHECK(seconds < 45);                           // not the --wait of 60 s: the job's end is noticed
    CHECK(run_crew({"cluster", "status"}).status == 3);
  }

  TEST_CASE("a template with an unknown variable is refused before anything is submitted") {
    const fs::path mine = crew_home() / "jobscripts" / "broken.sh.in";
    fs::create_directories(mine.parent_path());
    std::ofstream(mine) << "#!/bin/bash\n#X {{qeueu}}\n{{mpirun}} -n {{ranks}} {{engine_command}}\n";
    std::vector<std::string> args{"cluster", "start", "-n", "1", "--template", "broken.sh.in"};
    for (const auto& a : launcher_args()) args.push_back(a);
    const auto before = queued_jobs();
    const auto r = run_crew(args);
    SHOW(r);
    CHECK(r.status == 2);
    CHECK(contains(error_of(r.err), "[crew.launch.bad_template] " + mine.string() + ":2: unknown variable 'qeueu'"));
    CHECK(queued_jobs() == before);
    CHECK(run_crew({"cluster", "status"}).status == 3);
  }
}

namespace {

/// Waits until `jobs` all show `state` in squeue (e.g. PENDING).
bool slurm_jobs_in(const std::vector<std::string>& jobs, const std::string& state, std::chrono::milliseconds timeout) {
  return poll_for(
      [&] {
        for (const auto& j : jobs) {
          const auto r = proc::run({"squeue", "--noheader", "--jobs=" + j, "--format=%T"});
          if (r.out.find(state) == std::string::npos) return false;
        }
        return true;
      },
      timeout, 100ms);
}

/// Starts `crew args...` in the background; its output goes to files in CREW_HOME.
pid_t crew_in_background(const std::vector<std::string>& args, const std::string& name) {
  proc::SpawnOptions spawn;
  spawn.argv = {(bin_dir() / "crew").string()};
  spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
  spawn.log = crew_home() / (name + ".log");
  spawn.new_session = false;
  return proc::spawn(spawn);
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    // A child's exit has no descriptor to wait on here; it is quick once it comes.
    std::this_thread::sleep_for(50ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

proc::RunOptions within(std::chrono::milliseconds timeout) {
  proc::RunOptions o;
  o.timeout = timeout;
  return o;
}

std::string file_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> new_jobs(const std::set<std::string>& before) {
  std::vector<std::string> out;
  for (const auto& j : queued_jobs())
    if (!before.count(j)) out.push_back(j);
  return out;
}

}  // namespace

TEST_SUITE("launchers.outside") {
  TEST_CASE("a job cancelled from outside mid-run loses no task: retried on the other world or failed with why") {
    const json started = start_json({"--heartbeat-ms", "300"}, 2, 2);
    const auto jobs = jobs_of(started);
    // A long task with a retry goes to some engine; a task without retries waits behind it there.
    auto r = run_crew({"call", "sleep", "4", "--lb", "--retries", "1", "--no-wait"});
    SHOW(r);
    REQUIRE(r.status == 0);
    const std::string retried = r.out.substr(0, r.out.find('\n'));
    int busy = -1;
    REQUIRE(poll_for(
        [&] {
          for (const auto& e : json::parse(run_crew({"engines", "--json"}).out))
            if (e.at("tasks").get<int>() > 0) busy = e.at("id");
          return busy >= 0;
        },
        30s, 50ms));
    r = run_crew({"call", "sleep", "4", "--lb", "--no-wait", "--targets", std::to_string(busy)});
    SHOW(r);
    const std::string lost = r.out.substr(0, r.out.find('\n'));
    const json engines = json::parse(run_crew({"engines", "--json"}).out);
    const std::string job = engines.at(busy).at("job_id");
    REQUIRE(proc::run({"scancel", job}).status == 0);
    REQUIRE(poll_for(
        [&] {
          return json::parse(run_crew({"engines", "--json"}).out).at(busy).at("state") == "dead";
        },
        30s, 100ms));
    r = run_crew({"results", retried, lost, "--wait", "--json"}, 60s);
    SHOW(r);
    const json results = json::parse(r.out);
    CHECK(results.at(retried).at("status") == "ok");  // ran again, on the other world's engine
    CHECK(results.at(retried).at("engine") == 1 - busy);
    CHECK(results.at(lost).at("$error").at("code") == "remote.engine_died");
    CHECK(contains(results.at(lost).dump(), "ended before it answered"));
    // The world's job is gone; status says so; stop cleans up what is left and says it had ended.
    r = run_crew({"cluster", "status", "--json"});
    const json status = json::parse(r.out);
    const auto& worlds = status.at("worlds");
    CHECK(std::any_of(worlds.begin(), worlds.end(),
                      [&](const json& w) { return w.at("job_id") == job && w.at("state") == "cancelled"; }));
    r = run_crew({"cluster", "stop"});
    SHOW(r);
    CHECK(r.status == 0);
    CHECK(contains(r.out, "slurm job " + job + ": had already ended (cancelled"));
    check_gone(jobs);
  }

  TEST_CASE("stop cancels a pending job and confirms the queue is empty") {
    const json started = start_json({}, 2, 2);  // the testbed's 2 CPUs are taken
    const auto before = queued_jobs();
    std::vector<std::string> args{"cluster", "add", "-n", "1"};
    for (const auto& a : launcher_args()) args.push_back(a);
    const pid_t adding = crew_in_background(args, "add");
    std::vector<std::string> pending;
    REQUIRE(poll_for([&] { return !(pending = new_jobs(before)).empty(); }, 30s, 100ms));
    REQUIRE(slurm_jobs_in(pending, "PENDING", 30s));
    // `add` shows the job's state while it waits.
    CHECK(poll_for([&] { return contains(file_text(crew_home() / "add.log"), "PENDING (Resources)"); }, 30s, 100ms));
    const auto r = run_crew({"cluster", "stop"});
    SHOW(r);
    CHECK(r.status == 0);
    CHECK(contains(r.out, "slurm job " + pending.front() + ": cancelled"));
    auto all = jobs_of(started);
    all.push_back(pending.front());
    check_gone(all);
    CHECK(wait_exit(adding, 60s) == 1);  // the cluster (and its job) ended under it
    INFO(file_text(crew_home() / "add.log"));
    CHECK(contains(file_text(crew_home() / "add.log"), "[crew.launch."));
    CHECK(run_crew({"cluster", "status"}).status == 3);
  }

  TEST_CASE("Ctrl-C while start waits on a pending job cancels it and stops the controller") {
    const json started = start_json({}, 2, 2);
    const auto before = queued_jobs();
    std::vector<std::string> args{"cluster", "start", "-n", "1", "--profile", "second"};
    for (const auto& a : launcher_args()) args.push_back(a);
    const pid_t starting = crew_in_background(args, "second");
    std::vector<std::string> pending;
    REQUIRE(poll_for([&] { return !(pending = new_jobs(before)).empty(); }, 30s, 100ms));
    REQUIRE(slurm_jobs_in(pending, "PENDING", 30s));
    ::kill(starting, SIGINT);
    CHECK(wait_exit(starting, 60s) == 1);
    CHECK(contains(file_text(crew_home() / "second.log"), "[crew.launch.interrupted] interrupted by INT"));
    check_gone(pending, true);  // the first cluster still runs
    CHECK(run_crew({"cluster", "status", "--profile", "second"}).status == 3);
    stop_and_check(jobs_of(started));
  }

  TEST_CASE("a job script rendered by crew jobscript and submitted by hand joins the running cluster") {
    const json started = start_json({}, 1, 1);
    const fs::path script = crew_home() / "byhand.sh";
    auto r = run_crew({"jobscript", "--launcher", "slurm", "-n", "1", "-o", script.string(), "--job-output",
                       (crew_home() / "byhand.log").string()});
    SHOW(r);
    REQUIRE(r.status == 0);
    CHECK((fs::status(script).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
    const auto sub = proc::run({"sbatch", "--parsable", script.string()});
    INFO(sub.err);
    REQUIRE(sub.status == 0);
    const std::string job = sub.out.substr(0, sub.out.find_first_of(";\n"));
    REQUIRE(poll_for([&] { return json::parse(run_crew({"engines", "--json"}).out).size() == 2; }, 60s, 200ms));
    const json engines = json::parse(run_crew({"engines", "--json"}).out);
    CHECK(engines.at(1).at("job_id") == job);
    r = run_crew({"call", "echo", "1", "--targets", "1"});
    CHECK(r.status == 0);
    // The controller's shutdown ends the hand-submitted world too: its job completes.
    auto all = jobs_of(started);
    all.push_back(job);
    REQUIRE(run_crew({"cluster", "stop"}).status == 0);
    CHECK(poll_for([&] { return !queued_jobs().count(job); }, 30s, 100ms));
    check_gone(all);
  }
}

TEST_SUITE("launchers.walltime") {
  TEST_CASE("a job that reaches its walltime ends its world; status and stop say so") {
    std::vector<std::string> args{"cluster", "start",      "-n",       "1",          "--json", "--heartbeat-ms",
                                  "300",     "--launcher", launcher(), "--walltime", "0:00:15"};
    auto r = run_crew(args);
    SHOW(r);
    REQUIRE(r.status == 0);
    const auto jobs = jobs_of(json::parse(r.out));
    const json engine = json::parse(run_crew({"engines", "--json"}).out).at(0);
    CHECK(engine.at("job_end").get<long>() > 0);
    // The scheduler ends the job at its walltime; the world is declared dead.
    REQUIRE(poll_for(
        [&] {
          return json::parse(run_crew({"engines", "--json"}).out).at(0).at("state") == "dead";
        },
        90s, 250ms));
    r = run_crew({"cluster", "status", "--json"});
    const json status = json::parse(r.out);
    CHECK(status.at("worlds").at(0).at("state") != "running");
    r = run_crew({"cluster", "stop"});
    SHOW(r);
    CHECK(r.status == 0);
    CHECK(contains(r.out, "had already ended"));
    check_gone(jobs);
  }
}

TEST_SUITE("launchers.span") {
  TEST_CASE("one world across two hosts: its ranks talk MPI over the network, rank 0 bridges") {
    std::vector<std::string> args{"cluster", "start", "-n", "2", "--worlds", "1", "--json"};
    for (const auto& a : launcher_args()) args.push_back(a);
    auto r = run_crew(args);
    SHOW(r);
    REQUIRE(r.status == 0);
    const json engines = json::parse(run_crew({"engines", "--json"}).out);
    REQUIRE(engines.size() == 2);
    CHECK(engines.at(0).at("world") == engines.at(1).at("world"));
    std::set<std::string> hosts{engines.at(0).at("host"), engines.at(1).at("host")};
    CHECK(hosts == std::set<std::string>{"hosta", "hostb"});
    // scatter / gather and a reduce are MPI collectives between the two hosts.
    r = run_crew({"scatter", "x", "[1,2,3,4,5,6,7]"});
    SHOW(r);
    CHECK(r.status == 0);
    r = run_crew({"gather", "x", "--json"});
    CHECK(json::parse(r.out) == json::parse("[1,2,3,4,5,6,7]"));
    r = run_crew({"push", "y=2"});
    r = run_crew({"reduce", "y", "--json"});
    SHOW(r);
    CHECK(json::parse(r.out) == 4);
    stop_and_check({});
  }
}

TEST_SUITE("launchers.drain") {
  TEST_CASE("a world near its job's end gets no new balanced tasks, and its queued ones move to another world") {
    // World 0 drains 10 s after its job starts (60 s of walltime, a 50 s margin); --hwm 8 lets
    // tasks queue on its engine.
    auto r = run_crew({"cluster", "start", "-n", "1", "--launcher", launcher(), "--walltime", "0:01:00",
                       "--drain-margin", "50", "--hwm", "8", "--json"});
    SHOW(r);
    REQUIRE(r.status == 0);
    auto jobs = jobs_of(json::parse(r.out));
    Client rc("default");
    const auto first = rc.engines().at(0);
    REQUIRE(first.job_end > 0);
    const auto drain_at = std::chrono::system_clock::time_point(std::chrono::seconds(first.job_end - 50));
    // Five 4-second tasks while world 0 is the only one: all are sent to its engine.
    auto lb = rc.load_balanced_view();
    std::vector<AsyncResult> tasks;
    for (int i = 0; i < 5; ++i) tasks.push_back(lb.apply("sleep", 4.0));
    // The drain gives back what the engine has not started: once it has, they wait for an engine
    // with time left (none yet), and its queue is empty. (A second world that came earlier would
    // take them as an idle engine's steals, not through the drain this case is about.)
    // Then they are dispatched to the second world as it registers: right behind its register
    // reply (work lost there once, in the registration's read).
    REQUIRE(poll_for(
        [&] {
          return rc.controller_stats()["tasks_withdrawn"].as_int() >= 1 && rc.queue_status().engines.at(0).queue == 0;
        },
        90s, 100ms));
    // A second world with time to spare.
    r = run_crew({"cluster", "add", "-n", "1", "--launcher", launcher(), "--walltime", "0:10:00"});
    SHOW(r);
    REQUIRE(r.status == 0);
    int on_first = 0, on_second = 0;
    for (auto& t : tasks) {
      t.get(120s);  // every task succeeds: none is lost or failed by the drain
      const auto m = t.metadata();
      if (m.engine_id == first.id) {
        ++on_first;
        CHECK_MESSAGE(m.started < drain_at + 1s, "a task started on the draining world");
      } else {
        ++on_second;
      }
    }
    CHECK(on_first >= 1);
    CHECK(on_second >= 1);  // given back unstarted, and run on the other world
    const Value stats = rc.controller_stats();
    CHECK(stats["worlds_drained"].as_int() >= 1);
    CHECK(stats["tasks_withdrawn"].as_int() == on_second);
    CHECK(stats["tasks_rebalanced"].as_int() == 0);
    // New balanced tasks go only to the world with time left; direct work still reaches world 0.
    const json engines = json::parse(run_crew({"engines", "--json"}).out);
    CHECK(engines.at(0).at("draining") == true);
    CHECK(engines.at(1).at("draining") == false);
    for (int i = 0; i < 6; ++i) CHECK(lb.apply("pid").get(30s).as_int() == engines.at(1).at("pid").get<long>());
    CHECK(rc[first.id].apply("echo", 1).get(30s).as_int() == 1);
    // Work across both worlds is not balanced work either: a direct task and a collective run on
    // the draining world too (each world gets its own part).
    const std::vector<int> both{first.id, engines.at(1).at("id").get<int>()};
    CHECK(rc[both].apply("echo", 2).get(30s) == Value(Value::List{Value(2), Value(2)}));
    const Value parts = to_value(std::vector<std::int64_t>{1, 2, 3, 4});
    (void)rc[both].scatter_value("part", parts).get(30s);
    CHECK(rc[both].gather("part").get(30s) == parts);
    r = run_crew({"cluster", "status", "--json"});
    const json status = json::parse(r.out);
    for (const auto& w : status.at("worlds")) jobs.push_back(w.at("job_id"));
    stop_and_check(jobs);
  }
}

/// Host B as a laptop: its own CREW_HOME and runtime directory (ssh's sockets); `run` runs crew
/// there (the testbed's ssh first on PATH, unless `path` says otherwise). Every ssh master
/// connection it made is closed when it goes (else each would stay 10 idle minutes).
class Laptop {
public:
  Laptop() : dir_("crew-laptop") { fs::permissions(dir_.path(), fs::perms::owner_all, fs::perm_options::replace); }
  ~Laptop() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(sockets(), ec))
      if (const auto n = e.path().filename().string(); n.rfind("ssh-", 0) == 0 && n.find('.') == std::string::npos)
        (void)proc::run({ssh(), "-S", e.path().string(), "-O", "exit", "hosta"}, within(10s));
  }
  fs::path home() const { return dir_.path() / "home"; }
  fs::path sockets() const { return dir_.path() / "crew"; }
  static std::string ssh() { return std::string(std::getenv("CREW_TB_SSH_BIN")) + "/ssh"; }
  /// The command line that runs crew on host B with `args`.
  std::vector<std::string> argv(std::vector<std::string> args, const std::string& path = {}) const {
    const std::string ssh_bin = std::getenv("CREW_TB_SSH_BIN");
    std::vector<std::string> argv{std::string(std::getenv("CREW_TB_SCRIPTS")) + "/on-host.sh",
                                  "b",
                                  "env",
                                  "CREW_HOME=" + home().string(),
                                  "XDG_RUNTIME_DIR=" + dir_.path().string(),
                                  "PATH=" + (path.empty() ? ssh_bin + ":" + std::getenv("PATH") : path),
                                  (bin_dir() / "crew").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  RunResult run(std::vector<std::string> args, const std::string& path = {}) const {
    return proc::run(argv(std::move(args), path), within(120s));
  }
  /// The pid of the ssh master connection to host A (-1: none runs).
  pid_t master_pid() const {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(sockets(), ec))
      if (const auto n = e.path().filename().string(); n.rfind("ssh-", 0) == 0 && n.find('.') == std::string::npos) {
        const auto check = proc::run({ssh(), "-S", e.path().string(), "-O", "check", "hosta"}, within(10s));
        if (const auto at = check.err.find("pid="); check.status == 0 && at != std::string::npos)
          return std::stoi(check.err.substr(at + 4));
      }
    return -1;
  }
  const fs::path& dir() const { return dir_.path(); }

private:
  TempDir dir_;
};

TEST_SUITE("launchers.tunnel") {
  TEST_CASE("a client on another host reaches a controller on loopback only through ssh, and the tunnel comes back") {
    // The cluster runs here, on host A, its controller on 127.0.0.1; the "laptop" is host B, with
    // a CREW_HOME and a runtime directory (ssh's sockets) of its own.
    const std::string plugin = (test_bin_dir() / "system" / "libcrew_test_plugin.so").string();
    auto r = run_crew({"cluster", "start", "-n", "2", "--plugin", plugin, "--json"});
    SHOW(r);
    REQUIRE(r.status == 0);
    struct Stop {
      ~Stop() { (void)run_crew({"cluster", "stop"}); }
    } stop;
    const Laptop laptop;
    const fs::path home = laptop.home();
    const std::string ssh_bin = std::getenv("CREW_TB_SSH_BIN");
    const auto on_b = [&](std::vector<std::string> args, const std::string& path = {}) {
      return laptop.run(args, path);
    };
    const fs::path file = profile_dir("default") / controller_file_name;
    CHECK(contains(file_text(file), "tcp://127.0.0.1:"));

    // A copy of the connection file alone: its address is host B's own loopback, where nobody is.
    fs::create_directories(home / "profile_direct");
    fs::copy_file(file, home / "profile_direct" / controller_file_name);
    r = on_b({"ids", "--profile", "direct", "--connect-timeout", "2"});
    SHOW(r);
    CHECK(r.status == 1);
    CHECK(contains(r.err, "[crew.connection.timeout]"));

    // Imported over ssh: the profile's clients go through ssh by themselves.
    r = on_b({"profile", "import", "hosta:" + file.string(), "--profile", "hpc"});
    SHOW(r);
    REQUIRE(r.status == 0);
    CHECK(contains(r.out, "2 engines alive"));
    r = on_b({"call", "hostname", "--targets", "1", "--profile", "hpc", "--json"});
    SHOW(r);
    CHECK(r.status == 0);
    CHECK(contains(r.out, "hosta"));  // the engines run on host A
    // --ssh on any verb, with the plain copy.
    r = on_b({"ids", "--profile", "direct", "--ssh", "hosta"});
    SHOW(r);
    CHECK(r.out == "0 1\n");

    // The master connection killed: the next command starts another, and gets through.
    pid_t master = laptop.master_pid();
    REQUIRE(master > 0);
    ::kill(master, SIGKILL);  // as a crash would
    REQUIRE(proc::wait_gone(master, deadline_after(30s)));
    r = on_b({"ids", "--profile", "hpc"});
    SHOW(r);
    CHECK(r.out == "0 1\n");

    // A client that waits across a master's death: its forward is made again under it, and the
    // result its controller sent meanwhile (into a connection that was gone) is asked for again.
    Gate gate;
    proc::SpawnOptions waiting;
    waiting.argv = laptop.argv(
        {"call", "hold", "\"" + gate.path() + "\"", "--targets", "0", "--profile", "hpc", "--timeout", "60", "--json"});
    waiting.log = laptop.dir() / "waiting.log";
    const pid_t waiter = proc::spawn(waiting);
    struct Reap {
      pid_t pid;
      ~Reap() {
        if (proc::alive(pid)) ::kill(pid, SIGKILL);
        proc::wait_gone(pid, deadline_after(10s));
      }
    } reap{waiter};
    REQUIRE(gate.wait_held(60s));
    master = laptop.master_pid();
    REQUIRE(master > 0);
    ::kill(master, SIGKILL);  // as a crash would
    REQUIRE(proc::wait_gone(master, deadline_after(30s)));
    gate.open();  // the task ends now, while nothing forwards its result
    REQUIRE(proc::wait_gone(waiter, deadline_after(90s)));
    const std::string waited = file_text(waiting.log);
    INFO(waited);
    CHECK(contains(waited, "null"));
    CHECK_FALSE(contains(waited, "$error"));
    CHECK(laptop.master_pid() > 0);  // made again by the waiting client

    // Bad input: clear errors naming what to fix.
    r = on_b({"ids", "--profile", "direct", "--ssh", "nosuchhost", "--connect-timeout", "5"});
    CHECK(r.status == 1);
    CHECK(contains(error_of(r.err), "[crew.connection.ssh_failed] --ssh nosuchhost"));
    CHECK(contains(r.err, "nosuchhost"));
    r = on_b({"ids", "--profile", "direct", "--ssh", "nosuchuser@hosta", "--connect-timeout", "5"});  // refused
    CHECK(r.status == 1);
    CHECK(contains(error_of(r.err), "[crew.connection.ssh_failed] --ssh nosuchuser@hosta"));
    CHECK(contains(r.err, "Permission denied"));
    r = on_b({"ids", "--profile", "direct", "--ssh", "two words"});
    CHECK(r.status == 2);
    CHECK(contains(error_of(r.err), "[crew.input.bad_option] --ssh 'two words'"));
    r = on_b({"ids", "--profile", "direct", "--ssh", "hosta"}, "/nonexistent");
    CHECK(r.status == 1);
    CHECK(contains(r.err, "no ssh client on PATH"));
    r = on_b({"profile", "import", "hosta:/no/such/controller.json", "--profile", "other"});
    CHECK(r.status == 1);
    CHECK(contains(error_of(r.err), "[crew.connection.ssh_failed]"));
    CHECK(contains(r.err, "No such file"));
    CHECK_FALSE(fs::exists(home / "profile_other" / controller_file_name));
  }

  TEST_CASE("crew cluster start --ssh runs crew on the login host and brings the connection file back") {
    const Laptop laptop;
    const TempDir login_home("crew-login-home");  // host A's CREW_HOME, given with the remote command
    const std::string remote_crew = "env CREW_HOME=" + login_home.path().string() + " " + (bin_dir() / "crew").string();
    auto r =
        laptop.run({"cluster", "start", "-n", "2", "--ssh", "hosta", "--remote-crew", remote_crew, "--profile", "hpc"});
    SHOW(r);
    REQUIRE(r.status == 0);
    struct Stop {
      fs::path home;
      ~Stop() { (void)crew_cli({"cluster", "stop", "--profile", "hpc"}, {{"CREW_HOME", home.string()}}); }
    } stop{login_home.path()};
    CHECK(contains(r.out, "cluster 'hpc' started"));  // the login host's crew said so, shown here
    CHECK(contains(r.out, "reaches it through ssh to hosta"));
    CHECK(fs::exists(login_home.path() / "profile_hpc" / "cluster.json"));  // started there, not here
    CHECK_FALSE(fs::exists(laptop.home() / "profile_hpc" / "cluster.json"));
    r = laptop.run({"ids", "--profile", "hpc"});
    SHOW(r);
    CHECK(r.out == "0 1\n");
    r = laptop.run({"cluster", "status", "--ssh", "hosta", "--remote-crew", remote_crew, "--profile", "hpc"});
    SHOW(r);
    CHECK(r.status == 0);
    CHECK(contains(r.out, "2 alive"));
    // A remote crew that is no command there: the error says how to name it.
    r = laptop.run(
        {"cluster", "start", "-n", "1", "--ssh", "hosta", "--remote-crew", "/no/such/crew", "--profile", "hpc"});
    CHECK(r.status == 1);
    CHECK(contains(error_of(r.err), "[crew.connection.ssh_failed]"));
    CHECK(contains(r.err, "--remote-crew"));
    r = laptop.run({"cluster", "stop", "--ssh", "hosta", "--remote-crew", remote_crew, "--profile", "hpc"});
    SHOW(r);
    CHECK(r.status == 0);
    CHECK(contains(r.out, "stopped"));
    CHECK_FALSE(fs::exists(login_home.path() / "profile_hpc" / "cluster.json"));
    // Its connection file went too: the profile says no controller runs, at once.
    r = laptop.run({"ids", "--profile", "hpc"});
    CHECK(r.status == 1);
    CHECK(contains(error_of(r.err), "[crew.connection.no_profile]"));
  }
}
