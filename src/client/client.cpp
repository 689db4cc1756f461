// crew::Client and crew::DirectView.
#include "crew/client.hpp"

#include <algorithm>

#include "client/client_core.hpp"
#include "client/history.hpp"
#include "common/clock.hpp"
#include "common/memory.hpp"
#include "common/profile.hpp"
#include "crew/json.hpp"
#include "protocol/hub_queries.hpp"
#include "protocol/stream.hpp"
#include "values/sequence.hpp"

#include <memory>

namespace crew {
namespace {

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos || (s.size() > 5 && s.compare(s.size() - 5, 5, ".json") == 0);
}

EngineInfo engine_info(wire::EngineEntry&& e) {
  EngineInfo info;
  info.id = e.id;
  info.host = std::move(e.host);
  info.pid = e.pid;
  info.rank = e.rank;
  info.world = e.world;
  info.world_size = e.world_size;
  info.state = std::move(e.state);
  info.tasks = e.tasks;
  info.completed = e.completed;
  if (Value props = parse_json(e.properties); props.is_dict()) info.properties = std::move(props.as_dict());
  info.launcher = std::move(e.launcher);
  info.job_id = std::move(e.job_id);
  info.job_end = e.job_end;
  info.draining = e.draining;
  return info;
}

std::vector<EngineInfo> engines_of(wire::EnginesReply&& reply) {
  std::vector<EngineInfo> out;
  for (auto& e : reply.engines) out.push_back(engine_info(std::move(e)));
  return out;
}

std::vector<int> alive_ids(const std::vector<EngineInfo>& engines) {
  std::vector<int> ids;
  for (const auto& e : engines)
    if (e.state == "alive") ids.push_back(e.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

Client::Client(const std::string& profile_or_file, ClientOptions options) {
  if (options.keep_freed_memory) keep_freed_memory_for_reuse();
  if (looks_like_path(profile_or_file)) {
    core_ = std::make_shared<detail::ClientCore>(profile_or_file, std::string(), options.timeout, options.ssh);
  } else {
    core_ = std::make_shared<detail::ClientCore>(profile_dir(profile_or_file) / controller_file_name, profile_or_file,
                                                 options.timeout, options.ssh);
  }
}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

std::vector<EngineInfo> Client::engines() const {
  return engines_of(
      core_->ask<wire::EnginesReply>(wire::MsgKind::engines_request, wire::EnginesRequest{}, core_->timeout()));
}

std::vector<int> Client::ids() const { return alive_ids(engines()); }

std::vector<EngineInfo> Client::engines(int at_least, std::chrono::milliseconds max_wait) const {
  const wire::EnginesRequest ask{at_least, static_cast<std::int64_t>(max_wait.count())};
  return engines_of(core_->ask<wire::EnginesReply>(wire::MsgKind::engines_request, ask, max_wait + core_->timeout()));
}

std::vector<int> Client::wait_for_engines(int n, std::chrono::milliseconds timeout) const {
  const auto ids = alive_ids(engines(n, timeout));
  if (static_cast<int>(ids.size()) < n)
    throw_error(errc::wait_timeout, std::to_string(ids.size()) + " of " + std::to_string(n) +
                                        " engines registered within " + std::to_string(timeout.count()) + " ms");
  return ids;
}

DirectView Client::operator[](int id) const { return DirectView(core_, {id}, true); }

DirectView Client::operator[](std::vector<int> ids) const {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0) throw_error(errc::bad_targets, "engine id " + std::to_string(ids[i]) + " is negative");
    if (std::find(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(i), ids[i]) !=
        ids.begin() + static_cast<std::ptrdiff_t>(i))
      throw_error(errc::bad_targets, "engine " + std::to_string(ids[i]) + " appears twice in the view's targets");
  }
  return DirectView(core_, std::move(ids), false);
}

DirectView Client::view() const { return DirectView(core_, ids(), false); }

DirectView Client::view(int world) const {
  std::vector<int> ids;
  std::vector<int> worlds;
  for (const auto& e : engines()) {
    if (e.state != "alive") continue;
    if (e.world == world) ids.push_back(e.id);
    if (std::find(worlds.begin(), worlds.end(), e.world) == worlds.end()) worlds.push_back(e.world);
  }
  if (ids.empty()) {
    std::string known;
    for (int w : worlds) known += (known.empty() ? "" : ", ") + std::to_string(w);
    throw_error(errc::unknown_target, "world " + std::to_string(world) + " has no alive engines (worlds alive: " +
                                          (known.empty() ? "none" : known) + "; see `crew engines`)");
  }
  return DirectView(core_, std::move(ids), false);
}

LoadBalancedView Client::load_balanced_view(std::vector<int> targets) const {
  const auto all = engines();
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const int id = targets[i];
    if (std::find(targets.begin(), targets.begin() + static_cast<std::ptrdiff_t>(i), id) !=
        targets.begin() + static_cast<std::ptrdiff_t>(i))
      throw_error(errc::bad_targets, "engine " + std::to_string(id) + " appears twice in the view's targets");
    if (std::none_of(all.begin(), all.end(), [&](const EngineInfo& e) { return e.id == id; }))
      throw_error(errc::unknown_target, "there is no engine " + std::to_string(id) + " (see `crew engines`)");
  }
  std::sort(targets.begin(), targets.end());
  const std::size_t alive = static_cast<std::size_t>(
      std::count_if(all.begin(), all.end(), [](const EngineInfo& e) { return e.state == "alive"; }));
  return LoadBalancedView(core_, std::move(targets), std::max<std::size_t>(1, alive));
}

