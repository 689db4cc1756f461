#pragma once
// `crew cluster start / add / stop / status / list`: a controller and engine worlds started
// through a launcher (launchers/*.toml: local, ssh, slurm, pbs, sge, lsf, or a site's own),
// waited for until every engine has registered, and stopped with nothing left behind: processes
// ended, batch jobs cancelled and gone from the queue.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster_state.hpp"
#include "cluster/job_state.hpp"
#include "cluster/world_launch.hpp"
#include "common/profile.hpp"
#include "crew/client.hpp"

namespace crew::cluster {

struct StartOptions {
  std::string profile = "default";
  int engines = 0;  ///< 0: one per usable core (local), or per --hosts slot (ssh)
  int worlds = 1;   ///< separate MPI jobs the engines are split over
  std::string launcher = "local";
  LaunchSettings launch;  ///< what each world's job script is rendered with (its profile is set from `profile`)
  std::string hosts;      ///< ssh: nodeA:2,nodeB:2
  std::chrono::milliseconds timeout{60000};  ///< for all engines to register (batch: from when their job runs)
  std::string ip;                            ///< "": 127.0.0.1 for the local launcher, "auto" for the others
  std::string interface;                     ///< bind to this interface's address
  int heartbeat_ms = 1000;
  std::uint64_t max_message_bytes = 0;  ///< 0: the controller's default
  std::string scheme;                   ///< the load balancer's scheme ("": the controller's default)
  int hwm = 0;                          ///< balanced tasks in flight per engine (0: automatic)
  int drain_margin_s = 60;              ///< no new balanced tasks for a world this near its job's end
  std::vector<std::string> db_args;     ///< the controller's --db and --result-store options
  /// Start anew even if the profile's cluster could be restored (its controller died, it kept
  /// task records and worlds still run): its worlds are stopped first.
  bool fresh = false;
  std::string curve;  ///< "on", "off", or "": the controller decides (on beyond loopback)
};

struct Reporter {
  std::function<void(const std::string&)> notice = [](const std::string&) {};
  std::function<void(int registered, int wanted, double seconds)> progress = [](int, int, double) {};
};

/// The worlds `start` or `add` would launch: N engines in W worlds, sizes differing by at most
/// one (the first worlds larger); for ssh, --hosts decides. Throws InputError on bad counts.
std::vector<WorldPlan> plan_worlds(const StartOptions& options, int first_index);

/// Refuses (InputError [crew.input.bad_option], naming --ip) a batch or remote launcher for a
/// cluster whose controller listens on loopback only.
void require_reachable_controller(const std::string& profile, const LauncherDefinition& launcher, bool remote_hosts);

struct StartResult {
  bool restored = false;  ///< the controller that died was restored and its worlds came back
  ClusterState state;
  std::vector<EngineInfo> engines;
  std::string client_url;
  double seconds = 0;
};

/// Throws LaunchError (already_running, not_found, failed, engines_not_registered, ...) after
/// stopping whatever it had started; the message carries the launcher's own words (log tail).
/// If the profile's controller died while its worlds still run, and it kept task records, it is
/// restored instead (unless options.fresh), and the worlds reattach.
StartResult start(const StartOptions& options, const Reporter& reporter);

struct StopResult {
  std::vector<pid_t> stopped;
  std::vector<std::string> jobs;  ///< "slurm job 42: cancelled" / "...: had ended (TIMEOUT)"
  bool forced = false;            ///< some processes needed signals
  double seconds = 0;
};

/// Attaches `engines` more engines, in `worlds` new mpirun jobs, to the running cluster of
/// `profile` (LaunchError [crew.launch.not_running] if there is none). A failure stops only the
/// new worlds.
StartResult add(const StartOptions& options, const Reporter& reporter);

/// Asks the controller to stop its worlds, waits for every process the cluster started, and
/// signals the ones that do not go. Throws LaunchError [crew.launch.not_running] if there is none.
StopResult stop(const std::string& profile, std::chrono::milliseconds grace, const Reporter& reporter);

/// One world as its launcher sees it.
struct WorldStatus {
  std::string launcher;
  std::string job_id;
  int engines = 0;
  JobStatus job;  ///< the scheduler's word (batch), or running/done (process)
  std::filesystem::path log;
};

struct Status {
  std::string profile;
  std::filesystem::path dir;
  bool running = false;
  std::optional<ClusterState> state;
  std::optional<ControllerFile> controller;
  std::vector<EngineInfo> engines;
  std::vector<WorldStatus> worlds;  ///< from cluster.json, with their jobs' states
  Value stats;
  std::string problem;  ///< why a running-looking cluster could not be queried
};

Status status(const std::string& profile, std::chrono::milliseconds timeout);
/// Every profile under $CREW_HOME.
std::vector<Status> list(std::chrono::milliseconds timeout);

}  // namespace crew::cluster
