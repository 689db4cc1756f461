// `crew cluster start / stop / status / list` and `crew controller`.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <optional>

#include "cli/output.hpp"
#include "cli/remote_cluster.hpp"
#include "cli/verbs.hpp"
#include "cluster/batch_jobs.hpp"
#include "cluster/cluster.hpp"
#include "cluster/launcher_catalog.hpp"
#include "cluster/local_launcher.hpp"
#include "cluster/world_launch.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/network.hpp"
#include "common/targets.hpp"
#include "controller/controller.hpp"
#include "controller/task_store.hpp"
#include "values/json.hpp"
#include "values/properties.hpp"

namespace crew::cli {
namespace {

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
  throw_error(errc::bad_option,
              "--scheme " + name + ": no such load-balancing scheme; choose one of " + controller::scheme_names());
}

cluster::LaunchSettings launch_settings(const Common& c, const StartArgs& a) {
  cluster::LaunchSettings s;
  s.profile = c.profile;
  s.mpirun_args = cluster::split_words(a.mpirun_args);
  s.plugins = a.plugins;
  s.properties = a.properties;
  (void)parse_properties(a.properties);  // a clear error before anything starts
  s.oversubscribe_allowed = !a.no_oversubscribe;
  s.queue = a.queue;
  s.account = a.account;
  s.walltime = a.walltime;
  s.nodes = a.nodes;
  s.ranks_per_node = a.ranks_per_node;
  s.job_options = a.job_options;
  s.prologue = a.prologue;
  s.assignments = a.assignments;
  s.template_file = a.template_file;
  s.connection = a.connection;
  if (!a.workdir.empty()) s.workdir = std::filesystem::absolute(a.workdir);
  s.output = a.output;
  return s;
}

/// The task database's file, if the records go to one (--db sqlite, or a --db-path).
std::optional<std::filesystem::path> db_file(const Common& c, const DbArgs& d) {
  if (d.db == "memory" && !d.path.empty())
    throw_error(errc::bad_option, "--db-path " + d.path +
                                      " names a task database, but --db memory keeps none: drop --db memory (a "
                                      "--db-path means --db sqlite)");
  if (d.db != "sqlite" && d.path.empty()) return std::nullopt;
  if (d.path.empty()) return controller::store::default_file(c.profile);
  const std::filesystem::path file = std::filesystem::absolute(d.path);
  if (!std::filesystem::is_directory(file.parent_path()))
    throw_error(errc::bad_option, "--db-path " + d.path + ": there is no directory " + file.parent_path().string() +
                                      " to keep it in; make it, or name a file in another one");
  return file;
}

/// The controller's --db options, as `crew controller` takes them (the file made absolute).
std::vector<std::string> db_arguments(const Common& c, const DbArgs& d) {
  std::vector<std::string> args;
  if (d.result_store_bytes > 0) args = {"--result-store", std::to_string(d.result_store_bytes)};
  if (d.max_records > 0) args.insert(args.end(), {"--max-records", std::to_string(d.max_records)});
  const auto file = db_file(c, d);
  if (!file) return args;
  args.insert(args.end(), {"--db-path", file->string(), "--db-sync", d.sync});
  if (d.max_result_bytes > 0) {
    args.push_back("--db-max-result");
    args.push_back(std::to_string(d.max_result_bytes));
  }
  if (d.orphan_timeout_s > 0) {
    args.push_back("--orphan-timeout");
    args.push_back(std::to_string(d.orphan_timeout_s));
  }
  return args;
}

/// --curve / --no-curve: "on", "off", or "" (the controller decides by its address).
std::string curve_choice(bool on, bool off) {
  if (on && off)
    throw_error(errc::bad_option, "--curve and --no-curve: give one of them (or neither: CURVE is on "
                                  "whenever the controller listens beyond loopback)");
  return on ? "on" : off ? "off" : "";
}

cluster::StartOptions start_options(const Common& c, const StartArgs& a) {
  if (a.engines == 0 || a.engines < -1)
    throw_error(errc::bad_option, "-n " + std::to_string(a.engines) +
                                      ": a cluster needs at least 1 engine (mpirun itself would read -n 0 as "
                                      "'one per core')");
  cluster::StartOptions o;
  o.profile = c.profile;
  o.engines = a.engines < 0 ? 0 : a.engines;
  o.launcher = a.launcher;
  o.launch = launch_settings(c, a);
  o.hosts = a.hosts;
  o.timeout = std::chrono::milliseconds(static_cast<long>(a.wait_s * 1000));
  o.ip = a.ip;
  o.interface = a.interface;
  o.heartbeat_ms = a.heartbeat_ms;
  o.worlds = a.worlds;
  o.max_message_bytes = a.max_message_bytes;
  o.scheme = a.scheme;
  if (!a.scheme.empty()) (void)scheme_or_throw(a.scheme);
  o.hwm = a.hwm;
  o.drain_margin_s = a.drain_margin_s;
  o.db_args = db_arguments(c, a.db);
  o.fresh = a.fresh;
  o.curve = curve_choice(a.curve, a.no_curve);
  if (!a.walltime.empty()) (void)cluster::parse_walltime(a.walltime);
  return o;
}

/// "mpirun pid 123, 124" or "slurm jobs 41, 42": what the worlds run as.
std::string world_jobs(const cluster::ClusterState& state, std::size_t from = 0) {
  std::string out;
  std::string launcher;
  for (std::size_t i = from; i < state.worlds.size(); ++i) {
    const auto& w = state.worlds[i];
    const std::string kind = w.batch() ? w.launcher + " job" : "mpirun pid";
    out += (out.empty() ? "" : ", ") + (kind != launcher ? kind + " " : std::string()) + w.job_id;
    launcher = kind;
  }
  return out;
}

nlohmann::json job_ids(const cluster::ClusterState& state) {
  auto ids = nlohmann::json::array();
  for (const auto& w : state.worlds) ids.push_back(w.job_id);
  return ids;
}

}  // namespace