QueueStatus Client::queue_status() const {
  auto q = core_->ask<wire::QueueReply>(wire::MsgKind::queue_request, wire::NoFields{}, core_->timeout());
  QueueStatus s;
  for (auto& e : q.engines) s.engines.push_back({e.id, e.world, std::move(e.state), e.queue, e.completed, e.depth});
  s.unassigned = q.unassigned;
  s.waiting = q.waiting;
  s.scheme = std::move(q.scheme);
  s.hwm = q.hwm;
  s.submitted = q.submitted;
  s.completed = q.completed;
  s.failed = q.failed;
  s.retried = q.retried;
  return s;
}

ResultStatus Client::result_status(const std::vector<std::string>& msg_ids) const {
  auto r = core_->ask<wire::ResultReply>(wire::MsgKind::result_request, wire::ResultRequest{msg_ids, false},
                                         core_->timeout());
  return ResultStatus{std::move(r.pending), std::move(r.completed), std::move(r.failed), std::move(r.unknown)};
}

AsyncResult Client::get_result(const std::string& msg_id) const {
  // Listen first: the stored reply follows the status at once.
  auto state = core_->watch({msg_id});
  try {
    const auto r = core_->ask<wire::ResultReply>(wire::MsgKind::result_request, wire::ResultRequest{{msg_id}, true},
                                                 core_->timeout());
    if (!r.unknown.empty())
      throw_error(errc::unknown_task,
                  "no task " + msg_id +
                      " is known to the controller: a mistyped id, one purged, one from before it restarted, or "
                      "one retired (a controller without --db sqlite keeps the newest --max-records finished "
                      "tasks, 100000 unless told)");
  } catch (...) {
    core_->forget(state);
    throw;
  }
  return AsyncResult(state);
}

AbortReport Client::abort(const std::vector<std::string>& msg_ids) const { return core_->abort(msg_ids); }

std::vector<TaskSummary> Client::history(const HistoryFilter& filter) const {
  auto reply =
      core_->ask<wire::HistoryReply>(wire::MsgKind::history_request, detail::history_request(filter), core_->timeout());
  std::vector<TaskSummary> out;
  out.reserve(reply.tasks.size());
  for (auto& t : reply.tasks) out.push_back(detail::task_summary(std::move(t)));
  return out;
}

