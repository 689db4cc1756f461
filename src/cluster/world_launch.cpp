// One world: its template's values, its script, and its start.
#include "cluster/world_launch.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "cluster/batch_jobs.hpp"
#include "cluster/launcher_catalog.hpp"
#include "cluster/local_launcher.hpp"
#include "common/process.hpp"
#include "common/profile.hpp"
#include "crew/error.hpp"
#include "transport/keyring.hpp"

namespace crew::cluster {
namespace {

namespace fs = std::filesystem;

/// What crew adds to the environment of the engines it starts: glibc marks all their heap for
/// transparent huge pages (common/memory.hpp: page faults are the cost of a growing heap), added
/// to any tunables already set.
std::string glibc_tunables() {
  std::string tunables = "glibc.malloc.hugetlb=1";
  if (const char* set = std::getenv("GLIBC_TUNABLES"); set != nullptr && *set != '\0') {
    if (std::string(set).find("glibc.malloc.hugetlb") != std::string::npos) return set;  // the user's choice
    tunables = std::string(set) + ":" + tunables;
  }
  return tunables;
}

ConnectionMode connection_mode(const LauncherDefinition& d, const LaunchSettings& s) {
  ConnectionMode mode = d.connection;
  if (s.connection == "profile")
    mode = ConnectionMode::profile;
  else if (s.connection == "embed")
    mode = ConnectionMode::embed;
  else if (s.connection == "auto")
    mode = ConnectionMode::automatic;
  else if (!s.connection.empty())
    throw_error(errc::bad_option, "--connection " + s.connection +
                                      ": use auto, profile (engines read the profile directory) or embed "
                                      "(the job script carries the connection file)");
  if (mode == ConnectionMode::automatic)
    mode = on_network_file_system(profile_dir(s.profile)) ? ConnectionMode::profile : ConnectionMode::embed;
  return mode;
}

/// With CURVE, world `index` gets a key pair of its own, admitted as world-<index> (`crew keys
/// revoke world-2` shuts out that world alone): its connection file is the profile's engine.json
/// with that pair, written to worlds/ (or embedded). Without, the profile's engine.json as it is.
std::pair<fs::path, nlohmann::json> world_connection(const LaunchSettings& s, int index) {
  const fs::path dir = profile_dir(s.profile);
  const fs::path file = dir / engine_file_name;
  if (!fs::exists(file)) return {file, nullptr};
  nlohmann::json j = read_json_file(file);
  if (!j.contains("curve") || !s.own_world_keys) return {file, j};
  const std::string name = "world-" + std::to_string(index);
  const auto pair = transport::Keyring(dir).issue(name, transport::KeyRole::world, true);
  j["curve"]["public_key"] = pair.public_key;
  j["curve"]["secret_key"] = pair.secret_key;
  std::error_code ec;
  fs::create_directories(dir / "worlds", ec);
  ::chmod((dir / "worlds").c_str(), 0700);
  const fs::path own = dir / "worlds" / (name + ".json");
  write_private_json(own, j);
  return {own, j};
}

std::string engine_command(const LauncherDefinition& d, const LaunchSettings& s, int world) {
  const bool embed = connection_mode(d, s) == ConnectionMode::embed;
  const auto [file, json] = world_connection(s, world);
  std::string connection;
  if (embed) {
    if (json.is_null())
      throw_error(errc::not_running, "no controller is running for profile '" + s.profile + "' (no " + file.string() +
                                         "); start one with `crew cluster start`");
    connection = json.dump();
  }
  std::string cmd = shell_quote(engine_program().string()) + " --profile " + shell_quote(s.profile) + " --file " +
                    (embed ? std::string("-") : shell_quote(file.string()));
  for (const auto& p : s.plugins) cmd += " --plugin " + shell_quote(p);
  for (const auto& p : s.properties) cmd += " --property " + shell_quote(p);
  // Embedded: rank 0 reads the connection file on its standard input, which mpirun forwards to
  // it wherever it runs; the key is never on a command line, in the environment or on a disk of
  // the compute nodes.
  if (embed) cmd += " <<'CREW_CONNECTION'\n" + connection + "\nCREW_CONNECTION";
  return cmd;
}

std::string words(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + shell_quote(a);
  return out;
}

}  // namespace

std::vector<HostSlots> parse_hosts(const std::string& text) {
  std::vector<HostSlots> hosts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto colon = item.find(':');
    HostSlots h;
    h.host = item.substr(0, colon);
    if (h.host.empty())
      throw_error(errc::bad_option, "--hosts " + text + ": an empty host name; write nodeA:2,nodeB:2");
    if (colon != std::string::npos) {
      const std::string n = item.substr(colon + 1);
      if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || std::stoi(n) < 1)
        throw_error(errc::bad_option,
                    "--hosts " + text + ": '" + item + "' needs a slot count of at least 1, e.g. " + h.host + ":2");
      h.slots = std::stoi(n);
    }
    hosts.push_back(h);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return hosts;
}

