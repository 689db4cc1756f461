// cluster.json.
#include "cluster/cluster_state.hpp"

#include "common/profile.hpp"

namespace crew::cluster {

std::vector<pid_t> ClusterState::all_pids() const {
  std::vector<pid_t> out;
  if (controller_pid > 0) out.push_back(controller_pid);
  for (const auto& w : worlds) {
    if (w.pid > 0) out.push_back(w.pid);
    out.insert(out.end(), w.engine_pids.begin(), w.engine_pids.end());
  }
  return out;
}

std::optional<ClusterState> read_state(const std::filesystem::path& profile_dir) {
  const auto file = profile_dir / state_file_name;
  if (!std::filesystem::exists(file)) return std::nullopt;
  nlohmann::json j;
  try {
    j = read_json_file(file);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  ClusterState s;
  s.profile = j.value("profile", "");
  s.started = j.value("started", "");
  s.controller_pid = j.value("controller_pid", 0);
  s.controller_log = j.value("controller_log", "");
  s.controller_args = j.value("controller_args", std::vector<std::string>{});
  for (const auto& w : j.value("worlds", nlohmann::json::array())) {
    WorldState ws;
    ws.launcher = w.value("launcher", "local");
    ws.pid = w.value("pid", 0);
    ws.job_id = w.value("job_id", "");
    ws.script = w.value("script", "");
    ws.engines = w.value("engines", 0);
    ws.log = w.value("log", "");
    ws.command = w.value("command", std::vector<std::string>{});
    ws.engine_pids = w.value("engine_pids", std::vector<pid_t>{});
    s.worlds.push_back(std::move(ws));
  }
  return s;
}

void write_state(const std::filesystem::path& profile_dir, const ClusterState& s) {
  nlohmann::json worlds = nlohmann::json::array();
  for (const auto& w : s.worlds)
    worlds.push_back({{"launcher", w.launcher},
                      {"pid", w.pid},
                      {"job_id", w.job_id},
                      {"script", w.script.string()},
                      {"engines", w.engines},
                      {"log", w.log.string()},
                      {"command", w.command},
                      {"engine_pids", w.engine_pids}});
  write_private_json(profile_dir / state_file_name, {{"profile", s.profile},
                                                     {"started", s.started},
                                                     {"controller_pid", s.controller_pid},
                                                     {"controller_log", s.controller_log.string()},
                                                     {"controller_args", s.controller_args},
                                                     {"worlds", worlds}});
}

void remove_state(const std::filesystem::path& profile_dir) {
  std::error_code ec;
  std::filesystem::remove(profile_dir / state_file_name, ec);
}

}  // namespace crew::cluster