wire::HistoryRequest detail::history_request(const HistoryFilter& filter) {
  wire::HistoryRequest ask;
  ask.since_us = filter.since == std::chrono::system_clock::time_point{} ? 0 : to_us(filter.since);
  for (const auto& s : filter.status) {
    const auto it = std::ranges::find(wire::task_state_names, s);
    if (it == wire::task_state_names.end())
      throw_error(errc::bad_option, "no task status '" + s + "': it is pending, ok or failed");
    ask.only.push_back(static_cast<std::uint8_t>(it - wire::task_state_names.begin()));
  }
  ask.engines.assign(filter.targets.begin(), filter.targets.end());
  ask.last = filter.last;
  return ask;
}

TaskSummary detail::task_summary(wire::HistoryEntry&& t) {
  return {std::move(t.msg_id),
          std::move(t.function),
          t.engine,
          std::string(wire::task_state_names.at(std::min<std::size_t>(t.state, wire::task_state_names.size() - 1))),
          std::move(t.error),
          from_us(t.submitted_us),
          t.started_us ? from_us(t.started_us) : std::chrono::system_clock::time_point{},
          t.completed_us ? from_us(t.completed_us) : std::chrono::system_clock::time_point{}};
}

namespace {
PurgeReport report_of(wire::PurgeReply r) {
  return {static_cast<std::size_t>(r.purged), r.bytes, std::move(r.pending), std::move(r.unknown)};
}
}  // namespace

PurgeReport Client::purge_results(const std::vector<std::string>& msg_ids) const {
  if (msg_ids.empty()) return {};
  return report_of(core_->ask<wire::PurgeReply>(wire::MsgKind::purge_request, wire::PurgeRequest{msg_ids, false, 0},
                                                core_->timeout()));
}

PurgeReport Client::purge_all_results() const {
  return report_of(
      core_->ask<wire::PurgeReply>(wire::MsgKind::purge_request, wire::PurgeRequest{{}, true, 0}, core_->timeout()));
}

PurgeReport Client::purge_results_before(std::chrono::system_clock::time_point before) const {
  // (the epoch itself would mean "no bound" on the wire: before it, nothing was submitted)
  const std::int64_t us = std::max<std::int64_t>(to_us(before), 1);
  return report_of(
      core_->ask<wire::PurgeReply>(wire::MsgKind::purge_request, wire::PurgeRequest{{}, false, us}, core_->timeout()));
}

bool Client::wait(std::chrono::milliseconds timeout) const { return core_->wait_all(timeout); }

std::size_t Client::outstanding() const { return core_->outstanding(); }

Value Client::controller_stats() const {
  return core_->request(wire::MsgKind::stats_request, Value(), core_->timeout()).body();
}

void Client::shutdown() const {
  // The controller answers once its worlds said goodbye (or its grace period ran out).
  (void)core_->request(wire::MsgKind::shutdown_request, Value(), core_->timeout() + std::chrono::seconds(10));
}

const std::filesystem::path& Client::connection_file() const { return core_->controller_file(); }

// ------------------------------------------------------------------------------------ DirectView

AsyncResult DirectView::apply_list(std::string_view function, Value::List args) const {
  return AsyncResult(core_->submit(function, std::move(args), targets_, single_));
}

AsyncResult DirectView::exec(const std::string& command) const { return apply("exec", command); }

AsyncMap DirectView::map_value(std::string_view function, Value sequence) const {
  std::vector<Value> one;
  one.push_back(std::move(sequence));
  return map_values(function, std::move(one));
}

AsyncMap DirectView::map_values(std::string_view function, std::vector<Value> sequences) const {
  const std::uint64_t n = seq::common_length(sequences, "map");
  std::vector<int> sorted = targets_;
  std::sort(sorted.begin(), sorted.end());
  const auto parts = seq::partition(n, sorted.size());
  std::vector<Value::List> calls;
  std::vector<int> used;
  std::vector<std::size_t> sizes;
  std::uint64_t at = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (parts[i] == 0) continue;  // fewer items than engines
    Value::List call{Value(std::string(function))};
    for (const Value& sequence : sequences) call.push_back(seq::take(sequence, at, parts[i]));
    calls.push_back(std::move(call));
    used.push_back(sorted[i]);
    sizes.push_back(parts[i]);
    at += parts[i];
  }
  return AsyncMap(core_->submit_each("crew.map", std::move(calls), used), std::move(sizes), true);
}