std::string hosts_text(const std::vector<HostSlots>& hosts) {
  std::string out;
  for (const auto& h : hosts) out += (out.empty() ? "" : ",") + h.host + ":" + std::to_string(h.slots);
  return out;
}

TemplateValues world_values(const LauncherDefinition& d, const LaunchSettings& s, const WorldPlan& w,
                            const std::function<void(const std::string&)>& notice) {
  TemplateValues v;
  for (const auto& [name, value] : d.defaults) v.set(name, value);
  const fs::path dir = profile_dir(s.profile);
  v.set("launcher", d.name);
  v.set("profile", s.profile);
  v.set("world", std::to_string(w.index));
  v.set("job_name", "crew-" + s.profile + "-" + std::to_string(w.index));
  v.set("ranks", std::to_string(w.ranks));
  // Nodes and ranks per node go together: either one gives the other.
  int nodes = s.nodes, per_node = s.ranks_per_node;
  if (nodes > 0 && per_node == 0) per_node = (w.ranks + nodes - 1) / nodes;
  if (per_node > 0 && nodes == 0) nodes = (w.ranks + per_node - 1) / per_node;
  if (nodes > 0) v.set("nodes", std::to_string(nodes));
  if (per_node > 0) v.set("ranks_per_node", std::to_string(per_node));
  v.set("queue", s.queue);
  v.set("account", s.account);
  long walltime = 0;
  if (!s.walltime.empty()) {
    walltime = parse_walltime(s.walltime);
    v.set("walltime", format_walltime(walltime, d.walltime_format));
    v.set("walltime_seconds", std::to_string(walltime));
  }
  if (s.output != "-")
    v.set("output",
          s.output.empty() ? (dir / "log" / ("world-" + std::to_string(w.index) + ".log")).string() : s.output);
  v.set("workdir", (s.workdir.empty() ? fs::current_path() : s.workdir).string());
  v.set("hosts", w.hosts);
  v.lists["job_options"] = s.job_options;
  v.lists["prologue"] = s.prologue;

  std::vector<std::string> env{"CREW_LAUNCHER=" + shell_quote(d.name)};
  env.push_back(d.env_job_id.empty() ? "CREW_JOB_ID=$$" : "CREW_JOB_ID=\"${" + d.env_job_id + "}\"");
  const std::string computed_end = walltime > 0 ? "$(( $(date +%s) + " + std::to_string(walltime) + " ))" : "";
  if (!d.env_end_time.empty())
    env.push_back("CREW_JOB_END_TIME=\"${" + d.env_end_time + ":-" + computed_end + "}\"");
  else if (walltime > 0)
    env.push_back("CREW_JOB_END_TIME=" + computed_end);
  env.push_back("GLIBC_TUNABLES=" + shell_quote(glibc_tunables()));
  v.lists["environment"] = env;

  LocalLaunch launch;
  launch.engines = w.ranks;
  launch.mpirun_args = s.mpirun_args;
  // Only where mpirun places ranks on this host by itself may it need --oversubscribe; a
  // scheduler or --hosts gives it its slots.
  launch.oversubscribe_allowed = s.oversubscribe_allowed && d.kind == LauncherKind::process && w.hosts.empty();
  std::vector<std::string> mpirun = mpirun_prefix(launch, notice);
  // Ranks on other hosts get only the variables mpirun is told to pass on (Open MPI's -x).
  for (const auto& assignment : env) {
    mpirun.insert(mpirun.begin() + 1, assignment.substr(0, assignment.find('=')));
    mpirun.insert(mpirun.begin() + 1, "-x");
  }
  v.set("mpirun", words(mpirun));
  v.set("engine_command", engine_command(d, s, w.index));

  for (const auto& a : s.assignments) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      throw_error(errc::bad_option, "--set " + a + ": write NAME=VALUE, e.g. --set queue=short");
    const std::string name = a.substr(0, eq);
    bool known = false;
    for (const auto& [n, meaning] : template_variables()) known |= n == name;
    if (!known)
      throw_error(errc::bad_option, "--set " + a + ": '" + name +
                                        "' is not a template variable; `crew jobscript --variables` lists them");
    v.scalars.erase(name);
    v.set(name, a.substr(eq + 1));
  }
  return v;
}

