// Completing a task, whichever path sent it: an engine's reply (or a task given back unstarted),
// a failure, a retry of a balanced task elsewhere, and delivery of the result to its client.
// Direct work, collectives and the load balancer all end here.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/targets.hpp"
#include "controller/controller_impl.hpp"

namespace crew::controller {

// ------------------------------------------------------------------------------ replies

void Controller::Impl::on_reply(const WorldRecord& w, wire::Packet& p) {
  if (p.header.msg_ids.empty()) throw_error(errc::malformed, "an apply_reply without a msg_id");
  const std::string& msg_id = p.header.msg_ids.front();
  TaskRecord* t = tasks.find(msg_id);
  if (t != nullptr && !t->collective().empty()) {
    auto rec = collectives.find(t->collective());
    if (rec != collectives.end() && wire::answers_once_per_world(rec->second.op)) {
      const bool ours = t->engine_id >= w.first_engine && t->engine_id < w.first_engine + w.size;
      if (ours && !t->done) join_part(t->collective(), w.id, &p, {});
      return;
    }
  }
  if (p.header.msg_ids.size() != 1) {
    // A world's one answer for a gather or reduce whose collective ended without it (the world
    // was declared dead meanwhile, and came back): late, like any answer of a dead world.
    if (t != nullptr && t->done && !t->collective().empty()) {
      ++stats.dropped_unexpected;
      spdlog::warn("dropped world {}'s late answer to {} (task {}): it had failed already", w.id, p.header.function,
                   msg_id);
      return;
    }
    throw_error(errc::malformed, "an apply_reply needs exactly one msg_id");
  }
  // Only the world holding the task may answer it, for the engine it was sent to.
  const bool ours = t != nullptr && t->engine_id == p.header.engine_id && t->engine_id >= w.first_engine &&
                    t->engine_id < w.first_engine + w.size;
  if (!ours) {
    ++stats.dropped_unexpected;
    spdlog::warn("dropped a reply from world {} for {} task {}", w.id, t ? "another world's" : "unknown", msg_id);
    return;
  }
  EngineRecord* e = registry.engine(t->engine_id);
  if (!off_engine(*e, t)) {
    // Answered already, or failed when its world was declared dead: keep the first answer.
    ++stats.dropped_unexpected;
    spdlog::warn("dropped a second reply for task {}", msg_id);
    return;
  }
  if (t->done) return;
  if (t->balanced && p.header.error.code == errc::withdrawn) {
    take_back(*t, *e);
    return;
  }
  ++e->completed;
  const bool failed = p.header.error.failed();
  if (t->balanced) {
    note_timing(*t, p.header, *e);
    if (failed && retry(*t, e->id, p.header.error)) return;
  }
  t->set_reply(std::move(p.signature), std::move(p.header_bytes), p.payload);
  complete(*t, failed, &p.header);
  if (!t->collective().empty()) turn_progress(t->collective(), *t);
}

/// Builds a failed task's reply into its record (signed, ready to resend).
void Controller::Impl::store_failure(TaskRecord& t, const std::string& msg_id, const std::string& function,
                                     const wire::ErrorInfo& error) {
  wire::Header h;
  h.kind = wire::MsgKind::apply_reply;
  h.msg_ids = {msg_id};
  h.engine_id = t.engine_id;
  h.function = function;
  h.submitted_us = t.submitted_us;
  h.completed_us = now_us();
  h.error = error;
  wire::Outgoing m = wire::make_message(h);
  Buffer signature = engines.signature_of(m.header_bytes, m.payload);
  t.set_reply(std::move(signature), std::move(m.header_bytes), m.payload);
}

void Controller::Impl::fail_task(TaskRecord& t, const std::string& function, const wire::ErrorInfo& error) {
  store_failure(t, *t.msg_id, function, error);
  complete(t, true);
  if (!t.collective().empty()) turn_progress(t.collective(), t);
}

void Controller::Impl::complete(TaskRecord& t, bool failed, const wire::Header* reply) {
  tasks.mark_done(t, failed);
  record_final(t, reply);
  deliver(t);
  if (!abort_waits.empty()) settle_abort(t, false);  // it finished on its engine after all
  if (t.lb) {
    end_steal(t);
    t.lb.reset();
    --balanced_pending;
  }
  if (!dependents.empty() && dependents.count(&t) != 0) finished_this_turn.push_back(&t);
}

void Controller::Impl::deliver(const TaskRecord& t) {
  tell(t.client, t.header_bytes, t.body(), t.signature());
  for (const auto& other : t.watchers()) tell(other, t.header_bytes, t.body(), t.signature());
}

TaskRecord* Controller::Impl::add_task(const std::string& msg_id, TaskRecord record) {
  if (!awaiting_resend.empty()) awaiting_resend.erase(msg_id);  // its client sent it again (resume)
  TaskRecord* t = tasks.add(msg_id, std::move(record));
  if (t != nullptr && db) db->taken(t->seq, msg_id, &tasks.function_name(*t), t->engine_id, t->submitted_us);
  return t;
}

void Controller::Impl::record_final(const TaskRecord& t, const wire::Header* reply) {
  if (db) db->finished(t.seq, *t.msg_id, t.engine_id, t.failed, t.streamed, t.header_bytes, t.body(), reply);
}

void Controller::Impl::tell(PeerId client, const Buffer& header_bytes, std::span<const Buffer> payload,
                            const Buffer& signature) {
  // Once one waits, the rest wait behind it: a client hears in the order it was told.
  if (db && (!held.empty() || db->durable_after() > db->committed())) {
    held.push_back({db->durable_after(), client, header_bytes, {payload.begin(), payload.end()}, signature});
    return;
  }
  to_client(client, header_bytes, payload, signature);
}

void Controller::Impl::release_held() {
  const std::uint64_t committed = db->committed();
  while (!held.empty() && held.front().turn <= committed) {
    const Held& h = held.front();
    to_client(h.client, h.header_bytes, {h.payload.data(), h.payload.size()}, h.signature);
    held.pop_front();
  }
  // A bridge forgets what it sent once it is on record here (it would send it again to a restored
  // controller); acknowledgements are cumulative, so only the last due for a world counts.
  while (!acks.empty() && acks.front().turn <= committed) {
    const AckDue a = acks.front();
    acks.pop_front();
    if (!acks.empty() && acks.front().world == a.world && acks.front().turn <= committed) continue;
    const WorldRecord* w = registry.world(a.world);
    if (w == nullptr || w->state != EngineState::alive) continue;
    wire::Header ack;
    ack.kind = wire::MsgKind::reply_ack;
    ack.request_id = a.count;
    to_bridge(w->peer, wire::make_message(ack));
  }
}

bool Controller::Impl::onto_engine(EngineRecord& e, TaskRecord* t, std::int64_t now_ns) {
  const bool alone = e.in_flight.empty();
  if (alone) e.front_since_ns = now_ns;
  e.in_flight.push_back(t);
  rebalance_due |= engines_idle;  // an idle engine might take it over
  if (alone) tell_activity(e, "busy");
  return alone;
}

bool Controller::Impl::off_engine(EngineRecord& e, const TaskRecord* t) {
  auto& q = e.in_flight;
  auto it = !q.empty() && q.front() == t ? q.begin() : std::find(q.begin(), q.end(), t);
  if (it == q.end()) return false;
  if (it == q.begin()) e.front_since_ns = steady_ns();  // the next one starts now
  q.erase(it);
  rebalance_due |= engines_idle || q.empty();  // it fell idle, or another might take over its next
  if (q.empty()) tell_activity(e, "idle");
  return true;
}

bool Controller::Impl::take_in_flight(TaskRecord* t, int engine_id) {
  EngineRecord* e = registry.engine(engine_id);
  if (e == nullptr || !off_engine(*e, t)) return false;
  ++e->completed;
  return true;
}

// ------------------------------------------------------------------- retries and take-backs

bool Controller::Impl::retry(TaskRecord& t, int engine, const wire::ErrorInfo& error) {
  if (!t.lb || t.lb->retries_left <= 0) return false;
  BalancedTask& bt = *t.lb;
  --bt.retries_left;
  bt.failed_on(engine, error);
  if (!abort_waits.empty()) settle_abort(t, false);  // it had started
  end_steal(t);
  bt.withdrawing = BalancedTask::Withdraw::none;
  bt.pinned = false;
  ++retried;
  t.engine_id = -1;
  t.dispatched_ns = 0;
  bt.stage = BalancedTask::Stage::ready;
  ready.push_front(&t);
  ++t.queued;
  ++unassigned;
  spdlog::debug("task {} failed on engine {} ({}); retrying, {} retr{} left", *t.msg_id, engine, error.message,
                bt.retries_left, bt.retries_left == 1 ? "y" : "ies");
  return true;
}

void Controller::Impl::take_back(TaskRecord& t, EngineRecord& e) {
  BalancedTask& bt = *t.lb;
  const auto why = std::exchange(bt.withdrawing, BalancedTask::Withdraw::none);
  t.engine_id = -1;
  t.dispatched_ns = 0;
  if (why == BalancedTask::Withdraw::abort) {
    settle_abort(t, true);
    fail_balanced(t, errc::aborted,
                  "aborted by a client before it started (engine " + std::to_string(e.id) + " gave it back)");
    return;
  }
  if (why == BalancedTask::Withdraw::none) {
    // The engine's clock said its world drains before ours did: take its word now, or the task
    // would go straight back to it.
    if (WorldRecord* w = registry.world(e.world)) start_drain(*w);
    ++stats.tasks_withdrawn;
    spdlog::debug("task {} came back unstarted from draining engine {}", *t.msg_id, e.id);
  } else {
    ++stats.tasks_rebalanced;
    spdlog::debug("task {} came back unstarted from engine {}, for engine {}", *t.msg_id, e.id, bt.steal_for());
  }
  EngineRecord* idle = bt.steal_for() >= 0 ? registry.engine(bt.steal_for()) : nullptr;
  end_steal(t);
  bt.stage = BalancedTask::Stage::ready;
  if (idle != nullptr && idle->state == EngineState::alive && !idle->draining && idle->in_flight.empty() &&
      eligible(bt, *idle)) {
    dispatch_balanced(t, *idle);  // straight to the engine it was taken back for
    return;
  }
  ready.push_front(&t);
  ++t.queued;
  ++unassigned;
}

void Controller::Impl::fail_balanced(TaskRecord& t, errc code, const std::string& message) {
  if (t.done) return;
  std::string function;
  wire::ErrorInfo error{code, "crew." + std::string(errc_name(code)), message, {}};
  if (t.lb) {
    BalancedTask& bt = *t.lb;
    function = bt.function;
    // Its entry in `ready` stays, to be dropped when schedule() reaches it: erasing it here
    // would make aborting a long queue quadratic.
    if (bt.stage == BalancedTask::Stage::ready) --unassigned;
    // After failed tries, the last engine's error is the one to report, with why it stopped.
    if (bt.last_error() && code != errc::aborted) {
      error = *bt.last_error();
      error.message += " (tried on " + engines_text(bt.tried()) + "; then: " + message + ")";
    }
  }
  error.context = function;
  fail_task(t, function, error);
}

}  // namespace crew::controller
