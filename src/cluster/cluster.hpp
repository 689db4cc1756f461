#pragma once
// `crew cluster start / stop / status / list`: a controller and engine worlds started through a
// launcher, waited for until every engine has registered, and stopped with nothing left behind.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster_state.hpp"
#include "common/profile.hpp"
#include "crew/client.hpp"

namespace crew::cluster {

struct StartOptions {
  std::string profile = "default";
  int engines = 0;  ///< 0: one per usable core
  int worlds = 1;   ///< separate mpirun jobs the engines are split over
  std::string launcher = "local";
  std::vector<std::string> mpirun_args;
  std::vector<std::string> plugins;
  bool oversubscribe_allowed = true;
  std::chrono::milliseconds timeout{60000};  ///< for all engines to register
  std::string ip = "127.0.0.1";
  int heartbeat_ms = 1000;
  std::uint64_t max_message_bytes = 0;  ///< 0: the controller's default
  std::vector<std::string> properties;  ///< "k=v" for every engine (what `require` matches)
  std::string scheme;                   ///< the load balancer's scheme ("": the controller's default)
  int hwm = 0;                          ///< balanced tasks in flight per engine (0: automatic)
};

struct Reporter {
  std::function<void(const std::string&)> notice = [](const std::string&) {};
  std::function<void(int registered, int wanted, double seconds)> progress = [](int, int, double) {};
};

struct StartResult {
  ClusterState state;
  std::vector<EngineInfo> engines;
  std::string client_url;
  double seconds = 0;
};

/// Throws LaunchError (already_running, not_found, failed, engines_not_registered, ...) after
/// stopping whatever it had started; the message carries the launcher's own words (log tail).
StartResult start(const StartOptions& options, const Reporter& reporter);

struct StopResult {
  std::vector<pid_t> stopped;
  bool forced = false;  ///< some processes needed signals
  double seconds = 0;
};

/// Attaches `engines` more engines, in `worlds` new mpirun jobs, to the running cluster of
/// `profile` (LaunchError [crew.launch.not_running] if there is none). A failure stops only the
/// new worlds.
StartResult add(const StartOptions& options, const Reporter& reporter);

/// Asks the controller to stop its worlds, waits for every process the cluster started, and
/// signals the ones that do not go. Throws LaunchError [crew.launch.not_running] if there is none.
StopResult stop(const std::string& profile, std::chrono::milliseconds grace, const Reporter& reporter);

struct Status {
  std::string profile;
  std::filesystem::path dir;
  bool running = false;
  std::optional<ClusterState> state;
  std::optional<ControllerFile> controller;
  std::vector<EngineInfo> engines;
  Value stats;
  std::string problem;  ///< why a running-looking cluster could not be queried
};

Status status(const std::string& profile, std::chrono::milliseconds timeout);
/// Every profile under $CREW_HOME.
std::vector<Status> list(std::chrono::milliseconds timeout);

}  // namespace crew::cluster