std::string render_world_script(const LauncherDefinition& d, const LaunchSettings& s, const WorldPlan& w,
                                const std::function<void(const std::string&)>& notice) {
  const fs::path file = find_template(s.template_file.empty() ? d.template_name : s.template_file, s.profile);
  return render_template_file(file, world_values(d, s, w, notice));
}

WorldState launch_world(const LauncherDefinition& d, const LaunchSettings& s, const WorldPlan& w,
                        const std::function<void(const std::string&)>& notice) {
  const fs::path dir = profile_dir(s.profile);
  WorldState world;
  world.launcher = d.name;
  world.engines = w.ranks;
  world.log = s.output.empty() ? dir / "log" / ("world-" + std::to_string(w.index) + ".log") : fs::path(s.output);
  world.script = dir / "jobs" / ("world-" + std::to_string(w.index) + ".sh");
  const std::string text = render_world_script(d, s, w, notice);

  std::error_code ec;
  fs::create_directories(world.script.parent_path(), ec);
  ::chmod(world.script.parent_path().c_str(), 0700);
  fs::remove(world.log, ec);
  {
    // The script may carry the cluster's key: only its owner may read it.
    fs::remove(world.script, ec);
    const int fd = ::open(world.script.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    if (fd < 0) throw_error(errc::launcher_failed, "cannot write " + world.script.string());
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok) throw_error(errc::launcher_failed, "cannot write " + world.script.string());
  }

  if (d.kind == LauncherKind::process) {
    proc::SpawnOptions spawn;
    spawn.argv =
        expand(d.submit.empty() ? CommandTemplate{"/bin/bash", "{script}"} : d.submit, d, world.script.string(), {});
    spawn.log = world.log;
    world.command = spawn.argv;
    world.pid = proc::spawn(spawn);
    world.job_id = std::to_string(world.pid);
  } else {
    world.command = expand(d.submit, d, world.script.string(), {}, world.log.string());
    world.job_id = submit_job(d, world.script, world.log);
  }
  return world;
}

bool on_network_file_system(const fs::path& dir) {
  struct statfs st {};
  if (::statfs(dir.c_str(), &st) != 0) return false;
  switch (static_cast<unsigned long>(st.f_type)) {
  case 0x6969:      // NFS
  case 0x0BD00BD0:  // Lustre
  case 0x47504653:  // GPFS
  case 0x19830326:  // BeeGFS
  case 0x00C36400:  // CephFS
  case 0xFF534D42:  // CIFS
  case 0xFE534D42:  // SMB2
  case 0x5346414F:  // AFS
  case 0xAAD7AAEA:  // PanFS
  case 0x20030528:  // OrangeFS / PVFS2
  case 0x01161970:  // GFS2
  case 0x7461636F:  // OCFS2
    return true;
  default: return false;
  }
}

}  // namespace crew::cluster
