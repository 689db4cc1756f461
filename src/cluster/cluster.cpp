// Starting, stopping and inspecting clusters.
#include "cluster/cluster.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>
#include <thread>

#include "cluster/batch_jobs.hpp"
#include "cluster/interruption.hpp"
#include "cluster/launcher_catalog.hpp"
#include "cluster/local_launcher.hpp"
#include "cluster/world_jobs.hpp"
#include "common/clock.hpp"
#include "common/network.hpp"
#include "common/process.hpp"
#include "transport/keyring.hpp"

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

/// Everything `start` or `add` launched, stopped again (processes ended, jobs cancelled) unless
/// committed.
class StartGuard {
public:
  StartGuard(fs::path dir, WorldJobs& jobs) : dir_(std::move(dir)), jobs_(jobs) {}
  ~StartGuard() {
    if (committed_) return;
    std::vector<const WorldState*> batch;
    for (const auto& w : worlds_)
      if (w.batch()) batch.push_back(&w);
    (void)jobs_.cancel(batch);
    terminate(leaders_, {}, 3s);
    if (keep_files_) return;
    remove_state(dir_);
    remove_connection_files(dir_);
  }
  void add(pid_t leader) { leaders_.push_back(leader); }
  void add(const WorldState& world) {
    if (world.pid > 0) leaders_.push_back(world.pid);
    worlds_.push_back(world);
  }
  void commit() { committed_ = true; }
  /// For `add`: on failure, stop only what was added; the running cluster keeps its files.
  void keep_connection_files() { keep_files_ = true; }

private:
  fs::path dir_;
  WorldJobs& jobs_;
  std::vector<pid_t> leaders_;
  std::vector<WorldState> worlds_;
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

/// The controller's options (after `crew controller`), as a cluster runs it; kept in the cluster's
/// state, so that a restore runs it as it was.
std::vector<std::string> controller_arguments(const StartOptions& o, const std::string& ip) {
  std::vector<std::string> args = {"--profile", o.profile, "--heartbeat-ms", std::to_string(o.heartbeat_ms),
                                   "--ip",      ip};
  if (o.max_message_bytes > 0) {
    args.push_back("--max-message-size");
    args.push_back(std::to_string(o.max_message_bytes));
  }
  if (!o.scheme.empty()) {
    args.push_back("--scheme");
    args.push_back(o.scheme);
  }
  if (o.hwm > 0) {
    args.push_back("--hwm");
    args.push_back(std::to_string(o.hwm));
  }
  args.push_back("--drain-margin");
  args.push_back(std::to_string(o.drain_margin_s));
  if (o.curve == "on") args.push_back("--curve");
  if (o.curve == "off") args.push_back("--no-curve");
  args.insert(args.end(), o.db_args.begin(), o.db_args.end());
  return args;
}

pid_t start_controller(const std::vector<std::string>& args, const fs::path& log, StartGuard& guard) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) throw_error(errc::controller_failed, "pipe2 failed");
  proc::SpawnOptions spawn;
  spawn.argv = {proc::self_exe().string(), "controller", "--ready-fd", std::to_string(ready[1])};
  spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
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
    throw_error(errc::controller_failed, std::string("the controller ") +
                                             (r == 0 ? "did not get ready within 15 s" : "exited while starting") +
                                             log_tail(log));
  }
  return pid;
}

/// How often a batch scheduler is asked about jobs that have not registered: soon after the
/// submission, then less and less often (schedulers are shared; one call covers all jobs).
class PollPace {
public:
  bool due() const { return SteadyClock::now() >= next_; }
  void polled() {
    next_ = SteadyClock::now() + interval_;
    interval_ = std::min<std::chrono::milliseconds>(interval_ * 3 / 2, 5s);
  }

private:
  SteadyClock::time_point next_ = SteadyClock::now() + 300ms;
  std::chrono::milliseconds interval_ = 500ms;
};

