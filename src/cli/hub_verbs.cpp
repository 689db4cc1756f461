// The hub's records: `history` (the tasks the controller has on record) and `purge` (forget
// finished ones and their results).
#include <cmath>
#include <ctime>
#include <iostream>

#include "cli/output.hpp"
#include "cli/session.hpp"
#include "cli/verbs.hpp"
#include "client/history.hpp"
#include "common/clock.hpp"
#include "common/targets.hpp"
#include "common/units.hpp"
#include "controller/task_store.hpp"
#include "protocol/header.hpp"
#include "protocol/value_codec.hpp"

namespace crew::cli {

std::chrono::seconds parse_age(const std::string& text, const char* option) {
  const auto bad = [&] {
    throw_error(errc::bad_option,
                std::string(option) + " takes an age such as 90s, 10m, 1h or 2d (or seconds), not '" + text + "'");
  };
  std::size_t used = 0;
  double amount = 0;
  try {
    amount = std::stod(text, &used);
  } catch (const std::exception&) {
    bad();
  }
  const std::string unit = text.substr(used);
  const double scale = unit.empty() || unit == "s" ? 1
                       : unit == "m"               ? 60
                       : unit == "h"               ? 3600
                       : unit == "d"               ? 86400
                                                   : -1;
  if (scale < 0 || !std::isfinite(amount) || amount < 0) bad();
  return std::chrono::seconds(static_cast<std::int64_t>(std::llround(amount * scale)));
}

namespace {

using wall = std::chrono::system_clock;

/// "2026-12-06 10:58:04" in local time.
std::string local_time(wall::time_point t) {
  const std::time_t s = wall::to_time_t(t);
  std::tm tm{};
  localtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

/// µs since the epoch; 0 for "not yet" (the epoch itself).
std::int64_t unix_us(wall::time_point t) { return t == wall::time_point{} ? 0 : to_us(t); }

/// How long it ran, for people: "12 us", "3.4 ms", "2.1 s"; "-" if it has not finished.
std::string took(const TaskSummary& t) {
  if (t.completed == wall::time_point{} || t.started == wall::time_point{}) return "-";
  const double us =
      static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(t.completed - t.started).count());
  char buf[32];
  if (us < 1000)
    std::snprintf(buf, sizeof buf, "%.0f us", us);
  else if (us < 1e6)
    std::snprintf(buf, sizeof buf, "%.1f ms", us / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1f s", us / 1e6);
  return buf;
}

/// The history from the controller; with none running, from its task database, if it kept one;
/// with --db-path, from that file.
std::vector<TaskSummary> listed_tasks(const Common& c, const HistoryArgs& h, const HistoryFilter& filter) {
  const std::filesystem::path file =
      h.db_path.empty() ? controller::store::profile_file(c.profile) : std::filesystem::path(h.db_path);
  if (!h.db_path.empty() && !std::filesystem::exists(file))
    throw_error(errc::bad_option, "--db-path " + h.db_path + ": no such file");
  if (h.db_path.empty()) {
    try {
      return connect(c).history(filter);
    } catch (const Error& e) {
      if (!no_controller(e) || !std::filesystem::exists(file)) throw;
    }
  }
  sqlite::Db db(file, sqlite::Db::Mode::read_only);
  controller::store::check_schema(db);
  auto rows = controller::store::read_history(db, detail::history_request(filter), UINT64_MAX);
  std::cerr << "(no controller runs: the records in " << file.string() << ")" << std::endl;
  std::vector<TaskSummary> out;
  for (auto& e : rows.tasks) out.push_back(detail::task_summary(std::move(e)));
  return out;
}

}  // namespace

int history(const Common& c, const HistoryArgs& h) {
  HistoryFilter filter;
  if (!h.since.empty()) filter.since = wall::now() - parse_age(h.since, "--since");
  filter.status = h.status;
  if (const auto ids = parse_targets(c.targets)) filter.targets = *ids;
  filter.last = h.last;
  const std::vector<TaskSummary> tasks = listed_tasks(c, h, filter);
  if (c.json) {
    auto out = nlohmann::json::array();
    for (const auto& t : tasks)
      out.push_back({{"msg_id", t.msg_id},
                     {"function", t.function},
                     {"engine", t.engine_id},
                     {"status", t.status},
                     {"error", t.error},
                     {"submitted_us", unix_us(t.submitted)},
                     {"started_us", unix_us(t.started)},
                     {"completed_us", unix_us(t.completed)}});
    std::cout << out.dump() << std::endl;
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : tasks)
    rows.push_back({t.msg_id, t.function, t.engine_id < 0 ? "-" : std::to_string(t.engine_id),
                    t.error.empty() ? t.status : t.status + " (" + t.error + ")", local_time(t.submitted), took(t)});
  print_table(std::cout, {"ID", "FUNCTION", "ENGINE", "STATUS", "SUBMITTED", "TOOK"}, rows);
  return exit_ok;
}

int purge(const Common& c, const PurgeArgs& p) {
  const int ways = (p.msg_ids.empty() ? 0 : 1) + (p.all ? 1 : 0) + (p.before.empty() ? 0 : 1);
  if (ways != 1)
    throw_error(errc::bad_option, "purge takes task ids, --all or --before AGE (one of them), e.g. `crew purge "
                                  "--before 1d`; pending tasks are never purged");
  const Client rc = connect(c);
  const PurgeReport r = !p.msg_ids.empty() ? rc.purge_results(p.msg_ids)
                        : p.all            ? rc.purge_all_results()
                                           : rc.purge_results_before(wall::now() - parse_age(p.before, "--before"));
  if (c.json) {
    std::cout << nlohmann::json{{"purged", r.purged},
                                {"bytes", r.bytes},
                                {"pending", r.pending},
                                {"unknown", r.unknown}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "purged " << r.purged << (r.purged == 1 ? " task" : " tasks") << " and " << bytes_text(r.bytes)
              << " of results" << std::endl;
    if (!r.pending.empty()) std::cout << "still pending (kept): " << ids_line(r.pending) << std::endl;
    if (!r.unknown.empty()) std::cout << "not on record: " << ids_line(r.unknown) << std::endl;
  }
  return r.unknown.empty() ? exit_ok : exit_failure;
}

int stored_results(const Common& c, const std::string& db_path, const std::vector<std::string>& msg_ids) {
  if (!std::filesystem::exists(db_path)) throw_error(errc::bad_option, "--db-path " + db_path + ": no such file");
  sqlite::Db db(db_path, sqlite::Db::Mode::read_only);
  controller::store::check_schema(db);
  std::vector<std::pair<std::string, controller::store::StoredReply>> found;
  std::vector<std::string> unknown;
  for (const auto& id : msg_ids) {
    if (auto r = controller::store::read_reply(db, id))
      found.emplace_back(id, std::move(*r));
    else
      unknown.push_back(id);
  }
  if (!unknown.empty())
    throw_error(errc::unknown_task, "no finished task " + ids_line(unknown) + " is on record in " + db_path +
                                        " (mistyped, purged, or unfinished when its controller stopped)");
  std::cerr << "(no controller runs: the records in " << db_path << ")" << std::endl;
  int status = exit_ok;
  auto out = nlohmann::json::object();
  for (const auto& [id, r] : found) {
    const wire::Header h = r.header.empty() ? wire::Header() : wire::decode_header(r.header.bytes());
    std::optional<RemoteError> err;
    Value v;
    if (r.header.empty())
      err.emplace(errc::controller_restarted, r.engine, "crew.connection.controller_restarted",
                  "its controller died before it finished");
    else if (h.error.failed())
      err.emplace(h.error.code, r.engine, h.error.type, h.error.message, h.error.context);
    else if (r.kept != controller::store::Kept::here)
      err.emplace(errc::unknown_task, r.engine, "crew.input.unknown_task",
                  r.kept == controller::store::Kept::streamed
                      ? "it succeeded, but its array went to the client that asked for it and was not kept"
                      : "it succeeded, but its result (" + bytes_text(r.bytes) +
                            ") was above --db-max-result, so only its client got it");
    else
      v = wire::decode_value(r.payload);
    status = std::max(status, print_outcome(c, id, r.engine, err ? &*err : nullptr, v, out));
  }
  if (c.json) std::cout << out.dump() << std::endl;
  return status;
}

}  // namespace crew::cli
