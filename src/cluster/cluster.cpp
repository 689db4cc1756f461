// Starting, stopping and inspecting clusters.
#include "cluster/cluster.hpp"

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
    remove_state(dir_);
    remove_connection_files(dir_);
  }
  void add(pid_t leader) { leaders_.push_back(leader); }
  void commit() { committed_ = true; }

private:
  fs::path dir_;
  std::vector<pid_t> leaders_;
  bool committed_ = false;
};

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
  spawn.log = log;
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

StartResult start(const StartOptions& o, const Reporter& reporter) {
  const auto t0 = SteadyClock::now();
  if (o.launcher != "local")
    throw LaunchError(errc::launcher_not_found,
                      "launcher '" + o.launcher + "' is not available yet; use --launcher local");
  if (o.engines < 0)
    throw InputError(errc::bad_option, "-n " + std::to_string(o.engines) + ": give the number of engines, at least 1");
  const fs::path dir = profile_dir(o.profile);
  ensure_profile_dir(dir);

  // One cluster per profile.
  const auto previous = read_state(dir);
  const auto cf = read_controller(dir);
  if (controller_alive(cf) || (previous && proc::alive(previous->controller_pid)))
    throw LaunchError(errc::already_running,
                      "profile '" + o.profile + "' already has a running cluster (controller pid " +
                          std::to_string(cf ? cf->pid : previous->controller_pid) +
                          "); stop it with `crew cluster stop" +
                          (o.profile == "default" ? "" : " --profile " + o.profile) + "` or use another --profile");
  if (previous) {
    reporter.notice("cleaning up a cluster that did not stop cleanly");
    terminate({}, previous->all_pids(), 2s);
  }
  remove_state(dir);
  remove_connection_files(dir);

  LocalLaunch launch;
  launch.engines = o.engines > 0 ? o.engines : usable_cores();
  launch.profile = o.profile;
  launch.mpirun_args = o.mpirun_args;
  launch.plugins = o.plugins;
  launch.oversubscribe_allowed = o.oversubscribe_allowed;
  const auto engine = engine_program();
  if (!proc::find_program("mpirun"))
    throw LaunchError(errc::launcher_not_found,
                      "mpirun was not found on PATH; install Open MPI (apt-get install openmpi-bin) or add it to PATH");

  StartGuard guard(dir);
  ClusterState state;
  state.profile = o.profile;
  state.started = iso_now();
  state.controller_log = dir / "log" / "controller.log";
  state.controller_pid = start_controller(o, state.controller_log, guard);
  write_state(dir, state);

  WorldState world;
  world.launcher = "local";
  world.engines = launch.engines;
  world.log = dir / "log" / "world-0.log";
  world.command = mpirun_command(launch, engine, reporter.notice);
  std::error_code ec;
  fs::remove(world.log, ec);
  proc::SpawnOptions spawn;
  spawn.argv = world.command;
  spawn.log = world.log;
  world.pid = proc::spawn(spawn);
  guard.add(world.pid);
  state.worlds.push_back(world);
  write_state(dir, state);

  Client client(o.profile, ClientOptions{std::chrono::milliseconds(10000)});
  const Deadline deadline = deadline_after(o.timeout);
  std::vector<EngineInfo> engines;
  int registered = -1;
  for (;;) {
    if (auto status = proc::reap_if_exited(world.pid)) {
      throw LaunchError(
          errc::launcher_failed, "mpirun exited with status " + std::to_string(*status) +
                                     " before the engines registered (command: " +
                                     [&] {
                                       std::string c;
                                       for (const auto& a : world.command) c += (c.empty() ? "" : " ") + a;
                                       return c;
                                     }() +
                                     ")" + log_tail(world.log));
    }
    if (!proc::alive(state.controller_pid))
      throw LaunchError(errc::controller_failed,
                        "the controller exited while engines registered" + log_tail(state.controller_log));
    engines = client.engines(launch.engines, 250ms);
    int alive = 0;
    for (const auto& e : engines) alive += e.state == "alive" ? 1 : 0;
    if (alive != registered) {
      registered = alive;
      reporter.progress(alive, launch.engines, seconds_since(t0));
    }
    if (alive >= launch.engines) break;
    if (SteadyClock::now() >= deadline)
      throw LaunchError(errc::engines_not_registered, std::to_string(alive) + " of " + std::to_string(launch.engines) +
                                                          " engines registered within " + seconds_text(o.timeout) +
                                                          "; wait longer with --wait, or see why" +
                                                          log_tail(world.log));
  }
  for (const auto& e : engines) state.worlds.front().engine_pids.push_back(static_cast<pid_t>(e.pid));
  write_state(dir, state);
  guard.commit();

  StartResult result;
  result.state = state;
  result.engines = std::move(engines);
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