std::string job_ended_message(const WorldState& w, const JobStatus& s) {
  std::string text = job_label(w) + " ended before its engines registered: " + describe(s);
  if (s.state != JobState::unknown) text += " (" + std::string(job_state_name(s.state)) + ")";
  if (s.exit_code) text += ", exit code " + std::to_string(*s.exit_code);
  std::error_code ec;
  if (fs::exists(w.log, ec))
    text += log_tail(w.log);
  else
    text += "; its output file " + w.log.string() +
            " is not here (is the profile directory on a file system the "
            "compute nodes share?)";
  return text;
}

/// Waits until `wanted` engines are alive, watching the new worlds' jobs and the controller.
std::vector<EngineInfo> wait_registered(const StartOptions& o, const ClusterState& state, std::size_t first_new_world,
                                        int wanted, SteadyClock::time_point t0, const Reporter& reporter,
                                        WorldJobs& jobs) {
  Client client(o.profile, ClientOptions{std::chrono::milliseconds(3000)});
  Deadline deadline = deadline_after(o.timeout);
  int registered = -1;
  PollPace pace;
  std::map<std::string, std::string> said;  // job label -> the state last reported
  bool any_waiting_in_queue = false;
  for (;;) {
    throw_if_interrupted();
    std::vector<const WorldState*> batch;
    for (std::size_t i = first_new_world; i < state.worlds.size(); ++i) {
      const WorldState& world = state.worlds[i];
      if (world.batch()) {
        batch.push_back(&world);
        continue;
      }
      if (auto status = proc::reap_if_exited(world.pid))
        throw_error(errc::launcher_failed, "the " + world.launcher + " world's job exited with status " +
                                               std::to_string(*status) + " before its engines registered (command: " +
                                               proc::command_text(world.command) + ")" + log_tail(world.log));
    }
    if (!proc::alive(state.controller_pid))
      throw_error(errc::controller_failed, "the controller exited while engines registered (was the cluster stopped?)" +
                                               log_tail(state.controller_log));
    std::vector<EngineInfo> engines;
    try {
      engines = client.engines(wanted, 250ms);
    } catch (const ConnectionError& e) {
      if (e.code() != errc::connection_lost) throw;
      // Ranks starting beside it can starve the controller (and this process) of CPU for
      // seconds: with 4 worlds of 64 ranks on 2 cores a round trip took up to 5 s, and starts
      // failed on one that took over 10. It is slow, not gone (checked above): ask again.
      if (SteadyClock::now() < deadline) continue;
      throw;
    }
    int alive = 0;
    std::set<std::string> registered_jobs;
    for (const auto& e : engines) {
      if (e.state != "alive") continue;
      ++alive;
      registered_jobs.insert(e.launcher + " job " + e.job_id);
    }
    if (alive != registered) {
      registered = alive;
      reporter.progress(alive, wanted, seconds_since(t0));
    }
    if (alive >= wanted) return engines;

    std::erase_if(batch, [&](const WorldState* w) { return registered_jobs.count(job_label(*w)) != 0; });
    if (!batch.empty() && pace.due()) {
      pace.polled();
      any_waiting_in_queue = false;
      for (const auto& [label, s] : jobs.states(batch)) {
        const WorldState* w =
            *std::find_if(batch.begin(), batch.end(), [&](const WorldState* b) { return job_label(*b) == label; });
        if (job_ended(s.state)) throw_error(errc::job_ended, job_ended_message(*w, s));
        if (s.state == JobState::pending || s.state == JobState::held) any_waiting_in_queue = true;
        const std::string text = describe(s);
        if (said[label] != text) {
          said[label] = text;
          reporter.notice(label + ": " + text);
        }
      }
      // A job waiting in the queue does not use up --wait: it counts from when jobs run.
      if (any_waiting_in_queue) deadline = deadline_after(o.timeout);
    }
    if (SteadyClock::now() >= deadline) {
      std::string why = std::to_string(alive) + " of " + std::to_string(wanted) + " engines registered within " +
                        seconds_text(o.timeout);
      for (const WorldState* w : batch) why += "; " + job_label(*w) + " is " + said[job_label(*w)];
      throw_error(errc::engines_not_registered,
                  why + "; wait longer with --wait, or see why" + log_tail(state.worlds.back().log));
    }
  }
}

