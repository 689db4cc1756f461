#pragma once
// Launching one world through a launcher: the job script rendered from its template, then run
// as a process (local, ssh) or submitted to a batch scheduler (slurm, pbs, sge, lsf).

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cluster/cluster_state.hpp"
#include "cluster/job_template.hpp"
#include "cluster/launcher_definition.hpp"

namespace crew::cluster {

/// One host of --hosts (ssh): "nodeA:2" is nodeA with 2 slots.
struct HostSlots {
  std::string host;
  int slots = 1;
};
/// "nodeA:2,nodeB" (a host without a count has 1 slot). Throws InputError [crew.input.bad_option].
std::vector<HostSlots> parse_hosts(const std::string& text);
/// "nodeA:2,nodeB:1", as mpirun's --host reads it.
std::string hosts_text(const std::vector<HostSlots>& hosts);

/// What every world of one `cluster start` / `cluster add` / `jobscript` is launched with.
struct LaunchSettings {
  std::string profile = "default";
  std::vector<std::string> mpirun_args;
  std::vector<std::string> plugins;
  std::vector<std::string> properties;  ///< "k=v" for crew-engine --property
  bool oversubscribe_allowed = true;
  std::string queue;
  std::string account;
  std::string walltime;  ///< as given: H:MM:SS, D-H:MM:SS or minutes
  int nodes = 0;
  int ranks_per_node = 0;
  std::vector<std::string> job_options;  ///< extra directive lines
  std::vector<std::string> prologue;     ///< lines run before mpirun, e.g. module load
  std::vector<std::string> assignments;  ///< --set NAME=VALUE for template variables
  std::string template_file;             ///< --template: overrides the launcher's
  std::string connection;                ///< --connection: auto, profile or embed ("": the launcher's)
  /// With CURVE, each world gets a key pair of its own (cluster start and add); else (a job
  /// script printed for submission by hand) the profile's world pair in engine.json.
  bool own_world_keys = false;
  std::filesystem::path workdir;  ///< where jobs run (default: the current directory)
  std::string output;  ///< the job's output file ("": the profile's log/world-<i>.log; "-": the scheduler's default)
};

/// One world to launch.
struct WorldPlan {
  int index = 0;  ///< its number among this cluster's worlds
  int ranks = 1;
  std::string hosts;  ///< ssh: mpirun --host for this world
};

/// Everything a template can use, for one world. `notice` hears about adjustments (oversubscribe,
/// run as root) once each.
TemplateValues world_values(const LauncherDefinition& d, const LaunchSettings& s, const WorldPlan& w,
                            const std::function<void(const std::string&)>& notice);

/// The job script of one world.
std::string render_world_script(const LauncherDefinition& d, const LaunchSettings& s, const WorldPlan& w,
                                const std::function<void(const std::string&)>& notice);

/// Renders the script into <profile>/jobs/world-<i>.sh (mode 0600) and starts or submits it.
/// Throws LaunchError (bad_template, job_rejected, not_found, ...).
WorldState launch_world(const LauncherDefinition& d, const LaunchSettings& s, const WorldPlan& w,
                        const std::function<void(const std::string&)>& notice);

/// True if `dir` is on a network file system (NFS, Lustre, GPFS, BeeGFS, CephFS, ...), which
/// compute nodes usually share with the login node.
bool on_network_file_system(const std::filesystem::path& dir);

}  // namespace crew::cluster