int cluster_add(const Common& c, const StartArgs& a) {
  if (!c.ssh.empty()) return run_remotely(c, "add");
  if (a.engines < 1 && a.hosts.empty())
    throw_error(errc::bad_option, "cluster add needs -n K (K >= 1): how many engines to add");
  const auto before = cluster::status(c.profile, std::chrono::milliseconds(5000)).state;
  const auto r = cluster::add(start_options(c, a), reporter(c));
  const std::size_t first_new = before ? before->worlds.size() : 0;
  std::vector<int> added;
  for (const auto& e : r.engines)
    for (std::size_t i = first_new; i < r.state.worlds.size(); ++i)
      if (e.job_id == r.state.worlds[i].job_id && e.launcher == r.state.worlds[i].launcher) added.push_back(e.id);
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
              << format_id_ranges(added) << ", " << world_jobs(r.state, first_new) << ") to cluster '" << c.profile
              << "' in " << seconds_text(r.seconds, 2) << ": " << r.engines.size() << " engines in "
              << r.state.worlds.size() << " worlds" << std::endl;
  }
  return exit_ok;
}

int cluster_start(const Common& c, const StartArgs& a) {
  if (!c.ssh.empty()) return run_remotely(c, "start");
  const auto r = cluster::start(start_options(c, a), reporter(c));
  if (c.json) {
    auto engines = nlohmann::json::array();
    for (const auto& e : r.engines) engines.push_back(e.id);
    std::cout << nlohmann::json{{"profile", c.profile},
                                {"controller_pid", r.state.controller_pid},
                                {"client_url", r.client_url},
                                {"engines", engines},
                                {"launcher_pid", r.state.worlds.front().pid},
                                {"launcher", r.state.worlds.front().launcher},
                                {"jobs", job_ids(r.state)},
                                {"worlds", r.state.worlds.size()},
                                {"restored", r.restored},
                                {"seconds", r.seconds}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "cluster '" << c.profile << (r.restored ? "' restored in " : "' started in ")
              << seconds_text(r.seconds, 2) << ": " << r.engines.size() << " engine"
              << (r.engines.size() == 1 ? "" : "s")
              << (r.state.worlds.size() > 1 ? " in " + std::to_string(r.state.worlds.size()) + " worlds" : "")
              << (r.restored ? " back with their ids" : "") << " (" << world_jobs(r.state) << "), controller pid "
              << r.state.controller_pid << " at " << r.client_url << std::endl
              << "  stop it with: crew cluster stop" << c.profile_flag() << std::endl;
  }
  return exit_ok;
}

int cluster_stop(const Common& c, double grace_s) {
  if (!c.ssh.empty()) return run_remotely(c, "stop");
  const auto r = cluster::stop(c.profile, std::chrono::milliseconds(static_cast<long>(grace_s * 1000)), reporter(c));
  if (c.json) {
    std::cout << nlohmann::json{{"profile", c.profile},
                                {"stopped", r.stopped},
                                {"jobs", r.jobs},
                                {"forced", r.forced},
                                {"seconds", r.seconds}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "cluster '" << c.profile << "' stopped in " << seconds_text(r.seconds, 2) << ": " << r.stopped.size()
              << " process" << (r.stopped.size() == 1 ? "" : "es") << " ended" << (r.forced ? " (some by signal)" : "")
              << ", none left" << std::endl;
    for (const auto& job : r.jobs) std::cout << "  " << job << std::endl;
  }
  return exit_ok;
}

namespace {

int alive_in(const cluster::Status& s, const cluster::WorldStatus& w) {
  int n = 0;
  for (const auto& e : s.engines) n += e.state == "alive" && e.job_id == w.job_id && e.launcher == w.launcher ? 1 : 0;
  return n;
}

/// Seconds left of a world's job: the scheduler's word, else the end time its engines reported.
std::optional<long> seconds_left(const cluster::Status& s, const cluster::WorldStatus& w) {
  if (w.job.seconds_left) return w.job.seconds_left;
  for (const auto& e : s.engines)
    if (e.job_id == w.job_id && e.launcher == w.launcher && e.job_end > 0)
      return static_cast<long>(e.job_end - std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  return std::nullopt;
}

nlohmann::json status_json(const cluster::Status& s) {
  nlohmann::json j{{"profile", s.profile}, {"dir", s.dir.string()}, {"running", s.running}};
  if (s.controller) j["controller"] = {{"pid", s.controller->pid}, {"client_url", s.controller->client_url}};
  auto engines = nlohmann::json::array();
  for (const auto& e : s.engines)
    engines.push_back({{"id", e.id},
                       {"world", e.world},
                       {"state", e.state},
                       {"pid", e.pid},
                       {"host", e.host},
                       {"launcher", e.launcher},
                       {"job_id", e.job_id}});
  j["engines"] = engines;
  auto worlds = nlohmann::json::array();
  for (const auto& w : s.worlds) {
    nlohmann::json wj{{"launcher", w.launcher},
                      {"job_id", w.job_id},
                      {"state", cluster::job_state_name(w.job.state)},
                      {"scheduler_state", w.job.scheduler_state},
                      {"reason", w.job.reason},
                      {"engines", w.engines},
                      {"engines_alive", alive_in(s, w)},
                      {"log", w.log.string()}};
    if (auto left = seconds_left(s, w)) wj["seconds_left"] = *left;
    worlds.push_back(std::move(wj));
  }
  j["worlds"] = worlds;
  if (!s.stats.is_null()) j["stats"] = to_json(s.stats);
  if (!s.problem.empty()) j["problem"] = s.problem;
  return j;
}

/// Where a running controller keeps its task records: its file, or memory only.
std::string records_text(const cluster::Status& s) {
  if (s.stats.is_dict())
    if (auto it = s.stats.as_dict().find("db_file"); it != s.stats.as_dict().end() && it->second.is_string())
      return it->second.as_string();
  return "in memory only (--db sqlite keeps them in a file)";
}

/// How many tasks the controller took, and how many of their records it holds in memory.
std::string tasks_text(const Value& stats) {
  const auto count = [&](const char* name) {
    const auto& d = stats.as_dict();
    const auto it = d.find(name);
    return it != d.end() && it->second.is_int() ? it->second.as_int() : std::int64_t{0};
  };
  std::string text = std::to_string(count("tasks_submitted")) + " submitted, " +
                     std::to_string(count("tasks_completed")) + " completed, " + std::to_string(count("tasks_failed")) +
                     " failed (" + std::to_string(count("tasks_stored")) + " records held";
  if (const auto retired = count("tasks_retired"); retired > 0)
    text += ", " + std::to_string(retired) + " retired beyond --max-records " + std::to_string(count("max_records"));
  return text + ")";
}

/// CURVE or plaintext, and what the gatekeeper refused.
std::string security_text(const Value& stats) {
  const auto& d = stats.as_dict();
  const auto count = [&](const char* name) {
    const auto it = d.find(name);
    return it != d.end() && it->second.is_int() ? it->second.as_int() : std::int64_t{0};
  };
  const auto curve = d.find("curve");
  if (curve == d.end() || !curve->second.is_bool() || !curve->second.as_bool())
    return "plaintext, HMAC-signed (CURVE off: the controller listens on loopback; --curve turns it on)";
  return "CURVE, HMAC-signed; refused " + std::to_string(count("refused_unknown_key")) + " unknown key(s), " +
         std::to_string(count("refused_revoked_key")) + " revoked, " + std::to_string(count("refused_plaintext")) +
         " plaintext, " + std::to_string(count("refused_handshake")) + " bad handshake(s) (`crew keys list`)";
}

std::string engine_summary(const cluster::Status& s) {
  int alive = 0;
  for (const auto& e : s.engines) alive += e.state == "alive" ? 1 : 0;
  std::string text = std::to_string(alive) + " alive";
  if (static_cast<std::size_t>(alive) != s.engines.size()) text += " of " + std::to_string(s.engines.size());
  return text;
}

void print_worlds(const cluster::Status& s) {
  if (s.worlds.empty()) return;
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < s.worlds.size(); ++i) {
    const auto& w = s.worlds[i];
    const auto left = seconds_left(s, w);
    rows.push_back({std::to_string(i), w.launcher, w.job_id, cluster::describe(w.job),
                    std::to_string(alive_in(s, w)) + "/" + std::to_string(w.engines),
                    left ? (*left > 0 ? clock_text(*left) : "ended") : "-", w.log.string()});
  }
  print_table(std::cout, {"WORLD", "LAUNCHER", "JOB", "STATE", "ENGINES", "TIME LEFT", "OUTPUT"}, rows);
}

}  // namespace

int cluster_status(const Common& c) {
  if (!c.ssh.empty()) return run_remotely(c, "status");
  const auto s = cluster::status(c.profile, c.controller_timeout());
  if (c.json) {
    std::cout << status_json(s).dump() << std::endl;
    return s.running ? exit_ok : exit_not_running;
  }
  std::cout << "profile:    " << s.profile << " (" << s.dir.string() << ")" << std::endl;
  if (!s.running) {
    std::cout << "controller: not running" << std::endl;
    if (const auto file = controller::store::profile_file(c.profile); std::filesystem::exists(file))
      std::cout << "records:    " << file.string() << " (crew results and crew history read it)" << std::endl;
    if (!s.problem.empty()) std::cout << "note:       " << s.problem << std::endl;
    print_worlds(s);
    return exit_not_running;
  }
  std::cout << "controller: pid " << s.controller->pid << ", clients at " << s.controller->client_url << std::endl;
  if (!s.problem.empty()) {
    std::cout << "problem:    " << s.problem << std::endl;
    print_worlds(s);
    return exit_failure;
  }
  std::cout << "engines:    " << engine_summary(s) << std::endl;
  if (s.stats.is_dict()) std::cout << "tasks:      " << tasks_text(s.stats) << std::endl;
  if (s.stats.is_dict()) std::cout << "security:   " << security_text(s.stats) << std::endl;
  std::cout << "records:    " << records_text(s) << std::endl;
  print_worlds(s);
  return exit_ok;
}

int jobscript(const Common& c, const StartArgs& a, const std::string& out_file, bool variables) {
  if (variables) {
    if (c.json) {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& [name, meaning] : cluster::template_variables()) j[name] = meaning;
      std::cout << j.dump() << std::endl;
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& [name, meaning] : cluster::template_variables()) rows.push_back({name, meaning});
      print_table(std::cout, {"VARIABLE", "VALUE"}, rows);
    }
    return exit_ok;
  }
  if (a.engines < 1) throw_error(errc::bad_option, "jobscript needs -n N (N >= 1): the engines of the world");
  const auto d = cluster::find_launcher(a.launcher);
  cluster::require_reachable_controller(c.profile, d, !a.hosts.empty());
  cluster::LaunchSettings settings = launch_settings(c, a);
  // By hand, the job's output goes where its scheduler puts it unless --job-output says.
  cluster::WorldPlan plan;
  plan.ranks = a.engines;
  plan.index = 0;
  if (!a.hosts.empty()) plan.hosts = cluster::hosts_text(cluster::parse_hosts(a.hosts));
  if (settings.output.empty()) settings.output = "-";
  std::vector<std::string> notices;
  const std::string text = cluster::render_world_script(d, settings, plan, [&](const std::string& n) {
    if (std::find(notices.begin(), notices.end(), n) == notices.end()) notices.push_back(n);
  });
  const bool carries_key = text.find("CREW_CONNECTION") != std::string::npos;
  if (!out_file.empty()) {
    std::error_code ec;
    std::filesystem::remove(out_file, ec);
    std::ofstream out(out_file);
    ::chmod(out_file.c_str(), 0600);
    out << text;
    if (!out) throw_error(errc::bad_option, "cannot write " + out_file);
    std::cerr << "crew: wrote " << out_file << " (mode 0600" << (carries_key ? ": it holds the cluster's key" : "")
              << "); submit it with the " << d.name << " launcher's own command" << std::endl;
  } else {
    std::cout << text << std::flush;
    if (carries_key && ::isatty(1) == 0)
      std::cerr << "crew: the script holds the cluster's key: keep it private (chmod 600), or use -o FILE" << std::endl;
  }
  return exit_ok;
}