/// Engine pids by the world (process session) they run in, for stop's bookkeeping. Each world's
/// session is read from /proc once (it was once per engine and world: 256 engines in 4 worlds
/// took 1.5 s of the start). Engines of batch jobs run on other hosts: the scheduler ends them.
void record_engine_pids(ClusterState& state, const std::vector<EngineInfo>& engines) {
  std::vector<std::vector<pid_t>> members;
  for (auto& w : state.worlds) {
    w.engine_pids.clear();
    members.push_back(w.pid > 0 ? proc::session_members(w.pid) : std::vector<pid_t>{});
    std::sort(members.back().begin(), members.back().end());
  }
  const std::string here = host_name();
  for (const auto& e : engines) {
    if (e.state != "alive" || e.host != here) continue;
    for (std::size_t i = 0; i < state.worlds.size(); ++i)
      if (std::binary_search(members[i].begin(), members[i].end(), static_cast<pid_t>(e.pid)))
        state.worlds[i].engine_pids.push_back(static_cast<pid_t>(e.pid));
  }
}

void check_counts(int engines, int worlds) {
  if (engines < 1)
    throw_error(errc::bad_option, "-n " + std::to_string(engines) + ": give the number of engines, at least 1");
  if (worlds < 1 || worlds > engines)
    throw_error(errc::bad_option, "--worlds " + std::to_string(worlds) + " with -n " + std::to_string(engines) +
                                      ": every world needs at least one engine (1 <= worlds <= engines)");
}

/// The launcher, with its programs on PATH, and the address engines will reach the controller at.
LauncherDefinition checked_launcher(const StartOptions& o) {
  LauncherDefinition d = find_launcher(o.launcher);
  require_programs(d);
  if (!o.hosts.empty() && o.launcher != "ssh" && d.template_name.find("ssh") == std::string::npos)
    throw_error(errc::bad_option,
                "--hosts is for the ssh launcher (--launcher ssh); the " + d.name + " launcher places engines itself");
  return d;
}

std::string controller_ip(const StartOptions& o, const LauncherDefinition& d) {
  const bool remote = d.kind == LauncherKind::batch || !o.hosts.empty();
  const std::string ip = resolve_ip(o.ip.empty() ? (remote ? "auto" : "127.0.0.1") : o.ip, o.interface);
  if (remote && is_loopback(ip))
    throw_error(errc::bad_option, "the " + d.name +
                                      " launcher starts engines on other hosts, which cannot reach a "
                                      "controller on " +
                                      ip +
                                      "; use --ip auto (this host's first network "
                                      "address), --interface NAME (e.g. ib0) or --ip ADDRESS");
  return ip;
}

LaunchSettings settings_for(const StartOptions& o) {
  LaunchSettings s = o.launch;
  s.profile = o.profile;
  s.own_world_keys = true;
  return s;
}

/// Launches the planned worlds, recording each in `state` (and cluster.json) as it goes.
void launch_worlds(const StartOptions& o, const LauncherDefinition& d, const std::vector<WorldPlan>& plans,
                   ClusterState& state, StartGuard& guard, const Reporter& reporter) {
  const fs::path dir = profile_dir(o.profile);
  std::vector<std::string> notices;
  const LaunchSettings settings = settings_for(o);
  for (const auto& plan : plans) {
    WorldState world = launch_world(d, settings, plan, [&](const std::string& notice) {
      if (std::find(notices.begin(), notices.end(), notice) == notices.end()) {
        notices.push_back(notice);
        reporter.notice(notice);
      }
    });
    guard.add(world);
    if (world.batch())
      reporter.notice("submitted " + job_label(world) + " (" + std::to_string(world.engines) + " engine" +
                      (world.engines == 1 ? "" : "s") + ")");
    state.worlds.push_back(std::move(world));
    write_state(dir, state);
  }
}

int planned_engines(const std::vector<WorldPlan>& plans) {
  int n = 0;
  for (const auto& p : plans) n += p.ranks;
  return n;
}

}  // namespace

