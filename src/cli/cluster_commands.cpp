// `crew cluster start / stop / status / list` and `crew controller`.
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cli/output.hpp"
#include "cli/verbs.hpp"
#include "cluster/cluster.hpp"
#include "cluster/local_launcher.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/properties.hpp"
#include "common/targets.hpp"
#include "controller/controller.hpp"
#include "crew/json.hpp"

namespace crew::cli {
namespace {

std::string profile_flag(const Common& c) { return c.profile == "default" ? "" : " --profile " + c.profile; }

cluster::Reporter reporter(const Common& c) {
  cluster::Reporter r;
  const bool tty = ::isatty(2) != 0;
  r.notice = [](const std::string& line) { std::cerr << "crew: " << line << std::endl; };
  r.progress = [tty, c](int registered, int wanted, double seconds) {
    if (c.json) return;
    std::cerr << (tty ? "\r" : "") << "crew: " << registered << "/" << wanted << " engines registered ("
              << seconds_text(seconds) << ")" << (tty && registered < wanted ? "" : "\n") << std::flush;
  };
  return r;
}

}  // namespace

namespace {

controller::Scheme scheme_or_throw(const std::string& name) {
  if (auto s = controller::scheme_from_name(name)) return *s;
  throw InputError(errc::bad_option,
                   "--scheme " + name + ": no such load-balancing scheme; choose one of " + controller::scheme_names());
}

cluster::StartOptions start_options(const Common& c, const StartArgs& a) {
  cluster::StartOptions o;
  o.profile = c.profile;
  o.engines = a.engines < 0 ? cluster::usable_cores() : a.engines;
  o.launcher = a.launcher;
  o.mpirun_args = cluster::split_words(a.mpirun_args);
  o.plugins = a.plugins;
  o.oversubscribe_allowed = !a.no_oversubscribe;
  o.timeout = std::chrono::milliseconds(static_cast<long>(a.wait_s * 1000));
  o.ip = a.ip;
  o.heartbeat_ms = a.heartbeat_ms;
  o.worlds = a.worlds;
  o.max_message_bytes = a.max_message_bytes;
  o.properties = a.properties;
  (void)parse_properties(a.properties);  // a clear error before anything starts
  o.scheme = a.scheme;
  if (!a.scheme.empty()) (void)scheme_or_throw(a.scheme);
  o.hwm = a.hwm;
  if (a.engines == 0 || a.engines < -1)
    throw InputError(errc::bad_option, "-n " + std::to_string(a.engines) +
                                           ": a cluster needs at least 1 engine (mpirun itself would read -n 0 as "
                                           "'one per core')");
  return o;
}

std::string world_pids(const cluster::ClusterState& state, std::size_t from = 0) {
  std::string out;
  for (std::size_t i = from; i < state.worlds.size(); ++i)
    out += (out.empty() ? "" : ", ") + std::to_string(state.worlds[i].pid);
  return out;
}

}  // namespace

int cluster_add(const Common& c, const StartArgs& a) {
  if (a.engines < 1) throw InputError(errc::bad_option, "cluster add needs -n K (K >= 1): how many engines to add");
  const auto before = cluster::status(c.profile, std::chrono::milliseconds(5000)).state;
  const auto r = cluster::add(start_options(c, a), reporter(c));
  const std::size_t first_new = before ? before->worlds.size() : 0;
  std::vector<int> added;
  for (const auto& e : r.engines)
    for (std::size_t i = first_new; i < r.state.worlds.size(); ++i)
      for (pid_t p : r.state.worlds[i].engine_pids)
        if (p == e.pid) added.push_back(e.id);
  std::sort(added.begin(), added.end());
  if (c.json) {
    std::cout << nlohmann::json{{"profile", c.profile},
                                {"added", added},
                                {"engines", r.engines.size()},
                                {"seconds", r.seconds}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "added " << added.size() << " engine" << (added.size() == 1 ? "" : "s") << " ("
              << format_id_ranges(added) << ", mpirun pid " << world_pids(r.state, first_new) << ") to cluster '"
              << c.profile << "' in " << seconds_text(r.seconds, 2) << ": " << r.engines.size() << " engines in "
              << r.state.worlds.size() << " worlds" << std::endl;
  }
  return exit_ok;
}

int cluster_start(const Common& c, const StartArgs& a) {
  const auto r = cluster::start(start_options(c, a), reporter(c));
  if (c.json) {
    auto engines = nlohmann::json::array();
    for (const auto& e : r.engines) engines.push_back(e.id);
    std::cout << nlohmann::json{{"profile", c.profile},
                                {"controller_pid", r.state.controller_pid},
                                {"client_url", r.client_url},
                                {"engines", engines},
                                {"launcher_pid", r.state.worlds.front().pid},
                                {"worlds", r.state.worlds.size()},
                                {"seconds", r.seconds}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "cluster '" << c.profile << "' started in " << seconds_text(r.seconds, 2) << ": " << r.engines.size()
              << " engine" << (r.engines.size() == 1 ? "" : "s")
              << (r.state.worlds.size() > 1 ? " in " + std::to_string(r.state.worlds.size()) + " worlds" : "")
              << " (mpirun pid " << world_pids(r.state) << "), controller pid " << r.state.controller_pid << " at "
              << r.client_url << std::endl
              << "  stop it with: crew cluster stop" << profile_flag(c) << std::endl;
  }
  return exit_ok;
}

int cluster_stop(const Common& c, double grace_s) {
  const auto r = cluster::stop(c.profile, std::chrono::milliseconds(static_cast<long>(grace_s * 1000)), reporter(c));
  if (c.json) {
    std::cout << nlohmann::json{{"profile", c.profile},
                                {"stopped", r.stopped},
                                {"forced", r.forced},
                                {"seconds", r.seconds}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "cluster '" << c.profile << "' stopped in " << seconds_text(r.seconds, 2) << ": " << r.stopped.size()
              << " process" << (r.stopped.size() == 1 ? "" : "es") << " ended" << (r.forced ? " (some by signal)" : "")
              << ", none left" << std::endl;
  }
  return exit_ok;
}

namespace {

nlohmann::json status_json(const cluster::Status& s) {
  nlohmann::json j{{"profile", s.profile}, {"dir", s.dir.string()}, {"running", s.running}};
  if (s.controller) j["controller"] = {{"pid", s.controller->pid}, {"client_url", s.controller->client_url}};
  auto engines = nlohmann::json::array();
  for (const auto& e : s.engines)
    engines.push_back({{"id", e.id}, {"world", e.world}, {"state", e.state}, {"pid", e.pid}, {"host", e.host}});
  j["engines"] = engines;
  if (!s.stats.is_null()) j["stats"] = to_json(s.stats);
  if (!s.problem.empty()) j["problem"] = s.problem;
  return j;
}

std::string engine_summary(const cluster::Status& s) {
  int alive = 0;
  for (const auto& e : s.engines) alive += e.state == "alive" ? 1 : 0;
  std::string text = std::to_string(alive) + " alive";
  if (static_cast<std::size_t>(alive) != s.engines.size()) text += " of " + std::to_string(s.engines.size());
  return text;
}

}  // namespace

int cluster_status(const Common& c) {
  const auto s = cluster::status(c.profile, std::chrono::milliseconds(static_cast<long>(c.timeout_s * 1000)));
  if (c.json) {
    std::cout << status_json(s).dump() << std::endl;
    return s.running ? exit_ok : exit_not_running;
  }
  std::cout << "profile:    " << s.profile << " (" << s.dir.string() << ")" << std::endl;
  if (!s.running) {
    std::cout << "controller: not running" << std::endl;
    if (!s.problem.empty()) std::cout << "note:       " << s.problem << std::endl;
    return exit_not_running;
  }
  std::cout << "controller: pid " << s.controller->pid << ", clients at " << s.controller->client_url << std::endl;
  if (!s.problem.empty()) {
    std::cout << "problem:    " << s.problem << std::endl;
    return exit_failure;
  }
  std::cout << "engines:    " << engine_summary(s) << std::endl;
  if (s.state)
    for (std::size_t w = 0; w < s.state->worlds.size(); ++w)
      std::cout << "world " << w << ":    " << s.state->worlds[w].launcher << " launcher, "
                << s.state->worlds[w].engines << " ranks, pid " << s.state->worlds[w].pid << ", log "
                << s.state->worlds[w].log.string() << std::endl;
  if (s.stats.is_dict())
    std::cout << "tasks:      " << s.stats["tasks_submitted"].as_int() << " submitted, "
              << s.stats["tasks_completed"].as_int() << " completed, " << s.stats["tasks_failed"].as_int() << " failed"
              << std::endl;
  return exit_ok;
}

int cluster_list(const Common& c) {
  const auto all = cluster::list(std::chrono::milliseconds(static_cast<long>(c.timeout_s * 1000)));
  if (c.json) {
    auto out = nlohmann::json::array();
    for (const auto& s : all) out.push_back(status_json(s));
    std::cout << out.dump() << std::endl;
    return exit_ok;
  }
  if (all.empty()) {
    std::cout << "no profiles in " << crew_home().string() << std::endl;
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : all)
    rows.push_back({s.profile, s.running ? "running" : "stopped", s.running ? engine_summary(s) : "-",
                    s.controller && s.running ? s.controller->client_url : "-"});
  print_table(std::cout, {"PROFILE", "STATE", "ENGINES", "CONTROLLER"}, rows);
  return exit_ok;
}

int controller(const Common& c, const ControllerArgs& a) {
  logging::init("controller", {}, a.log_level);
  controller::ControllerConfig cfg;
  cfg.profile = c.profile;
  cfg.ip = a.ip;
  cfg.client_port = a.client_port;
  cfg.engine_port = a.engine_port;
  cfg.heartbeat_ms = a.heartbeat_ms;
  cfg.ready_fd = a.ready_fd;
  if (a.max_message_bytes > 0) cfg.max_message_bytes = a.max_message_bytes;
  cfg.scheme = scheme_or_throw(a.scheme);
  cfg.hwm = a.hwm;
  controller::Controller(cfg).run();
  return exit_ok;
}

}  // namespace crew::cli