int launchers(const Common& c) {
  const auto all = cluster::list_launchers();
  if (c.json) {
    auto out = nlohmann::json::array();
    for (const auto& e : all) {
      nlohmann::json j{{"name", e.file.stem().string()},
                       {"file", e.file.string()},
                       {"origin", e.origin},
                       {"overridden", e.overridden}};
      if (e.definition) {
        j["kind"] = cluster::kind_name(e.definition->kind);
        j["description"] = e.definition->description;
        j["programs"] = e.definition->programs;
        j["missing"] = cluster::missing_programs(*e.definition);
        j["package"] = e.definition->package;
      } else {
        j["problem"] = e.problem;
      }
      out.push_back(std::move(j));
    }
    std::cout << out.dump() << std::endl;
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : all) {
    std::string ready;
    if (!e.definition) {
      ready = "broken: " + e.problem;
    } else {
      const auto missing = cluster::missing_programs(*e.definition);
      if (missing.empty()) {
        ready = "ready";
      } else {
        for (const auto& m : missing) ready += (ready.empty() ? "needs " : ", ") + m;
        ready += " (" + e.definition->package + ")";
      }
    }
    if (e.overridden) ready = "overridden by a later file";
    rows.push_back({e.file.stem().string(), e.definition ? std::string(cluster::kind_name(e.definition->kind)) : "-",
                    e.origin, e.definition ? e.definition->description : "", ready});
  }
  print_table(std::cout, {"LAUNCHER", "KIND", "FROM", "DESCRIPTION", "STATUS"}, rows);
  std::cout << std::endl << "searched, later ones winning:";
  for (const auto& d : cluster::launcher_directories()) std::cout << " " << d.path.string();
  std::cout << std::endl;
  return exit_ok;
}