void require_reachable_controller(const std::string& profile, const LauncherDefinition& launcher, bool remote_hosts) {
  if (launcher.kind != LauncherKind::batch && !remote_hosts) return;
  const auto cf = read_controller(profile_dir(profile));
  if (!cf) return;  // no controller: the caller says so
  const std::string url = cf->engine_url;
  const std::string host = url.substr(url.find("://") + 3);
  if (is_loopback(host.substr(0, host.rfind(':'))))
    throw_error(errc::bad_option, "the cluster's controller listens on " + url + " only, which the " + launcher.name +
                                      " launcher's engines on other hosts cannot reach; restart the cluster "
                                      "with --ip auto (or --ip ADDRESS, --interface NAME)");
}

std::vector<WorldPlan> plan_worlds(const StartOptions& o, int first_index) {
  std::vector<WorldPlan> plans;
  if (!o.hosts.empty()) {
    const auto hosts = parse_hosts(o.hosts);
    int slots = 0;
    for (const auto& h : hosts) slots += h.slots;
    const int total = o.engines > 0 ? o.engines : slots;
    if (o.worlds == 1) {
      plans.push_back({first_index, total, hosts_text(hosts)});
    } else if (o.worlds == static_cast<int>(hosts.size())) {
      if (o.engines > 0 && o.engines != slots)
        throw_error(errc::bad_option, "-n " + std::to_string(o.engines) + " with --worlds " + std::to_string(o.worlds) +
                                          ": one world per host runs each host's slots (" + std::to_string(slots) +
                                          " in all); leave out -n or change --hosts");
      for (std::size_t i = 0; i < hosts.size(); ++i)
        plans.push_back({first_index + static_cast<int>(i), hosts[i].slots, hosts_text({hosts[i]})});
    } else {
      throw_error(errc::bad_option, "--worlds " + std::to_string(o.worlds) + " with " + std::to_string(hosts.size()) +
                                        " hosts: use --worlds 1 (one world across "
                                        "the hosts) or --worlds " +
                                        std::to_string(hosts.size()) + " (one world per host)");
    }
    return plans;
  }
  const int total = o.engines > 0 ? o.engines : usable_cores();
  check_counts(total, o.worlds);
  for (int i = 0; i < o.worlds; ++i)
    plans.push_back({first_index + i, total / o.worlds + (i < total % o.worlds ? 1 : 0), {}});
  return plans;
}

namespace {

/// Whether a world may still run: a batch job's (its engines run elsewhere) is taken to; a local
/// one's engines (or, if they were not recorded, its mpirun) must be alive.
bool may_run(const WorldState& w) {
  if (w.batch()) return true;
  if (!w.engine_pids.empty())
    return std::any_of(w.engine_pids.begin(), w.engine_pids.end(), [](pid_t p) { return p > 0 && proc::alive(p); });
  return w.pid > 0 && proc::alive(w.pid);
}

/// A cluster whose controller died and that kept its task records: some of its worlds still run,
/// and would reattach to a restored controller.
bool restorable(const ClusterState& previous) {
  const auto& args = previous.controller_args;
  const auto db = std::find(args.begin(), args.end(), "--db-path");
  if (db == args.end() || db + 1 == args.end() || !fs::exists(*(db + 1))) return false;
  return std::any_of(previous.worlds.begin(), previous.worlds.end(), may_run);
}

/// The controller runs again, restored from its task database, and the worlds still running
/// reattach to it with their engine ids and the tasks they hold.
StartResult restore(const ClusterState& previous, const Reporter& reporter, SteadyClock::time_point t0) {
  const fs::path dir = profile_dir(previous.profile);
  reporter.notice("the controller of this cluster (pid " + std::to_string(previous.controller_pid) +
                  ") died; restoring it from its task database, with the worlds still running (`crew cluster "
                  "start --fresh` would start anew)");
  ClusterState state = previous;
  WorldJobs jobs;
  StartGuard guard(dir, jobs);
  guard.keep_connection_files();
  std::vector<std::string> args = previous.controller_args;
  args.push_back("--restore");
  state.controller_pid = start_controller(args, state.controller_log, guard);
  write_state(dir, state);
  guard.commit();

  int expected = 0;
  for (const auto& w : state.worlds)
    if (may_run(w)) expected += w.engines;
  // Each world notices the restored controller at its next heartbeat; one that does not come
  // back within the controller's wait for it is left out.
  const Deadline deadline = deadline_after(15s);
  StartResult result;
  result.restored = true;
  Client client(previous.profile, ClientOptions{5000ms});
  int reported = -1;
  for (;;) {
    result.engines = client.engines();
    std::erase_if(result.engines, [](const EngineInfo& e) { return e.state != "alive"; });
    const int back = static_cast<int>(result.engines.size());
    if (back >= expected || SteadyClock::now() >= deadline) break;
    if (back != reported) reporter.progress(reported = back, expected, seconds_since(t0));
    std::this_thread::sleep_for(50ms);
  }
  result.state = state;
  result.client_url = read_controller(dir).value_or(ControllerFile{}).client_url;
  result.seconds = seconds_since(t0);
  return result;
}

}  // namespace

