// Starting, stopping and inspecting clusters.
#include "cluster/cluster.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "cluster/local_launcher.hpp"
#include "common/clock.hpp"
#include "common/process.hpp"

namespace crew::cluster {
namespace {

using namespace std::chrono_literals;

std::string iso_now() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", std::localtime(&t));
  return buf;
}

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

std::string indent(const std::string& text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += "    " + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

std::string log_tail(const fs::path& log) {
  // Long enough for Open MPI's own explanations (its "not enough slots" text is 29 lines).
  const std::string tail = proc::tail_file(log, 40);
  if (tail.empty()) return " (" + log.string() + " is empty)";
  return "; the last lines of " + log.string() + ":\n" + indent(tail);
}

/// Ends the sessions of `leaders` and any other listed pid: SIGTERM, then SIGKILL.
bool terminate(const std::vector<pid_t>& leaders, const std::vector<pid_t>& pids, std::chrono::milliseconds patience) {
  auto all_gone = [&](Deadline d) {
    bool gone = true;
    for (pid_t p : pids) gone &= proc::wait_gone(p, d);
    for (pid_t l : leaders) gone &= proc::session_members(l).empty() || proc::wait_gone(l, d);
    return gone;
  };
  for (int sig : {SIGTERM, SIGKILL}) {
    for (pid_t l : leaders) proc::signal_session(l, sig);
    for (pid_t p : pids)
      if (proc::alive(p)) ::kill(p, sig);
    if (all_gone(deadline_after(patience))) return true;
  }
  return false;
}

std::optional<ControllerFile> read_controller(const fs::path& dir) {
  const fs::path file = dir / controller_file_name;
  if (!fs::exists(file)) return std::nullopt;
  try {
    return controller_file_from_json(read_json_file(file), file);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool controller_alive(const std::optional<ControllerFile>& cf) {
  return cf && cf->pid > 0 && cf->host == host_name() && proc::alive(static_cast<pid_t>(cf->pid));
}

void remove_connection_files(const fs::path& dir) {
  std::error_code ec;
  fs::remove(dir / controller_file_name, ec);
  fs::remove(dir / engine_file_name, ec);
}

/// Everything `start` launched, stopped again unless committed.
class StartGuard {
public:
  explicit StartGuard(fs::path dir) : dir_(std::move(dir)) {}
  ~StartGuard() {
    if (committed_) return;
    terminate(leaders_, {}, 3s);
    if (keep_files_) return;
    remove_state(dir_);
    remove_connection_files(dir_);
  }
  void add(pid_t leader) { leaders_.push_back(leader); }
  void commit() { committed_ = true; }
  /// For `add`: on failure, stop only what was added; the running cluster keeps its files.
  void keep_connection_files() { keep_files_ = true; }

private:
  fs::path dir_;
  std::vector<pid_t> leaders_;
  bool committed_ = false;
  bool keep_files_ = false;
};

/// What crew adds to the environment of the processes it starts: glibc marks all their heap for
/// transparent huge pages (common/memory.hpp: page faults are the cost of a growing heap; the
/// controller ran 1.6x the task rate with them), added to any tunables already set.
std::vector<std::pair<std::string, std::string>> process_environment() {
  std::string tunables = "glibc.malloc.hugetlb=1";
  if (const char* set = std::getenv("GLIBC_TUNABLES"); set != nullptr && *set != '\0') {
    if (std::string(set).find("glibc.malloc.hugetlb") != std::string::npos) return {};  // the user's choice
    tunables = std::string(set) + ":" + tunables;
  }
  return {{"GLIBC_TUNABLES", tunables}};
}

pid_t start_controller(const StartOptions& o, const fs::path& log, StartGuard& guard) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) throw LaunchError(errc::controller_failed, "pipe2 failed");
  proc::SpawnOptions spawn;
  spawn.argv = {proc::self_exe().string(),
                "controller",
                "--profile",
                o.profile,
                "--ready-fd",
                std::to_string(ready[1]),
                "--heartbeat-ms",
                std::to_string(o.heartbeat_ms),
                "--ip",
                o.ip};
  if (o.max_message_bytes > 0) {
    spawn.argv.push_back("--max-message-size");
    spawn.argv.push_back(std::to_string(o.max_message_bytes));
  }
  if (!o.scheme.empty()) {
    spawn.argv.push_back("--scheme");
    spawn.argv.push_back(o.scheme);
  }
  if (o.hwm > 0) {
    spawn.argv.push_back("--hwm");
    spawn.argv.push_back(std::to_string(o.hwm));
  }
  spawn.log = log;
  spawn.env = process_environment();
  spawn.pass_fd = ready[1];
  pid_t pid = 0;
  try {
    pid = proc::spawn(spawn);
  } catch (...) {
    ::close(ready[0]);
    ::close(ready[1]);
    throw;
  }
  guard.add(pid);
  ::close(ready[1]);
  // The controller writes "ready" once its connection files exist; EOF means it died.
  char buf[16] = {};
  pollfd p{ready[0], POLLIN, 0};
  const int r = ::poll(&p, 1, 15000);
  const ssize_t n = r > 0 ? ::read(ready[0], buf, sizeof buf - 1) : 0;
  ::close(ready[0]);
  if (n <= 0 || std::string(buf).rfind("ready", 0) != 0) {
    (void)proc::wait_gone(pid, deadline_after(1s));
    throw LaunchError(errc::controller_failed,
                      std::string("the controller ") +
                          (r == 0 ? "did not get ready within 15 s" : "exited while starting") + log_tail(log));
  }
  return pid;
}

}  // namespace

namespace {

std::string command_text(const std::vector<std::string>& command) {
  std::string c;
  for (const auto& a : command) c += (c.empty() ? "" : " ") + a;
  return c;
}

/// Starts one `mpirun` world in the background; its notices go to `notices` (said once each).
WorldState launch_world(const StartOptions& o, int engines, int index, const fs::path& dir, StartGuard& guard,
                        std::vector<std::string>& notices) {
  LocalLaunch launch;
  launch.engines = engines;
  launch.profile = o.profile;
  launch.mpirun_args = o.mpirun_args;
  launch.plugins = o.plugins;
  launch.properties = o.properties;
  launch.oversubscribe_allowed = o.oversubscribe_allowed;
  WorldState world;
  world.launcher = "local";
  world.engines = engines;
  world.log = dir / "log" / ("world-" + std::to_string(index) + ".log");
  world.command = mpirun_command(launch, engine_program(), [&](const std::string& notice) {
    if (std::find(notices.begin(), notices.end(), notice) == notices.end()) notices.push_back(notice);
  });
  std::error_code ec;
  fs::remove(world.log, ec);
  proc::SpawnOptions spawn;
  spawn.argv = world.command;
  spawn.log = world.log;
  spawn.env = process_environment();  // mpirun passes its environment on to the ranks it starts here
  world.pid = proc::spawn(spawn);
  guard.add(world.pid);
  return world;
}

/// Waits until `wanted` engines are alive, watching the new worlds' mpirun and the controller.
std::vector<EngineInfo> wait_registered(const StartOptions& o, const ClusterState& state, std::size_t first_new_world,
                                        int wanted, SteadyClock::time_point t0, const Reporter& reporter) {
  Client client(o.profile, ClientOptions{std::chrono::milliseconds(10000)});
  const Deadline deadline = deadline_after(o.timeout);
  int registered = -1;
  for (;;) {
    for (std::size_t i = first_new_world; i < state.worlds.size(); ++i) {
      const WorldState& world = state.worlds[i];
      if (auto status = proc::reap_if_exited(world.pid))
        throw LaunchError(errc::launcher_failed, "mpirun exited with status " + std::to_string(*status) +
                                                     " before the engines registered (command: " +
                                                     command_text(world.command) + ")" + log_tail(world.log));
    }
    if (!proc::alive(state.controller_pid))
      throw LaunchError(errc::controller_failed,
                        "the controller exited while engines registered" + log_tail(state.controller_log));
    std::vector<EngineInfo> engines;
    try {
      engines = client.engines(wanted, 250ms);
    } catch (const TimeoutError&) {
      // Ranks starting beside it can starve the controller (and this process) of CPU for
      // seconds: with 4 worlds of 64 ranks on 2 cores a round trip took up to 5 s, and starts
      // failed on one that took over 10. It is slow, not gone (checked above): ask again.
      if (SteadyClock::now() < deadline) continue;
      throw;
    }
    int alive = 0;
    for (const auto& e : engines) alive += e.state == "alive" ? 1 : 0;
    if (alive != registered) {
      registered = alive;
      reporter.progress(alive, wanted, seconds_since(t0));
    }
    if (alive >= wanted) return engines;
    if (SteadyClock::now() >= deadline)
      throw LaunchError(errc::engines_not_registered, std::to_string(alive) + " of " + std::to_string(wanted) +
                                                          " engines registered within " + seconds_text(o.timeout) +
                                                          "; wait longer with --wait, or see why" +
                                                          log_tail(state.worlds.back().log));
  }
}

/// Engine pids by the world (mpirun session) they run in, for stop's bookkeeping. Each world's
/// session is read from /proc once (it was once per engine and world: 256 engines in 4 worlds
/// took 1.5 s of the start).
void record_engine_pids(ClusterState& state, const std::vector<EngineInfo>& engines) {
  std::vector<std::vector<pid_t>> members;
  for (auto& w : state.worlds) {
    w.engine_pids.clear();
    members.push_back(proc::session_members(w.pid));
    std::sort(members.back().begin(), members.back().end());
  }
  for (const auto& e : engines) {
    if (e.state != "alive") continue;
    std::size_t home = state.worlds.size() - 1;
    for (std::size_t i = 0; i < state.worlds.size(); ++i)
      if (std::binary_search(members[i].begin(), members[i].end(), static_cast<pid_t>(e.pid))) home = i;
    state.worlds[home].engine_pids.push_back(static_cast<pid_t>(e.pid));
  }
}

void check_counts(int engines, int worlds) {
  if (engines < 1)
    throw InputError(errc::bad_option, "-n " + std::to_string(engines) + ": give the number of engines, at least 1");
  if (worlds < 1 || worlds > engines)
    throw InputError(errc::bad_option, "--worlds " + std::to_string(worlds) + " with -n " + std::to_string(engines) +
                                           ": every world needs at least one engine (1 <= worlds <= engines)");
}

void require_mpirun() {
  if (!proc::find_program("mpirun"))
    throw LaunchError(errc::launcher_not_found,
                      "mpirun was not found on PATH; install Open MPI (apt-get install openmpi-bin) or add it to PATH");
}

}  // namespace

StartResult start(const StartOptions& o, const Reporter& reporter) {
  const auto t0 = SteadyClock::now();
  if (o.launcher != "local")
    throw LaunchError(errc::launcher_not_found,
                      "launcher '" + o.launcher + "' is not available yet; use --launcher local");
  const int total = o.engines > 0 ? o.engines : usable_cores();
  check_counts(total, o.worlds);
  const fs::path dir = profile_dir(o.profile);
  ensure_profile_dir(dir);

  // One cluster per profile.
  const auto previous = read_state(dir);
  const auto cf = read_controller(dir);
  if (controller_alive(cf) || (previous && proc::alive(previous->controller_pid)))
    throw LaunchError(errc::already_running, "profile '" + o.profile +
                                                 "' already has a running cluster (controller pid " +
                                                 std::to_string(cf ? cf->pid : previous->controller_pid) +
                                                 "); stop it with `crew cluster stop" +
                                                 (o.profile == "default" ? "" : " --profile " + o.profile) +
                                                 "`, add engines with `crew cluster add`, or use another --profile");
  if (previous) {
    reporter.notice("cleaning up a cluster that did not stop cleanly");
    terminate({}, previous->all_pids(), 2s);
  }
  remove_state(dir);
  remove_connection_files(dir);
  (void)engine_program();
  require_mpirun();

  StartGuard guard(dir);
  ClusterState state;
  state.profile = o.profile;
  state.started = iso_now();
  state.controller_log = dir / "log" / "controller.log";
  state.controller_pid = start_controller(o, state.controller_log, guard);
  write_state(dir, state);

  // N engines in W worlds: sizes differing by at most one, the first worlds larger.
  std::vector<std::string> notices;
  for (int i = 0; i < o.worlds; ++i) {
    const int n = total / o.worlds + (i < total % o.worlds ? 1 : 0);
    state.worlds.push_back(launch_world(o, n, i, dir, guard, notices));
    write_state(dir, state);
  }
  for (const auto& n : notices) reporter.notice(n);

  auto engines = wait_registered(o, state, 0, total, t0, reporter);
  record_engine_pids(state, engines);
  write_state(dir, state);
  guard.commit();

  StartResult result;
  result.state = state;
  result.engines = std::move(engines);
  result.client_url = read_controller(dir).value_or(ControllerFile{}).client_url;
  result.seconds = seconds_since(t0);
  return result;
}

StartResult add(const StartOptions& o, const Reporter& reporter) {
  const auto t0 = SteadyClock::now();
  check_counts(o.engines, o.worlds);
  const fs::path dir = profile_dir(o.profile);
  auto state = read_state(dir);
  if (!state || !controller_alive(read_controller(dir)))
    throw LaunchError(errc::not_running, "no cluster is running for profile '" + o.profile +
                                             "'; start one with `crew cluster start" +
                                             (o.profile == "default" ? "" : " --profile " + o.profile) + "`");
  require_mpirun();
  const int before = static_cast<int>(Client(o.profile, ClientOptions{5000ms}).ids().size());

  StartGuard guard(dir);
  guard.keep_connection_files();
  const std::size_t first_new = state->worlds.size();
  std::vector<std::string> notices;
  for (int i = 0; i < o.worlds; ++i) {
    const int n = o.engines / o.worlds + (i < o.engines % o.worlds ? 1 : 0);
    state->worlds.push_back(launch_world(o, n, static_cast<int>(first_new) + i, dir, guard, notices));
  }
  write_state(dir, *state);
  for (const auto& n : notices) reporter.notice(n);
  try {
    auto engines = wait_registered(o, *state, first_new, before + o.engines, t0, reporter);
    record_engine_pids(*state, engines);
  } catch (...) {
    state->worlds.resize(first_new);  // the guard stops the new worlds; the cluster stays as it was
    write_state(dir, *state);
    throw;
  }
  write_state(dir, *state);
  guard.commit();

  StartResult result;
  result.state = *state;
  result.engines = Client(o.profile, ClientOptions{5000ms}).engines();
  result.client_url = read_controller(dir).value_or(ControllerFile{}).client_url;
  result.seconds = seconds_since(t0);
  return result;
}

StopResult stop(const std::string& profile, std::chrono::milliseconds grace, const Reporter& reporter) {
  const auto t0 = SteadyClock::now();
  const fs::path dir = profile_dir(profile);
  const auto state = read_state(dir);
  const auto cf = read_controller(dir);
  if (!state && !controller_alive(cf))
    throw LaunchError(errc::not_running,
                      "no cluster is running for profile '" + profile + "' (nothing to stop in " + dir.string() + ")");
  std::vector<pid_t> pids = state ? state->all_pids() : std::vector<pid_t>{};
  if (cf && cf->pid > 0 && std::find(pids.begin(), pids.end(), cf->pid) == pids.end())
    pids.push_back(static_cast<pid_t>(cf->pid));

  if (controller_alive(cf)) {
    try {
      Client client(profile, ClientOptions{std::chrono::milliseconds(3000)});
      client.shutdown();
    } catch (const Error& e) {
      reporter.notice(std::string("the controller did not answer (") + e.what() +
                      "); stopping its processes with signals");
    }
  }
  StopResult result;
  const Deadline deadline = deadline_after(grace);
  bool all_gone = true;
  for (pid_t p : pids) all_gone &= proc::wait_gone(p, deadline);
  if (!all_gone) {
    result.forced = true;
    std::vector<pid_t> leaders;
    if (state) {
      leaders.push_back(state->controller_pid);
      for (const auto& w : state->worlds) leaders.push_back(w.pid);
    }
    reporter.notice("some processes did not stop within " + seconds_text(grace) + "; sending SIGTERM, then SIGKILL");
    if (!terminate(leaders, pids, 3s)) {
      std::string left;
      for (pid_t p : pids)
        if (proc::alive(p)) left += " " + std::to_string(p);
      throw LaunchError(errc::launcher_failed, "could not stop process(es)" + left + " even with SIGKILL");
    }
  }
  remove_state(dir);
  if (!controller_alive(read_controller(dir))) remove_connection_files(dir);
  result.stopped = pids;
  result.seconds = seconds_since(t0);
  return result;
}

Status status(const std::string& profile, std::chrono::milliseconds timeout) {
  Status s;
  s.profile = profile;
  s.dir = profile_dir(profile);
  s.state = read_state(s.dir);
  s.controller = read_controller(s.dir);
  s.running = controller_alive(s.controller);
  if (!s.running) {
    if (s.state)
      s.problem = "cluster.json is left from a cluster that did not stop cleanly; `crew cluster stop` cleans up";
    return s;
  }
  try {
    Client client(profile, ClientOptions{timeout});
    s.engines = client.engines();
    s.stats = client.controller_stats();
  } catch (const Error& e) {
    s.problem = e.what();
  }
  return s;
}

std::vector<Status> list(std::chrono::milliseconds timeout) {
  std::vector<Status> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(crew_home(), ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("profile_", 0) != 0) continue;
    out.push_back(status(name.substr(8), timeout));
  }
  std::sort(out.begin(), out.end(), [](const Status& a, const Status& b) { return a.profile < b.profile; });
  return out;
}

}  // namespace crew::cluster