namespace {
/// Arrays above one chunk go outside the request: streamed, or copied by the engines themselves.
bool large(const Value& v) { return v.is_array() && v.as_array().data().size() > wire::stream_chunk_bytes(); }
/// Collectives address their targets in engine-id order.
std::vector<int> ascending(std::vector<int> targets) {
  std::sort(targets.begin(), targets.end());
  return targets;
}
}  // namespace

AsyncResult DirectView::push(Value::Dict values) const {
  // One large array, engines on this host: each engine copies it from here (engine/single_copy.cpp).
  if (values.size() == 1 && large(values.begin()->second) && core_->engines_can_copy(targets_)) {
    const detail::Bulk bulk{&values.begin()->second.as_array(), nullptr, wire::Transfer::single_copy};
    return collective("crew.push", {Value(Value::Dict{{values.begin()->first, Value()}})}, false, &bulk);
  }
  if (targets_.size() == 1) return apply_list("push", {Value(std::move(values))});
  return collective("crew.push", {Value(std::move(values))}, false);
}

AsyncResult DirectView::collective(std::string_view function, Value::List args, bool joined,
                                   const detail::Bulk* bulk) const {
  return AsyncResult(core_->submit(function, std::move(args), ascending(targets_), single_ && !joined, joined, bulk));
}

AsyncResult DirectView::scatter_value(const std::string& name, Value sequence) const {
  (void)seq::length(sequence, "scatter");  // a clear error here, before anything is sent
  if (large(sequence)) {
    const detail::Bulk bulk{&sequence.as_array(), nullptr,
                            core_->engines_can_copy(targets_) ? wire::Transfer::single_copy : wire::Transfer::streamed};
    return collective("crew.scatter", {Value(name), Value()}, false, &bulk);
  }
  return collective("crew.scatter", {Value(name), std::move(sequence)}, false);
}

AsyncResult DirectView::gather(const std::string& name) const {
  // Engines on this host write their parts straight into an array made here (client/single_copy.cpp).
  if (core_->engines_may_copy(targets_))
    return AsyncResult(core_->collect_by_copy(wire::Collective::gather, name, ascending(targets_)));
  return collective("crew.gather", {Value(name)}, true);
}

AsyncResult DirectView::reduce(const std::string& name, op o) const {
  // One world's result, written by its root straight into this process (client/single_copy.cpp).
  if (core_->engines_may_copy(targets_))
    return AsyncResult(
        core_->collect_by_copy(wire::Collective::reduce, name, ascending(targets_), std::string(op_name(o))));
  return collective("crew.reduce", {Value(name), Value(op_name(o))}, true);
}

AsyncResult DirectView::save_h5(const std::string& file, const std::string& name, const std::string& dataset) const {
  return collective("crew.save_h5", {Value(file), Value(name), Value(dataset.empty() ? "/" + name : dataset)}, false);
}

AsyncResult DirectView::load_h5(const std::string& file, const std::string& dataset, const std::string& name) const {
  return collective("crew.load_h5", {Value(file), Value(dataset), Value(name)}, false);
}

AsyncResult DirectView::pull(const std::string& name) const {
  // Engines on this host write a large array straight into this process (client/single_copy.cpp).
  if (core_->engines_may_copy(targets_)) return AsyncResult(core_->pull_by_copy(name, targets_, single_));
  return apply("pull", name);
}

AsyncResult DirectView::pull(const std::vector<std::string>& names) const {
  Value::List args(names.begin(), names.end());
  return apply_list("pull", std::move(args));
}

AsyncResult DirectView::load_plugin(const std::string& path) const { return apply("load_plugin", path); }

AsyncResult DirectView::clear() const { return apply("clear"); }

}  // namespace crew