StartResult start(const StartOptions& o, const Reporter& reporter) {
  const auto t0 = SteadyClock::now();
  const InterruptionScope interruptible;
  const auto plans = plan_worlds(o, 0);
  const fs::path dir = profile_dir(o.profile);
  ensure_profile_dir(dir);
  const LauncherDefinition launcher = checked_launcher(o);
  const std::string ip = controller_ip(o, launcher);
  (void)settings_for(o);

  // One cluster per profile.
  const auto previous = read_state(dir);
  const auto cf = read_controller(dir);
  if (controller_alive(cf) || (previous && proc::alive(previous->controller_pid)))
    throw_error(errc::already_running, "profile '" + o.profile + "' already has a running cluster (controller pid " +
                                           std::to_string(cf ? cf->pid : previous->controller_pid) +
                                           "); stop it with `crew cluster stop" +
                                           (o.profile == "default" ? "" : " --profile " + o.profile) +
                                           "`, add engines with `crew cluster add`, or use another --profile");
  WorldJobs jobs;
  if (previous && !o.fresh && restorable(*previous)) return restore(*previous, reporter, t0);
  if (previous) {
    reporter.notice("cleaning up a cluster that did not stop cleanly");
    std::vector<const WorldState*> old;
    for (const auto& w : previous->worlds) old.push_back(&w);
    (void)jobs.cancel(old);
    terminate({}, previous->all_pids(), 2s);
  }
  remove_state(dir);
  remove_connection_files(dir);
  (void)engine_program();

  StartGuard guard(dir, jobs);
  ClusterState state;
  state.profile = o.profile;
  state.started = iso_now();
  state.controller_log = dir / "log" / "controller.log";
  state.controller_args = controller_arguments(o, ip);
  state.controller_pid = start_controller(state.controller_args, state.controller_log, guard);
  write_state(dir, state);

  launch_worlds(o, launcher, plans, state, guard, reporter);
  throw_if_interrupted();
  auto engines = wait_registered(o, state, 0, planned_engines(plans), t0, reporter, jobs);
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
  const InterruptionScope interruptible;
  const fs::path dir = profile_dir(o.profile);
  auto state = read_state(dir);
  const auto cf = read_controller(dir);
  if (!state || !controller_alive(cf))
    throw_error(errc::not_running, "no cluster is running for profile '" + o.profile +
                                       "'; start one with `crew cluster start" +
                                       (o.profile == "default" ? "" : " --profile " + o.profile) + "`");
  const LauncherDefinition launcher = checked_launcher(o);
  require_reachable_controller(o.profile, launcher, !o.hosts.empty());
  const auto plans = plan_worlds(o, static_cast<int>(state->worlds.size()));
  const int before = static_cast<int>(Client(o.profile, ClientOptions{5000ms}).ids().size());

  WorldJobs jobs;
  StartGuard guard(dir, jobs);
  guard.keep_connection_files();
  const std::size_t first_new = state->worlds.size();
  try {
    launch_worlds(o, launcher, plans, *state, guard, reporter);
    auto engines = wait_registered(o, *state, first_new, before + planned_engines(plans), t0, reporter, jobs);
    record_engine_pids(*state, engines);
  } catch (...) {
    // The guard stops the new worlds; the cluster stays as it was (unless it was stopped meanwhile).
    state->worlds.resize(first_new);
    if (read_state(dir)) write_state(dir, *state);
    throw;
  }
  write_state(dir, *state);
  guard.commit();

  StartResult result;
  result.state = *state;
  result.engines = Client(o.profile, ClientOptions{5000ms}).engines();
  result.client_url = cf->client_url;
  result.seconds = seconds_since(t0);
  return result;
}

