// The load balancer's verbs: `call --lb`, `map`, `queue`, `abort`, `results`.
#include <algorithm>
#include <iostream>

#include "cli/npy.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"
#include "cli/verbs.hpp"
#include "cli/waiting.hpp"
#include "common/targets.hpp"
#include "controller/task_store.hpp"
#include "values/array_like.hpp"
#include "values/json.hpp"
#include "values/properties.hpp"
#include "values/sequence.hpp"

namespace crew::cli {
namespace {

LoadBalancedView balanced_view(const Client& rc, const Common& c) {
  const auto ids = parse_targets(c.targets);
  return rc.load_balanced_view(ids ? *ids : std::vector<int>{});
}

TaskOptions task_options(const BalanceArgs& b) {
  TaskOptions o;
  o.after = Dependency(b.after);
  o.follow = Dependency(b.follow);
  if (b.any) {
    o.after.any();
    o.follow.any();
  }
  if (b.allow_failure) {
    o.after.allow_failure();
    o.follow.allow_failure();
  }
  o.timeout = std::chrono::milliseconds(static_cast<long>(b.task_timeout_s * 1000));
  o.retries = b.retries;
  o.require = parse_properties(b.require, "--require");
  return o;
}

/// One task's outcome: `[engine N] value` (or the error), and the msg id on stderr for later
/// `crew results`; --json: {"msg_id", "engine", "value" | "$error"}.
int print_task(const Common& c, const AsyncResult& ar, FollowedOutput* output = nullptr) {
  constexpr std::size_t i = 0;
  const Progress progress = results_of(ar);
  wait_for(c, ar, &progress, output);
  const auto meta = ar.metadata(i);
  nlohmann::json out{{"msg_id", meta.msg_id}, {"engine", meta.engine_id}};
  int status = exit_ok;
  if (auto err = ar.error(i)) {
    std::cerr << err->what() << std::endl;
    status = exit_status_for(err->code());
    out.update(error_json(*err));
  } else if (c.json) {
    out["value"] = to_json(ar.value(i));
  } else {
    std::cout << "[" << meta.engine_id << "] " << shown_value(ar.value(i)) << std::endl;
    if (output != nullptr && output->was_shown(meta.msg_id)) return status;  // its output was shown as it came
    if (!meta.stdout_text.empty()) std::cout << "[stdout:" << meta.engine_id << "] " << meta.stdout_text << std::flush;
    if (!meta.stderr_text.empty()) std::cerr << "[stderr:" << meta.engine_id << "] " << meta.stderr_text << std::flush;
  }
  if (c.json) std::cout << out.dump() << std::endl;
  return status;
}

}  // namespace

int call_balanced(const Common& c, const std::string& function, const std::vector<std::string>& json_args,
                  const BalanceArgs& b, bool follow_output) {
  Value::List args;
  for (std::size_t i = 0; i < json_args.size(); ++i)
    args.push_back(
        parse_argument(json_args[i], "argument " + std::to_string(i + 1) + " of `crew call " + function + "`"));
  const Client rc = connect(c);
  // Following this client's own tasks before the task exists: nothing it writes is missed.
  OutputFilter own_tasks;
  own_tasks.mine = true;
  FollowedOutput output{follow_output ? rc.subscribe_output(own_tasks) : OutputFeed(), {}};
  const AsyncResult ar = balanced_view(rc, c).with(task_options(b)).apply_list(function, std::move(args));
  if (b.no_wait) {
    // The controller keeps the result for `crew results`, also once this client is gone.
    if (c.json)
      std::cout << nlohmann::json{{"msg_id", ar.msg_ids().front()}}.dump() << std::endl;
    else
      std::cout << ar.msg_ids().front() << std::endl;
    return exit_ok;
  }
  return print_task(c, ar, follow_output ? &output : nullptr);
}

int map(const Common& c, const std::string& function, const MapArgs& m, const BalanceArgs& b) {
  if (m.json.empty() == m.npy.empty())
    throw_error(errc::bad_option, "map needs the sequence: a JSON list ('[1,2,3]') or --npy FILE, one of them");
  Value sequence =
      m.npy.empty() ? parse_argument(m.json, "the sequence of `crew map " + function + "`") : Value(read_npy(m.npy));
  (void)seq::length(sequence, "map");  // a clear error before connecting
  if (!m.balanced && (m.chunksize > 0 || m.unordered || b.given()))
    throw_error(errc::bad_option, "--chunksize, --unordered and the task options are for load-balanced maps: add --lb");
  if (b.no_wait) throw_error(errc::bad_option, "map waits for its results; --no-wait is for `crew call --lb`");
  const Client rc = connect(c);
  const AsyncMap result =
      m.balanced ? balanced_view(rc, c)
                       .with(task_options(b))
                       .map_value(function, std::move(sequence), {.chunksize = m.chunksize, .ordered = !m.unordered})
                 : target_view(rc, c.targets).map_value(function, std::move(sequence));
  const Progress progress{[&result] { return std::pair{result.progress(), result.size()}; }, "items"};
  wait_for(c, result.result(), &progress);
  Value all;
  try {
    all = result.get();
  } catch (const RemoteError& e) {  // a CompositeError too: each failed chunk and its engine
    report(e, c.json);
    return exit_failure;
  }
  if (!m.out.empty()) {
    std::string why;
    if (!seq::array_like(all, &why))  // numbers, or lists / arrays of one shape: numpy.array's rules
      throw_error(errc::bad_option, "--out writes .npy files, and the results are not an array (" + seq::describe(all) +
                                        ": " + why + "); leave out --out to print them as JSON");
    all = Value(*to_array(all));
    write_npy(m.out, all.as_array());
    if (c.json)
      std::cout << nlohmann::json{{"items", result.size()}, {"chunks", result.chunks()}, {"file", m.out}}.dump()
                << std::endl;
    else
      std::cout << "wrote " << seq::describe(all) << " to " << m.out << " (" << result.chunks() << " tasks)"
                << std::endl;
    return exit_ok;
  }
  std::cout << (c.json ? value_text(all) : shown_value(all, "--out FILE")) << std::endl;
  return exit_ok;
}

int queue(const Common& c) {
  const QueueStatus q = connect(c).queue_status();
  if (c.json) {
    auto engines = nlohmann::json::array();
    for (const auto& e : q.engines)
      engines.push_back({{"id", e.id},
                         {"world", e.world},
                         {"state", e.state},
                         {"queue", e.queue},
                         {"depth", e.depth},
                         {"completed", e.completed}});
    std::cout << nlohmann::json{{"engines", engines},
                                {"unassigned", q.unassigned},
                                {"waiting", q.waiting},
                                {"scheme", q.scheme},
                                {"hwm", q.hwm},
                                {"submitted", q.submitted},
                                {"completed", q.completed},
                                {"failed", q.failed},
                                {"retried", q.retried}}
                     .dump()
              << std::endl;
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : q.engines)
    rows.push_back({std::to_string(e.id), std::to_string(e.world), e.state, std::to_string(e.queue),
                    e.state == "alive" ? std::to_string(e.depth) : "-", std::to_string(e.completed)});
  print_table(std::cout, {"ID", "WORLD", "STATE", "QUEUE", "HWM", "DONE"}, rows);
  std::cout << "balanced tasks: " << q.unassigned << " waiting for an engine, " << q.waiting
            << " waiting for dependencies; scheme " << q.scheme << ", hwm "
            << (q.hwm > 0 ? std::to_string(q.hwm) : "auto") << "; tasks " << q.submitted << " submitted, "
            << q.completed << " done, " << q.failed << " failed, " << q.retried << " retried" << std::endl;
  return exit_ok;
}

int abort(const Common& c, const std::vector<std::string>& msg_ids) {
  const AbortReport r = connect(c).abort(msg_ids);
  if (c.json) {
    std::cout << nlohmann::json{{"aborted", r.aborted}, {"done", r.done}, {"running", r.running}}.dump() << std::endl;
  } else {
    std::cout << "aborted: " << ids_line(r.aborted) << std::endl;
    if (!r.done.empty()) std::cout << "already finished: " << ids_line(r.done) << std::endl;
    if (!r.running.empty())
      std::cout << "already on an engine (they run to completion): " << ids_line(r.running) << std::endl;
  }
  return exit_ok;
}

namespace {

/// One task's line of `crew results` (or its entry of the --json object); 1 if it failed.
int print_result(const Common& c, const std::string& id, const AsyncResult& ar, nlohmann::json& out) {
  const auto err = ar.error(0);
  const Value v = err ? Value() : ar.value(0);
  return print_outcome(c, id, ar.metadata().engine_id, err ? &*err : nullptr, v, out);
}

}  // namespace

int print_outcome(const Common& c, const std::string& id, int engine, const RemoteError* err, const Value& v,
                  nlohmann::json& out) {
  if (err != nullptr) {
    if (c.json) {
      out[id] = error_json(*err);
      out[id]["engine"] = engine;
    } else {
      const std::string where = engine < 0 ? "before it reached an engine"  // aborted, timed out
                                           : "on engine " + std::to_string(engine);
      std::cout << id << ": failed " << where << ": " << err->what() << std::endl;
    }
    return exit_failure;
  }
  if (c.json)
    out[id] = {{"status", "ok"}, {"engine", engine}, {"value", to_json(v)}};
  else
    std::cout << id << ": ok on engine " << engine << ": " << shown_value(v) << std::endl;
  return exit_ok;
}

int results(const Common& c, const std::vector<std::string>& msg_ids, bool wait, const std::string& db_path) {
  if (!db_path.empty()) return stored_results(c, db_path, msg_ids);
  std::optional<Client> connected;
  try {
    connected.emplace(connect(c));
  } catch (const Error& e) {
    const auto file = controller::store::profile_file(c.profile);
    if (!no_controller(e) || !std::filesystem::exists(file)) throw;
    return stored_results(c, file.string(), msg_ids);
  }
  const Client& rc = *connected;
  const ResultStatus s = rc.result_status(msg_ids);
  if (!s.unknown.empty())
    throw_error(errc::unknown_task, "no task " + ids_line(s.unknown) +
                                        " is known to the controller (mistyped, purged, or from before it restarted)");
  std::vector<std::pair<std::string, AsyncResult>> fetched;  // the ones done, or waited for
  for (const auto& id : msg_ids)
    if (wait || std::find(s.pending.begin(), s.pending.end(), id) == s.pending.end())
      fetched.emplace_back(id, rc.get_result(id));
  // One deadline for them all: those not in by then are said together.
  for (const auto& [id, ar] : fetched) {
    try {
      wait_for(c, ar);
    } catch (const Unfinished& u) {
      std::vector<std::string> pending;
      for (const auto& [other, other_ar] : fetched)
        if (!other_ar.ready()) pending.push_back(other);
      throw Unfinished(u.why(), pending);
    }
  }
  int status = exit_ok;
  auto out = nlohmann::json::object();
  for (const auto& id : msg_ids) {
    const auto it = std::find_if(fetched.begin(), fetched.end(), [&](const auto& f) { return f.first == id; });
    if (it != fetched.end()) {
      status = std::max(status, print_result(c, id, it->second, out));
    } else if (c.json) {
      out[id] = {{"status", "pending"}};
    } else {
      std::cout << id << ": pending (queued or running; --wait to wait for it)" << std::endl;
    }
  }
  if (c.json) std::cout << out.dump() << std::endl;
  return status;
}

}  // namespace crew::cli
