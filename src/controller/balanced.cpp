// The load balancer. A balanced task waits here for its dependencies, then for an engine with
// room (below its high-water mark, meeting the task's constraints); the scheme picks among those.
// Tasks that wait longer than their timeout or can never run fail here, never reaching an engine;
// replies, retries and tasks given back are completed in controller/completion.cpp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/targets.hpp"
#include "controller/controller_impl.hpp"
#include "crew/json.hpp"

namespace crew::controller {
namespace {

bool has(const std::vector<int>& ids, int id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

bool meets(const Value::Dict& require, const Value::Dict& properties) {
  for (const auto& [k, v] : require) {
    auto it = properties.find(k);
    if (it == properties.end() || !(it->second == v)) return false;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------- submission

void Controller::Impl::submit_balanced(PeerId client, wire::Packet&& p) {
  wire::Header& h = p.header;
  if (h.msg_ids.size() != 1) {
    ++stats.dropped_malformed;
    auto reply = reply_to(h, wire::MsgKind::request_error);
    reply.error = {errc::malformed, "crew.protocol.malformed", "a balanced_request carries exactly one msg_id", {}};
    send_to_client(client, reply);
    return;
  }
  const std::string& msg_id = h.msg_ids.front();
  for (const int id : h.targets) {
    if (registry.engine(id) == nullptr) {
      reject(client, h, msg_id, -1, errc::unknown_target,
             "the view names engine " + std::to_string(id) + ", which does not exist; this cluster has " +
                 registry.describe_alive(),
             !tasks.contains(msg_id));
      return;
    }
  }
  Value::Dict require;
  if (!h.balance.requires_json.empty()) {
    try {
      Value r = parse_json(h.balance.requires_json);
      if (!r.is_dict()) throw_error(errc::bad_option, "it is a " + std::string(r.type_name()));
      require = std::move(r.as_dict());
    } catch (const Error& e) {
      reject(client, h, msg_id, -1, errc::bad_option,
             "`require` must be a JSON object of engine properties, e.g. {\"gpu\": true}: " + e.message(),
             !tasks.contains(msg_id));
      return;
    }
  }
  TaskRecord* t = add_task(msg_id, new_task(client, -1, h.submitted_us, tasks.function_id(h.function)));
  if (t == nullptr) {
    reject(client, h, msg_id, -1, errc::bad_option, "msg_id " + msg_id + " was already used", false);
    return;
  }
  t->balanced = true;
  t->lb = std::make_unique<BalancedTask>();
  ++balanced_pending;
  BalancedTask& bt = *t->lb;
  bt.function = std::move(h.function);
  bt.payload = std::move(p.payload);
  bt.allowed.assign(h.targets.begin(), h.targets.end());
  bt.set_require(std::move(require));
  bt.set_dependencies(std::move(h.balance.after), std::move(h.balance.follow));
  bt.retries_left = std::max(0, h.balance.retries);
  if (h.balance.timeout_ms > 0) {
    bt.timeout_ms = h.balance.timeout_ms;
    bt.deadline = deadline_after(std::chrono::milliseconds(h.balance.timeout_ms));
    timeouts.emplace(*bt.deadline, t);
    ++t->queued;
  }
  if (bt.after().empty() && bt.follow().empty())
    make_ready(*t);  // the common case: nothing to wait for
  else
    check_dependencies(*t);
}

Prerequisite Controller::Impl::prerequisite(const std::string& msg_id, const BalancedTask& bt) {
  if (const TaskRecord* t = tasks.find(msg_id)) return {true, t->done, t->failed, t->engine_id};
  for (const auto& [id, p] : bt.on_file())
    if (id == msg_id) return p;
  return {};
}

bool Controller::Impl::ask_file_for_prerequisites(TaskRecord& t) {
  BalancedTask& bt = *t.lb;
  bt.set_file_asked();
  std::vector<std::string> ids;
  for (const auto* dep : {&bt.after(), &bt.follow()})
    for (const auto& id : dep->ids)
      if (tasks.find(id) == nullptr && std::ranges::find(ids, id) == ids.end()) ids.push_back(id);
  if (ids.empty()) return false;
  auto found = std::make_shared<std::vector<std::optional<store::Outcome>>>();
  db->ask(
      [ids, found, below = tasks.retired_below()](sqlite::Db& file) {
        for (const auto& id : ids) {
          auto o = store::read_outcome(file, id);
          found->push_back(o && o->seq < below ? o : std::nullopt);  // (this run's unretired are held)
        }
      },
      // (no record goes while an answer is awaited: controller/retirement.cpp)
      [this, &t, ids, found] {
        found->resize(ids.size());  // a read that failed found nothing: those stay unknown
        if (t.done || !t.lb) return;
        std::vector<std::pair<std::string, Prerequisite>> on_file;
        for (std::size_t i = 0; i < ids.size(); ++i)
          if (const auto& o = (*found)[i]) on_file.push_back({ids[i], {true, true, o->failed, o->engine}});
        t.lb->set_on_file(std::move(on_file));
        check_dependencies(t);
      });
  return true;
}

void Controller::Impl::check_dependencies(TaskRecord& t) {
  if (!t.lb || t.lb->stage != BalancedTask::Stage::waiting) return;
  BalancedTask& bt = *t.lb;
  if (db && !bt.file_asked() && ask_file_for_prerequisites(t)) return;
  const PrerequisiteLookup lookup = [this, &bt](const std::string& id) { return prerequisite(id, bt); };
  const Verdict after = evaluate(bt.after(), false, lookup);
  const Verdict follow = evaluate(bt.follow(), true, lookup);
  for (const Verdict* v : {&after, &follow}) {
    if (v->state == Verdict::State::unreachable) {
      fail_balanced(t, v->code, v->why);
      return;
    }
  }
  if (after.state == Verdict::State::waiting || follow.state == Verdict::State::waiting) {
    if (!bt.watching) {
      bt.watching = true;
      for (const auto* dep : {&bt.after(), &bt.follow()})
        for (const auto& id : dep->ids)
          if (const TaskRecord* p = tasks.find(id); p != nullptr && !p->done) dependents[p].push_back(&t);
    }
    return;
  }
  bt.set_follow_engines(follow.engines);
  make_ready(t);
}

void Controller::Impl::make_ready(TaskRecord& t) {
  if (auto [code, why] = never_runnable(*t.lb); code != errc::none) {
    fail_balanced(t, code, why);
    return;
  }
  t.lb->stage = BalancedTask::Stage::ready;
  ready.push_back(&t);
  ++t.queued;
  ++unassigned;
}

void Controller::Impl::resolve_dependents() {
  while (!finished_this_turn.empty()) {
    std::vector<const TaskRecord*> now;
    now.swap(finished_this_turn);
    for (const TaskRecord* finished : now) {
      auto node = dependents.extract(finished);
      if (node.empty()) continue;
      for (TaskRecord* waiting : node.mapped()) check_dependencies(*waiting);
    }
  }
}

// ------------------------------------------------------------------------------- eligibility

bool Controller::Impl::eligible(const BalancedTask& bt, const EngineRecord& e) const {
  return e.state == EngineState::alive && (bt.allowed.empty() || has(bt.allowed, e.id)) &&
         (bt.follow_engines().empty() || has(bt.follow_engines(), e.id)) && meets(bt.require(), e.properties);
}

std::pair<errc, std::string> Controller::Impl::never_runnable(const BalancedTask& bt) const {
  if (bt.unconstrained()) {  // any alive engine will do, and with none alive it waits for one
    return {errc::none, {}};
  }
  std::vector<const EngineRecord*> in_view;
  for (const auto& e : registry.engines()) {
    if (e.state != EngineState::alive || (!bt.allowed.empty() && !has(bt.allowed, e.id))) continue;
    if (eligible(bt, e)) return {errc::none, {}};
    in_view.push_back(&e);
  }
  if (!bt.follow_engines().empty()) {
    return {errc::impossible_dependency, "it must follow its prerequisites to " + engines_text(bt.follow_engines()) +
                                             ", and no such engine is alive" +
                                             (bt.allowed.empty() ? std::string() : " in its view") +
                                             (bt.require().empty() ? "" : " with the properties it requires")};
  }
  if (in_view.empty()) {
    if (bt.allowed.empty()) return {errc::none, {}};  // no engine alive yet: it waits for one to register
    return {errc::engine_dead, "none of its view's " + engines_text(bt.allowed) +
                                   " is alive (see `crew engines`); make a view of alive engines"};
  }
  // Engines are alive, and none has the properties it requires: say what they do have.
  std::map<std::string, std::vector<int>> offers;
  for (const auto* e : in_view) offers[Value(e->properties).repr(120)].push_back(e->id);
  std::string have;
  for (const auto& [props, ids] : offers) {
    if (!have.empty()) have += "; ";
    have += engines_text(ids) + ": " + props;
  }
  return {errc::no_matching_engine, "no alive engine" + std::string(bt.allowed.empty() ? "" : " of its view") +
                                        " has the properties it requires, " + Value(bt.require()).repr(120) + " (" +
                                        have +
                                        "); start engines with them, e.g. `crew cluster add -n 2 --property "
                                        "k=v`, or relax `require`"};
}

// --------------------------------------------------------------------------------- scheduling

// The allowance is time, not a count: an engine holds the task it runs plus queued work worth one
// round trip, in its recent task length, so that it is never idle while its next task is on the
// way. One at a time when tasks are much longer than the trip (the best balance, at a cost below
// 5%), and at once when the task it runs has run long: nothing more queues behind it.
int Controller::Impl::depth(const EngineRecord& e) const {
  if (cfg.hwm > 0) return cfg.hwm;
  const WorldRecord* w = registry.world(e.world);
  if (e.task_us < 0 || w == nullptr || w->round_trip_us < 0) return 2;
  if (running_long(e, steady_ns())) return 1;
  const double ratio = w->round_trip_us / std::max(e.task_us, 1.0);
  if (ratio < 0.05) return 1;
  return static_cast<int>(std::min<double>(max_auto_depth, 1 + std::ceil(ratio)));
}

// Slack beyond what is expected: 4 round trips, at least 2 ms (a batch of replies is held up to
// 0.2 ms, and a loaded machine stalls processes for a few), and at most 0.25 s. A trip measured
// during a burst carries the bridge's backlog (0.5 s under the sanitizers on a loaded machine),
// and 4 of those kept long tasks stranded behind each other for 2 s; a needless take-back costs
// one trip, a stranded task an idle engine for the whole of a long task.
double Controller::Impl::slack_us(const EngineRecord& e) const {
  constexpr double least_us = 2'000, most_us = 250'000;
  const WorldRecord* w = registry.world(e.world);
  const double trip_us = w != nullptr && w->round_trip_us > 0 ? w->round_trip_us : 0;
  return std::clamp(4 * trip_us, least_us, most_us);
}

std::int64_t Controller::Impl::long_after_ns(const EngineRecord& e) const {
  return static_cast<std::int64_t>(1000 * (std::max(e.task_us, 0.0) + slack_us(e)));
}

double Controller::Impl::last_start_us(const EngineRecord& e, std::int64_t now_ns) const {
  if (e.in_flight.size() < 2) return 0;
  if (running_long(e, now_ns)) return std::numeric_limits<double>::infinity();
  const double task = std::max(e.task_us, 0.0);
  const double ran = static_cast<double>(now_ns - e.front_since_ns) / 1000;
  return std::max(task - ran, 0.0) + static_cast<double>(e.in_flight.size() - 2) * task;
}

bool Controller::Impl::running_long(const EngineRecord& e, std::int64_t now_ns) const {
  return !e.in_flight.empty() && e.front_since_ns > 0 && now_ns - e.front_since_ns > long_after_ns(e);
}

void Controller::Impl::schedule() {
  if (ready.empty()) return;
  std::vector<Candidate> room;  // alive engines below their mark
  for (const auto& e : registry.engines()) {
    if (e.state != EngineState::alive || e.draining) continue;
    const int load = static_cast<int>(e.in_flight.size());
    if (load < depth(e)) room.push_back({e.id, load, e.last_use});
  }
  std::vector<Candidate> fit;
  for (auto it = ready.begin(); it != ready.end() && !room.empty();) {
    TaskRecord& t = **it;
    if (!t.lb || t.lb->stage != BalancedTask::Stage::ready) {
      --t.queued;
      it = ready.erase(it);  // finished while it waited (aborted, timed out)
      continue;
    }
    BalancedTask& bt = *t.lb;
    std::span<const Candidate> choices = room;
    if (!bt.unconstrained() || !bt.tried().empty()) {
      fit.clear();
      for (const auto& c : room)
        if (eligible(bt, *registry.engine(c.engine))) fit.push_back(c);
      if (!bt.tried().empty()) {
        // A retry goes to an engine it has not failed on, if one is alive (waiting for room there).
        std::vector<Candidate> fresh;
        for (const auto& c : fit)
          if (!has(bt.tried(), c.engine)) fresh.push_back(c);
        bool fresh_alive = !fresh.empty();
        for (const auto& e : registry.engines())
          fresh_alive = fresh_alive || (eligible(bt, e) && !has(bt.tried(), e.id));
        if (!fresh.empty())
          fit.swap(fresh);
        else if (fresh_alive)
          fit.clear();
      }
      if (fit.empty()) {
        ++it;
        continue;
      }
      choices = fit;
    }
    const int engine_id = choices[pick(cfg.scheme, choices, rng)].engine;
    EngineRecord& e = *registry.engine(engine_id);
    dispatch_balanced(t, e);
    --unassigned;
    --t.queued;
    it = ready.erase(it);
    auto slot = std::find_if(room.begin(), room.end(), [&](const Candidate& c) { return c.engine == engine_id; });
    slot->load = static_cast<int>(e.in_flight.size());
    slot->last_use = e.last_use;
    if (slot->load >= depth(e)) room.erase(slot);
  }
}

void Controller::Impl::dispatch_balanced(TaskRecord& t, EngineRecord& e) {
  BalancedTask& bt = *t.lb;
  wire::Header& task = task_header;  // reused: its vectors keep their capacity
  task.kind = wire::MsgKind::balanced_task;
  task.targets.assign(1, e.id);
  task.msg_ids.resize(1);
  task.msg_ids.front() = *t.msg_id;
  task.function = bt.function;
  task.submitted_us = t.submitted_us;
  bt.seq = static_cast<std::uint32_t>(++e.balanced_seq);
  task.request_id = bt.seq;
  t.engine_id = e.id;
  t.dispatched_ns = steady_ns();
  bt.sole = onto_engine(e, &t, t.dispatched_ns);
  e.last_use = ++use_clock;
  bt.stage = BalancedTask::Stage::running;
  to_engines.add(registry.world(e.world)->peer, wire::encode_header(task), bt.payload);
}

void Controller::Impl::note_timing(const TaskRecord& t, const wire::Header& reply, EngineRecord& e) {
  if (reply.started_us <= 0 || reply.completed_us < reply.started_us) return;
  const double task_us = static_cast<double>(reply.completed_us - reply.started_us);
  e.task_us = e.task_us < 0 ? task_us : 0.9 * e.task_us + 0.1 * task_us;
  WorldRecord* w = registry.world(e.world);
  // The trip is what the task's round trip took beyond the task itself, measured only on tasks
  // that queued behind nothing on their engine: time spent behind others is not the trip, and
  // counting it fed back (a deeper queue measured a longer trip, which made the queue deeper,
  // until a burst of short tasks left long ones stranded behind each other). The least of a
  // window of samples leaves out stalls; a lower sample counts at once.
  if (t.dispatched_ns <= 0 || w == nullptr || !t.lb || !t.lb->sole) return;
  const double trip = std::max(0.0, static_cast<double>(steady_ns() - t.dispatched_ns) / 1000.0 - task_us);
  w->window_min_us = w->window_min_us < 0 ? trip : std::min(w->window_min_us, trip);
  if (w->round_trip_us < 0 || trip < w->round_trip_us) w->round_trip_us = trip;
  if (++w->window_samples >= 32) {
    w->round_trip_us = w->window_min_us;
    w->window_min_us = -1;
    w->window_samples = 0;
  }
}

// -------------------------------------------------------------------------------- timeouts

void Controller::Impl::check_timeouts(Deadline now) {
  while (!timeouts.empty() && timeouts.top().first <= now) {
    TaskRecord& t = *timeouts.top().second;
    timeouts.pop();
    --t.queued;
    if (!t.lb || t.lb->stage == BalancedTask::Stage::running) continue;
    const BalancedTask& bt = *t.lb;
    const std::string waited_for =
        bt.stage == BalancedTask::Stage::waiting
            ? "its dependencies"
            : (registry.alive_engines() == 0 ? "an engine to register" : "an engine with room that can run it");
    fail_balanced(t, errc::task_timeout,
                  "not handed to an engine within its timeout of " +
                      seconds_text(std::chrono::milliseconds(bt.timeout_ms), 3) + " (it waited for " + waited_for +
                      "); give it a longer timeout, or more engines");
  }
}

}  // namespace crew::controller