namespace {

std::vector<const WorldState*> batch_worlds(const ClusterState& state) {
  std::vector<const WorldState*> batch;
  for (const auto& w : state.worlds)
    if (w.batch()) batch.push_back(&w);
  return batch;
}

/// "slurm job 42: cancelled (CANCELLED)": a job's end for people.
std::string job_end_line(const WorldState& w, const JobStatus& s, const std::string& how) {
  return job_label(w) + ": " + how + " (" + std::string(job_state_name(s.state)) +
         (s.scheduler_state.empty() ? "" : ", " + s.scheduler_state) + ")";
}

/// Batch jobs after the controller told their engines to stop (`before`: their states before
/// that): running ones get a moment to end by themselves (their engines are leaving), pending
/// ones and stragglers are cancelled, and then every job must have left the queue.
void end_batch_jobs(const ClusterState& state, const std::map<std::string, JobStatus>& before,
                    std::chrono::milliseconds grace, bool asked_to_stop, const Reporter& reporter, StopResult& result) {
  std::vector<const WorldState*> live = batch_worlds(state);
  if (live.empty()) return;
  WorldJobs jobs;
  const auto ended = [](const std::map<std::string, JobStatus>& states, const WorldState* w) {
    const auto it = states.find(job_label(*w));
    return it != states.end() && job_ended(it->second.state);
  };
  std::erase_if(live, [&](const WorldState* w) {
    if (!ended(before, w)) return false;
    result.jobs.push_back(job_end_line(*w, before.at(job_label(*w)), "had already ended"));
    return true;
  });
  std::set<const WorldState*> cancelled;
  // Jobs that never started have no engines to leave: cancel them now.
  std::vector<const WorldState*> waiting;
  for (const WorldState* w : live) {
    const auto it = before.find(job_label(*w));
    if (it == before.end() || it->second.state == JobState::pending || it->second.state == JobState::held)
      waiting.push_back(w);
  }
  if (!waiting.empty()) {
    if (const std::string complaint = jobs.cancel(waiting); !complaint.empty())
      reporter.notice("the scheduler answered: " + complaint);
    cancelled.insert(waiting.begin(), waiting.end());
  }
  // Running jobs whose engines were asked to leave end by themselves within a moment.
  const Deadline natural = deadline_after(asked_to_stop ? grace : 0ms);
  std::map<std::string, JobStatus> now = before;
  const auto take_ended = [&] {
    std::erase_if(live, [&](const WorldState* w) {
      if (!ended(now, w)) return false;
      result.jobs.push_back(job_end_line(*w, now[job_label(*w)], cancelled.count(w) ? "cancelled" : "ended"));
      return true;
    });
  };
  while (!live.empty() && SteadyClock::now() < natural) {
    bool any_running = false;
    for (const WorldState* w : live) any_running |= now[job_label(*w)].state == JobState::running;
    if (!any_running) break;
    now = jobs.states(live);
    take_ended();
    if (!live.empty()) std::this_thread::sleep_for(200ms);
  }
  if (live.empty()) return;
  if (const std::string complaint = jobs.cancel(live); !complaint.empty())
    reporter.notice("the scheduler answered: " + complaint);
  cancelled.insert(live.begin(), live.end());
  // Confirm: every cancelled job leaves the queue.
  const auto patience = std::max<std::chrono::milliseconds>(grace, 10s);
  const Deadline deadline = deadline_after(patience);
  for (;;) {
    now = jobs.states(live);
    take_ended();
    if (live.empty()) return;
    if (SteadyClock::now() >= deadline) break;
    std::this_thread::sleep_for(250ms);
  }
  std::string left;
  for (const WorldState* w : live)
    left += (left.empty() ? "" : ", ") + job_label(*w) + " (" + describe(now[job_label(*w)]) + ")";
  throw_error(errc::launcher_failed, "cancelled, but still in the queue after " + seconds_text(patience) + ": " + left +
                                         "; check with the scheduler's own commands");
}

}  // namespace

