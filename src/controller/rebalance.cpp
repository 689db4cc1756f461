// Taking back balanced tasks that an engine holds but has not started. Tasks are handed out ahead
// of need (an engine's queue covers a round trip), and a task's length is known only once it
// runs: a burst of short tasks, then long ones, can leave long tasks queued behind each other on
// one engine while another engine has nothing. So an engine that falls idle takes an unstarted
// task from one busy with a long task; and abort takes back tasks that wait on an engine. The
// engine decides (engine/task_claims.hpp): a task it has started runs to the end.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "controller/controller_impl.hpp"

namespace crew::controller {
namespace {

/// The last task `victim` holds unstarted that `idle` may run (nullptr: none).
template <class Eligible>
TaskRecord* last_unstarted(const EngineRecord& victim, const EngineRecord& idle, const Eligible& eligible) {
  for (std::size_t i = victim.in_flight.size(); i-- > 1;) {  // the first one runs
    TaskRecord* t = victim.in_flight[i];
    if (t->done || !t->lb) continue;
    const BalancedTask& bt = *t->lb;
    if (bt.seq != 0 && !bt.pinned && bt.withdrawing == BalancedTask::Withdraw::none && eligible(bt, idle)) return t;
  }
  return nullptr;
}

}  // namespace

// It looks when something changed that could let an engine take over a task: an engine fell idle
// or was freed from a steal, worlds came, went or began to drain, a task turns long (the timer);
// and, while some engine is idle, whenever any engine's tasks change.
void Controller::Impl::rebalance() {
  if (!rebalance_due && !(next_rebalance_ns && *next_rebalance_ns <= steady_ns()))
    return;  // the clock only while a timer is set
  const std::int64_t now = steady_ns();
  rebalance_due = false;
  next_rebalance_ns.reset();
  engines_idle = true;  // unknown until looked at
  if (balanced_pending == 0) return;
  std::vector<EngineRecord*> idle;
  for (auto& e : registry.engines())
    if (e.state == EngineState::alive && !e.draining && e.in_flight.empty() && !e.awaiting_steal) idle.push_back(&e);
  engines_idle = !idle.empty();
  if (idle.empty()) return;
  // Engines whose last task would start later than a trip there and back (and the slack) from
  // now; and when the others' tasks would turn long, making them so.
  std::vector<std::pair<EngineRecord*, double>> busy;
  for (auto& e : registry.engines()) {
    if (e.state != EngineState::alive || e.in_flight.size() < 2) continue;
    if (const double wait = last_start_us(e, now); wait > slack_us(e)) {
      busy.emplace_back(&e, wait);
    } else if (e.front_since_ns > 0) {
      const std::int64_t at = e.front_since_ns + long_after_ns(e) + 1;
      next_rebalance_ns = next_rebalance_ns ? std::min(*next_rebalance_ns, at) : at;
    }
  }
  if (busy.empty()) return;
  // Longest wait first; then the engine holding the most.
  std::sort(busy.begin(), busy.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first->in_flight.size() > b.first->in_flight.size();
  });
  const auto can_run = [this](const BalancedTask& bt, const EngineRecord& e) { return eligible(bt, e); };
  for (EngineRecord* thief : idle) {
    // Its last one, which would start latest.
    TaskRecord* prize = nullptr;
    for (const auto& [victim, wait] : busy)
      if ((prize = last_unstarted(*victim, *thief, can_run)) != nullptr) break;
    if (prize == nullptr) continue;
    thief->awaiting_steal = true;
    prize->lb->set_steal_for(thief->id);
    spdlog::debug("engine {} is idle: asking engine {} to give back task {}", thief->id, prize->engine_id,
                  *prize->msg_id);
    request_withdraw(*prize, BalancedTask::Withdraw::steal);
  }
}

void Controller::Impl::request_withdraw(TaskRecord& t, BalancedTask::Withdraw why) {
  BalancedTask& bt = *t.lb;
  const EngineRecord* e = registry.engine(t.engine_id);
  const WorldRecord* w = e != nullptr ? registry.world(e->world) : nullptr;
  if (w == nullptr) return;
  bt.withdrawing = why;
  wire::Header h;
  h.kind = wire::MsgKind::withdraw_request;
  h.targets = {e->id};
  h.msg_ids = {*t.msg_id};
  h.request_id = bt.seq;
  h.function = bt.function;
  h.submitted_us = t.submitted_us;
  to_bridge(w->peer, wire::make_message(h));
}

void Controller::Impl::on_withdraw_refused(const WorldRecord& w, const wire::Packet& p) {
  if (p.header.msg_ids.size() != 1) throw ProtocolError(errc::malformed, "a withdraw_reply names one task");
  TaskRecord* t = tasks.find(p.header.msg_ids.front());
  // Only the world holding the task speaks for it.
  if (t == nullptr || t->engine_id < w.first_engine || t->engine_id >= w.first_engine + w.size) {
    ++stats.dropped_unexpected;
    return;
  }
  settle_abort(*t, false);
  spdlog::debug("engine {} had started task {}: it stays", t->engine_id, *t->msg_id);
  if (!t->lb || t->done || t->lb->seq != p.header.request_id) return;  // ended, or handed out again since
  end_steal(*t);
  t->lb->withdrawing = BalancedTask::Withdraw::none;
  t->lb->pinned = true;
}

void Controller::Impl::end_steal(TaskRecord& t) {
  if (!t.lb || t.lb->steal_for() < 0) return;
  if (EngineRecord* idle = registry.engine(t.lb->steal_for())) idle->awaiting_steal = false;
  t.lb->set_steal_for(-1);
  rebalance_due = true;
}

}  // namespace crew::controller