int cluster_list(const Common& c) {
  if (!c.ssh.empty()) return run_remotely(c, "list");
  const auto all = cluster::list(c.controller_timeout());
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
  cfg.ip = resolve_ip(a.interface.empty() ? a.ip : "auto", a.interface);
  cfg.client_port = a.client_port;
  cfg.engine_port = a.engine_port;
  cfg.heartbeat_ms = a.heartbeat_ms;
  cfg.ready_fd = a.ready_fd;
  if (a.max_message_bytes > 0) cfg.max_message_bytes = a.max_message_bytes;
  cfg.scheme = scheme_or_throw(a.scheme);
  cfg.hwm = a.hwm;
  cfg.drain_margin_s = a.drain_margin_s;
  if (a.db.result_store_bytes > 0) cfg.result_store_bytes = a.db.result_store_bytes;
  if (a.db.max_records > 0) cfg.max_records = a.db.max_records;
  if (const auto file = db_file(c, a.db)) {
    cfg.db_file = *file;
    cfg.db_sync_full = a.db.sync == "full";
    if (a.db.max_result_bytes > 0) cfg.db_max_result_bytes = a.db.max_result_bytes;
  } else if (a.restore) {
    cfg.db_file = controller::store::profile_file(c.profile);  // where the controller that died kept it
  }
  if (a.db.orphan_timeout_s > 0) cfg.orphan_timeout_s = a.db.orphan_timeout_s;
  cfg.restore = a.restore;
  const std::string curve = curve_choice(a.curve, a.no_curve);
  cfg.curve = curve == "on"    ? controller::CurveMode::on
              : curve == "off" ? controller::CurveMode::off
                               : controller::CurveMode::automatic;
  controller::Controller(cfg).run();
  return exit_ok;
}

}  // namespace crew::cli