StopResult stop(const std::string& profile, std::chrono::milliseconds grace, const Reporter& reporter) {
  const auto t0 = SteadyClock::now();
  const fs::path dir = profile_dir(profile);
  const auto state = read_state(dir);
  const auto cf = read_controller(dir);
  if (!state && !controller_alive(cf))
    throw_error(errc::not_running,
                "no cluster is running for profile '" + profile + "' (nothing to stop in " + dir.string() + ")");
  std::vector<pid_t> pids = state ? state->all_pids() : std::vector<pid_t>{};
  if (cf && cf->pid > 0 && std::find(pids.begin(), pids.end(), cf->pid) == pids.end())
    pids.push_back(static_cast<pid_t>(cf->pid));

  // The jobs' states before anything is stopped: which had ended already (walltime, scancel).
  std::map<std::string, JobStatus> before;
  if (state && !batch_worlds(*state).empty()) {
    try {
      before = WorldJobs().states(batch_worlds(*state));
    } catch (const Error& e) {
      reporter.notice(std::string("could not ask for the jobs' states (") + e.what() + "); cancelling them all");
    }
  }
  bool asked = false;
  if (controller_alive(cf)) {
    try {
      Client client(profile, ClientOptions{std::chrono::milliseconds(3000)});
      client.shutdown();
      asked = true;
    } catch (const Error& e) {
      reporter.notice(std::string("the controller did not answer (") + e.what() +
                      "); stopping its processes with signals");
    }
  }
  StopResult result;
  if (state) end_batch_jobs(*state, before, grace, asked, reporter, result);
  const Deadline deadline = deadline_after(grace);
  bool all_gone = true;
  for (pid_t p : pids) all_gone &= proc::wait_gone(p, deadline);
  if (!all_gone) {
    result.forced = true;
    std::vector<pid_t> leaders;
    if (state) {
      leaders.push_back(state->controller_pid);
      for (const auto& w : state->worlds)
        if (w.pid > 0) leaders.push_back(w.pid);
    }
    reporter.notice("some processes did not stop within " + seconds_text(grace) + "; sending SIGTERM, then SIGKILL");
    if (!terminate(leaders, pids, 3s)) {
      std::string left;
      for (pid_t p : pids)
        if (proc::alive(p)) left += " " + std::to_string(p);
      throw_error(errc::launcher_failed, "could not stop process(es)" + left + " even with SIGKILL");
    }
  }
  remove_state(dir);
  if (!controller_alive(read_controller(dir))) remove_connection_files(dir);
  if (fs::exists(dir / "keys")) (void)transport::Keyring(dir).forget_launched_worlds();  // their worlds ended
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
  if (s.state) {
    std::vector<const WorldState*> worlds;
    for (const auto& w : s.state->worlds) worlds.push_back(&w);
    std::map<std::string, JobStatus> jobs;
    try {
      jobs = WorldJobs().states(worlds);
    } catch (const Error& e) {
      s.problem = std::string("cannot ask the launcher about the jobs: ") + e.what();
    }
    for (const WorldState* w : worlds) {
      WorldStatus ws;
      ws.launcher = w->launcher;
      ws.job_id = w->job_id;
      ws.engines = w->engines;
      ws.log = w->log;
      if (auto it = jobs.find(job_label(*w)); it != jobs.end()) ws.job = it->second;
      s.worlds.push_back(std::move(ws));
    }
  }
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
