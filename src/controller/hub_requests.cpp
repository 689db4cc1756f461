// Client requests to the hub: engines, stats, and the client-facing switch.
#include "controller/controller_impl.hpp"

#include <spdlog/spdlog.h>

#include "common/units.hpp"
#include "crew/json.hpp"
#include "crew/version.hpp"
#include "protocol/hub_queries.hpp"
#include "protocol/typed_body.hpp"

#include <algorithm>
#include <set>

#include <unistd.h>

namespace crew::controller {
namespace {

/// A client's number as the start of its msg ids: base 36, short ("1", "a", "2s").
std::string session_name(std::uint64_t n) {
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  do {
    s.insert(s.begin(), digits[n % 36]);
    n /= 36;
  } while (n > 0);
  return s;
}

}  // namespace

void Controller::Impl::on_client(PeerId client, wire::Packet&& p) {
  switch (p.header.kind) {
  case wire::MsgKind::hello: {
    const wire::HelloReply hello{version_string,
                                 cfg.profile,
                                 static_cast<std::int64_t>(::getpid()),
                                 registry.alive_engines(),
                                 session_name(next_session++),
                                 static_cast<std::uint64_t>(cfg.max_message_bytes),
                                 db != nullptr};
    // With a task database, sessions go on across runs (their msg ids stay unique in it): the
    // reply waits for the number to be written.
    if (db) {
      db->set_meta("next_session", std::to_string(next_session));
      // A restored controller gives the results of tasks that were running to this client.
      db->set_meta(store::session_key(hello.session), client_peers.name(client));
    }
    const auto m = wire::make_typed_message(reply_to(p.header, wire::MsgKind::hello_reply), hello);
    tell(client, m.header_bytes, m.payload);
    break;
  }
  case wire::MsgKind::engines_request: on_engines_request(client, p); break;
  case wire::MsgKind::resume_request: on_resume_request(client, std::move(p)); break;
  case wire::MsgKind::direct_task: dispatch(client, p); break;
  case wire::MsgKind::collective_request: dispatch_collective(client, p); break;
  case wire::MsgKind::balanced_request: submit_balanced(client, std::move(p)); break;
  case wire::MsgKind::stream_chunk: route_chunk(client, p); break;
  case wire::MsgKind::queue_request: {
    const auto m = wire::make_typed_message(reply_to(p.header, wire::MsgKind::queue_reply), queue_now());
    to_client(client, m.header_bytes, m.payload);
    break;
  }
  case wire::MsgKind::result_request: on_result_request(client, p); break;
  case wire::MsgKind::abort_request: on_abort_request(client, p); break;
  case wire::MsgKind::history_request: on_history_request(client, p); break;
  case wire::MsgKind::purge_request: on_purge_request(client, p); break;
  case wire::MsgKind::output_subscribe: on_output_subscribe(client, p); break;
  case wire::MsgKind::output_ack: on_output_ack(client, p); break;
  case wire::MsgKind::stats_request:
    send_to_client(client, reply_to(p.header, wire::MsgKind::stats_reply), stats_value());
    break;
  case wire::MsgKind::shutdown_request:
    stop_requesters.emplace_back(client, p.header.request_id);
    begin_stop();
    break;
  default: {
    ++stats.dropped_unexpected;
    auto h = reply_to(p.header, wire::MsgKind::request_error);
    h.error = {errc::unexpected,
               "crew.protocol.unexpected",
               "the controller does not take " + std::string(wire::kind_name(p.header.kind)) + " from clients",
               {}};
    send_to_client(client, h);
  }
  }
}

void Controller::Impl::on_engines_request(PeerId client, const wire::Packet& p) {
  const auto ask = wire::read_typed_body<wire::EnginesRequest>(p);
  if (registry.alive_engines() >= ask.wait_for || ask.wait_ms == 0) {
    send_engines(client, p.header.request_id);
    return;
  }
  waiters.push_back(
      {client, p.header.request_id, ask.wait_for, deadline_after(std::chrono::milliseconds(ask.wait_ms))});
}

void Controller::Impl::send_engines(PeerId client, std::uint64_t request_id) {
  wire::EnginesReply reply;
  for (const auto& e : registry.engines()) {
    const WorldRecord* w = registry.world(e.world);
    wire::EngineEntry& entry = reply.engines.emplace_back();
    entry.id = e.id;
    entry.host = e.host;
    entry.pid = e.pid;
    entry.rank = e.rank;
    entry.world = e.world;
    entry.world_size = w ? w->size : 0;
    entry.state = state_name(e.state);
    entry.tasks = static_cast<std::int32_t>(e.in_flight.size());
    entry.completed = static_cast<std::int64_t>(e.completed);
    entry.properties = to_json_text(Value(e.properties));
    if (w) {
      entry.launcher = w->launcher;
      entry.job_id = w->job_id;
      entry.job_end = w->job_end;
    }
    entry.draining = e.draining;
  }
  wire::Header h;
  h.kind = wire::MsgKind::engines_reply;
  h.request_id = request_id;
  const auto m = wire::make_typed_message(h, reply);
  to_client(client, m.header_bytes, m.payload);
}

void Controller::Impl::answer_waiters() {
  if (waiters.empty()) return;
  const auto now = clock::now();
  const int alive = registry.alive_engines();
  std::vector<Waiter> keep;
  for (auto& w : waiters) {
    if (alive >= w.wait_for || now >= w.deadline)
      send_engines(w.client, w.request_id);
    else
      keep.push_back(std::move(w));
  }
  waiters.swap(keep);
}

Value Controller::Impl::stats_value() const {
  Value v =
      Value::dict({{"dropped_bad_signature", static_cast<std::int64_t>(stats.dropped_bad_signature)},
                   {"dropped_oversized", static_cast<std::int64_t>(stats.dropped_oversized)},
                   {"dropped_malformed", static_cast<std::int64_t>(stats.dropped_malformed)},
                   {"dropped_replayed", static_cast<std::int64_t>(stats.dropped_replayed)},
                   {"dropped_unexpected", static_cast<std::int64_t>(stats.dropped_unexpected)},
                   {"dropped_revoked", static_cast<std::int64_t>(stats.dropped_revoked)},
                   {"unroutable", static_cast<std::int64_t>(stats.unroutable)},
                   {"handler_errors", static_cast<std::int64_t>(stats.handler_errors)},
                   {"worlds_revived", static_cast<std::int64_t>(stats.worlds_revived)},
                   {"worlds_drained", static_cast<std::int64_t>(stats.worlds_drained)},
                   {"tasks_withdrawn", static_cast<std::int64_t>(stats.tasks_withdrawn)},
                   {"tasks_rebalanced", static_cast<std::int64_t>(stats.tasks_rebalanced)},
                   {"worlds_reattached", static_cast<std::int64_t>(stats.worlds_reattached)},
                   {"tasks_adopted", static_cast<std::int64_t>(stats.tasks_adopted)},
                   {"tasks_abandoned", static_cast<std::int64_t>(stats.tasks_abandoned)},
                   {"output_bytes_out", static_cast<std::int64_t>(stats.output_bytes_out)},
                   {"output_bytes_dropped", static_cast<std::int64_t>(stats.output_bytes_dropped)},
                   {"incarnation", fmt::format("{:016x}", incarnation)},
                   {"tasks_submitted", static_cast<std::int64_t>(tasks.counts().submitted)},
                   {"tasks_completed", static_cast<std::int64_t>(tasks.counts().completed)},
                   {"tasks_failed", static_cast<std::int64_t>(tasks.counts().failed)},
                   {"tasks_stored", static_cast<std::int64_t>(tasks.size())},
                   {"tasks_purged", static_cast<std::int64_t>(tasks.purged())},
                   {"tasks_retired", static_cast<std::int64_t>(tasks.retired())},
                   {"max_records", static_cast<std::int64_t>(cfg.max_records)},
                   {"retire_step", static_cast<std::int64_t>(retire_step())},
                   {"result_bytes_kept", static_cast<std::int64_t>(tasks.kept_bytes())},
                   {"engines_alive", registry.alive_engines()},
                   {"pid", static_cast<std::int64_t>(::getpid())},
                   {"heartbeat_ms", cfg.heartbeat_ms},
                   {"worlds", static_cast<std::int64_t>(registry.worlds().size())},
                   {"tasks_retried", static_cast<std::int64_t>(retried)},
                   {"messages_in", static_cast<std::int64_t>(stats.messages_in)},
                   {"members_in", static_cast<std::int64_t>(stats.members_in)},
                   {"stream_bytes", static_cast<std::int64_t>(stats.stream_bytes)},
                   {"messages_out", static_cast<std::int64_t>(to_clients.messages_sent() + to_engines.messages_sent())},
                   {"members_out", static_cast<std::int64_t>(to_clients.members_sent() + to_engines.members_sent())},
                   {"balanced_pending", static_cast<std::int64_t>(balanced_pending)}});
  {
    auto& d = v.as_dict();
    const transport::CurveCounts c = zap ? zap->counts() : transport::CurveCounts{};
    d["curve"] = zap != nullptr;
    d["curve_admitted"] = static_cast<std::int64_t>(c.admitted);
    d["refused_unknown_key"] = static_cast<std::int64_t>(c.refused_unknown_key);
    d["refused_revoked_key"] = static_cast<std::int64_t>(c.refused_revoked_key);
    d["refused_plaintext"] = static_cast<std::int64_t>(c.refused_plaintext);
    d["refused_handshake"] = static_cast<std::int64_t>(c.refused_handshake);
  }
  if (db) {
    auto& d = v.as_dict();
    d["db_file"] = db->file().string();
    d["db_commits"] = static_cast<std::int64_t>(db->commits());
    d["db_held"] = static_cast<std::int64_t>(held.size());
    if (const std::string why = db->broken(); !why.empty()) d["db_error"] = why;
  }
  return v;
}

wire::QueueReply Controller::Impl::queue_now() {
  wire::QueueReply q;
  for (const auto& e : registry.engines()) {
    q.engines.push_back({e.id, e.world, std::string(state_name(e.state)), static_cast<std::int32_t>(e.in_flight.size()),
                         static_cast<std::int64_t>(e.completed), e.state == EngineState::alive ? depth(e) : 0});
  }
  std::set<const TaskRecord*> waiting;  // each task waits in the list of every unfinished prerequisite
  for (const auto& [prerequisite, list] : dependents)
    for (const TaskRecord* t : list)
      if (t->lb && t->lb->stage == BalancedTask::Stage::waiting) waiting.insert(t);
  q.unassigned = static_cast<std::int64_t>(unassigned);
  q.waiting = static_cast<std::int64_t>(waiting.size());
  q.scheme = scheme_name(cfg.scheme);
  q.hwm = cfg.hwm;
  q.submitted = static_cast<std::int64_t>(tasks.counts().submitted);
  q.completed = static_cast<std::int64_t>(tasks.counts().completed);
  q.failed = static_cast<std::int64_t>(tasks.counts().failed);
  q.retried = static_cast<std::int64_t>(retried);
  return q;
}

// result_status / get_result: where each task stands; with `resend`, finished replies are sent
// again to this client, and pending ones will be when they come.
void Controller::Impl::on_result_request(PeerId client, const wire::Packet& p) {
  const auto ask = wire::read_typed_body<wire::ResultRequest>(p);
  const auto& ids = ask.msg_ids;
  const bool resend = ask.resend;
  wire::ResultReply stand;
  auto& [pending, completed, failed, unknown] = stand;
  std::vector<TaskRecord*> to_resend;
  for (const auto& id : ids) {
    TaskRecord* t = tasks.find(id);
    if (t == nullptr) {
      unknown.push_back(id);
      continue;
    }
    if (!t->done) {
      pending.push_back(id);
      if (resend && t->client != client && std::ranges::find(t->watchers(), client) == t->watchers().end())
        t->extra().watchers.push_back(client);
      continue;
    }
    (t->failed ? failed : completed).push_back(id);
    if (resend) to_resend.push_back(t);
  }
  // With a task database, ids unknown here may be of earlier runs or retired, and evicted results
  // are read back: the answer waits for those reads.
  std::vector<std::string> evicted;
  if (db && resend)
    for (const TaskRecord* t : to_resend)
      if (t->evicted && !t->streamed) evicted.push_back(*t->msg_id);
  if (db && (!unknown.empty() || !evicted.empty())) {
    struct Reads {
      std::vector<std::string> ids;
      std::vector<std::string> evicted;                      // this run's, by id
      std::vector<std::optional<store::StoredReply>> found;  // ids', then evicted ones'
    };
    auto reads = std::make_shared<Reads>(Reads{unknown, std::move(evicted), {}});
    db->ask(
        [reads, below = tasks.retired_below()](sqlite::Db& file) {
          for (const auto& id : reads->ids) {
            auto r = store::read_reply(file, id);
            reads->found.push_back(r && r->seq < below ? std::move(r) : std::nullopt);
          }
          for (const auto& id : reads->evicted) reads->found.push_back(store::read_reply(file, id));
        },
        [this, client, header = p.header, stand, to_resend, resend, reads]() mutable {
          // (a read that failed found nothing: the ids stay unknown, the results as evicted)
          reads->found.resize(reads->ids.size() + reads->evicted.size());
          std::vector<std::string> still_unknown;
          std::vector<const store::StoredReply*> stored;
          for (std::size_t i = 0; i < reads->ids.size(); ++i) {
            const auto& r = reads->found[i];
            if (!r) {
              still_unknown.push_back(reads->ids[i]);
              continue;
            }
            (r->state == wire::TaskState::failed ? stand.failed : stand.completed).push_back(r->msg_id);
            stored.push_back(&*r);
          }
          stand.unknown = std::move(still_unknown);
          const auto m = wire::make_typed_message(reply_to(header, wire::MsgKind::result_reply), stand);
          to_client(client, m.header_bytes, m.payload);
          std::size_t next_evicted = reads->ids.size();
          for (TaskRecord* t : to_resend) {
            if (t->evicted && !t->streamed && reads->found[next_evicted]) {
              tell_stored(client, *reads->found[next_evicted++]);
              continue;
            }
            if (t->evicted && !t->streamed) ++next_evicted;
            resend_record(client, *t);
          }
          if (resend)
            for (const auto* r : stored) tell_stored(client, *r);
        });
    return;
  }
  const auto m = wire::make_typed_message(reply_to(p.header, wire::MsgKind::result_reply), stand);
  to_client(client, m.header_bytes, m.payload);
  for (TaskRecord* t : to_resend) resend_record(client, *t);
}

void Controller::Impl::tell_stored(PeerId client, const store::StoredReply& r) {
  if (r.kept == store::Kept::here && !r.header.empty()) {
    tell(client, r.header, r.payload, engines.signature_of(r.header, r.payload));
    return;
  }
  // No result to send: its reply says why.
  const wire::Header h = r.header.empty() ? wire::Header() : wire::decode_header(r.header.bytes());
  TaskRecord gone = new_task(0, r.engine, h.submitted_us);
  const errc code = r.header.empty() ? errc::controller_restarted : errc::unknown_task;
  const std::string why =
      r.header.empty() ? "the controller that held it died before it finished; it did not run to an end on its watch"
      : r.kept == store::Kept::streamed
          ? "it succeeded, but its array went to the client that asked for it and was not kept (gather it again)"
          : "it " + std::string(r.state == wire::TaskState::failed ? "failed" : "succeeded") + ", but its result (" +
                bytes_text(r.bytes) + ") is above the task database's --db-max-result, so only its client got it";
  store_failure(gone, r.msg_id, h.function, {code, "crew." + std::string(errc_name(code)), why, h.function});
  tell(client, gone.header_bytes, gone.body(), gone.signature());
}

void Controller::Impl::resend_record(PeerId client, const TaskRecord& t) {
  if (t.forgotten) return;  // purged while the answer waited for the task database
  if (!t.evicted) {
    tell(client, t.header_bytes, t.body(), t.signature());
    return;
  }
  // Its record stays, its data went to keep the store within budget: say so, as its reply.
  TaskRecord gone = new_task(t.client, t.engine_id, t.submitted_us);
  const wire::Header h = wire::decode_header(t.header_bytes.bytes());
  store_failure(gone, h.msg_ids.empty() ? std::string() : h.msg_ids.front(), h.function,
                {errc::unknown_task, "crew.input.unknown_task",
                 t.streamed ? std::string("it succeeded, but its array went to the client that asked for it "
                                          "(streamed through the controller, or copied straight into "
                                          "the client) and was not kept (gather it again)")
                            : std::string(t.failed ? "it failed" : "it succeeded") +
                                  ", but its result data was dropped to keep the controller's result store within "
                                  "its budget (fetch large results sooner, purge old ones, or keep them all with "
                                  "--db sqlite)",
                 h.function});
  tell(client, gone.header_bytes, gone.body(), gone.signature());
}

// Aborts balanced tasks that have not started: those still here at once, those an engine holds
// unstarted once it gives them back (the answer waits for that). Nothing is aborted if any id is
// unknown; if every task had finished, the answer is an error (there was nothing to abort).
void Controller::Impl::on_abort_request(PeerId client, const wire::Packet& p) {
  const auto ids = wire::read_typed_body<wire::AbortRequest>(p).msg_ids;
  std::vector<std::string> unknown, finished, running, abortable;
  std::vector<TaskRecord*> on_engines;
  for (const auto& id : ids) {
    TaskRecord* t = tasks.find(id);
    if (t == nullptr)
      unknown.push_back(id);
    else if (t->done)
      finished.push_back(id);
    else if (t->lb && t->lb->stage != BalancedTask::Stage::running)
      abortable.push_back(id);
    else if (t->lb && !t->lb->pinned && t->lb->seq != 0)
      on_engines.push_back(t);
    else
      running.push_back(id);
  }
  auto reply = reply_to(p.header, wire::MsgKind::abort_reply);
  if (!unknown.empty()) {
    reply.error = {errc::unknown_task,
                   "crew.input.unknown_task",
                   "no task " + unknown.front() +
                       (unknown.size() > 1 ? " (and " + std::to_string(unknown.size() - 1) + " more)" : "") +
                       " is known to the controller; nothing was aborted (check the ids with `crew results`)",
                   {}};
    send_to_client(client, reply);
    return;
  }
  if (abortable.empty() && running.empty() && on_engines.empty()) {
    reply.error = {errc::already_done,
                   "crew.input.already_done",
                   (finished.size() == 1 ? "task " + finished.front() + " has"
                                         : "all " + std::to_string(finished.size()) + " tasks have") +
                       " already finished; nothing to abort (the results stay available: `crew results`)",
                   {}};
    send_to_client(client, reply);
    return;
  }
  for (const auto& id : abortable)
    fail_balanced(*tasks.find(id), errc::aborted, "aborted by a client before it was handed to an engine");
  abort_on_engines(PendingAbort{client, reply, std::move(abortable), std::move(finished), std::move(running)},
                   on_engines);
}

void Controller::Impl::abort_on_engines(PendingAbort pending, const std::vector<TaskRecord*>& on_engines) {
  if (on_engines.empty()) {
    answer_abort(pending);
    return;
  }
  const std::uint64_t ticket = next_abort_ticket++;
  pending.open = on_engines.size();
  pending_aborts.emplace(ticket, std::move(pending));
  for (TaskRecord* t : on_engines) {
    abort_waits[t].push_back(ticket);
    BalancedTask& bt = *t->lb;
    if (bt.withdrawing == BalancedTask::Withdraw::none) {
      request_withdraw(*t, BalancedTask::Withdraw::abort);
    } else {  // already asked back for an idle engine: it ends instead
      end_steal(*t);
      bt.withdrawing = BalancedTask::Withdraw::abort;
    }
  }
}

void Controller::Impl::settle_abort(const TaskRecord& t, bool aborted) {
  auto node = abort_waits.extract(&t);
  if (node.empty()) return;
  for (const std::uint64_t ticket : node.mapped()) {
    auto it = pending_aborts.find(ticket);
    if (it == pending_aborts.end()) continue;
    PendingAbort& a = it->second;
    (aborted ? a.aborted : a.running).push_back(*t.msg_id);
    if (--a.open > 0) continue;
    answer_abort(a);
    pending_aborts.erase(it);
  }
}

void Controller::Impl::answer_abort(const PendingAbort& a) {
  const auto m = wire::make_typed_message(a.reply, wire::AbortReply{a.aborted, a.done, a.running});
  to_client(a.client, m.header_bytes, m.payload);
}

// history: every task on record that matches, oldest first (in the order the controller took
// them), with what became of it. A finished task's times and error are read from its reply.
void Controller::Impl::on_history_request(PeerId client, const wire::Packet& p) {
  const auto ask = wire::read_typed_body<wire::HistoryRequest>(p);
  const auto wanted = [&](wire::TaskState s) {
    return ask.only.empty() || std::ranges::find(ask.only, static_cast<std::uint8_t>(s)) != ask.only.end();
  };
  const auto state_of = [](const TaskRecord& t) {
    return !t.done ? wire::TaskState::pending : t.failed ? wire::TaskState::failed : wire::TaskState::ok;
  };
  // First the matches (a look at each record), then entries for those listed (a reply decoded each).
  std::vector<const TaskRecord*> matched;
  tasks.for_each([&](const TaskRecord& t) {
    if (t.submitted_us < ask.since_us || !wanted(state_of(t))) return;
    if (!ask.engines.empty() && std::ranges::find(ask.engines, t.engine_id) == ask.engines.end()) return;
    matched.push_back(&t);
  });
  wire::HistoryReply reply;
  reply.matched = matched.size();
  const std::size_t first = ask.last > 0 && matched.size() > ask.last ? matched.size() - ask.last : 0;
  reply.tasks.reserve(matched.size() - first);
  for (std::size_t i = first; i < matched.size(); ++i) {
    const TaskRecord& t = *matched[i];
    const wire::TaskState state = state_of(t);
    wire::HistoryEntry e;
    e.msg_id = *t.msg_id;
    e.function = tasks.function_name(t);
    e.engine = t.engine_id;
    e.state = static_cast<std::uint8_t>(state);
    e.submitted_us = t.submitted_us;
    if (t.done && !t.header_bytes.empty()) {
      const wire::Header h = wire::decode_header(t.header_bytes.bytes());
      e.started_us = h.started_us;
      e.completed_us = h.completed_us;
      if (h.error.failed()) e.error = h.error.type;
      if (e.function.empty()) e.function = h.function;
    }
    reply.tasks.push_back(std::move(e));
  }
  // With a task database, earlier runs' tasks and retired ones come first, from the file.
  if (db && (db->start().records > 0 || tasks.retired() > 0) && (ask.last == 0 || matched.size() < ask.last)) {
    auto older = std::make_shared<store::HistoryRows>();
    wire::HistoryRequest ask_older = ask;
    if (ask.last > 0) ask_older.last = ask.last - matched.size();
    db->ask([older, ask_older, below = tasks.retired_below(), held = tasks.held_below()](
                sqlite::Db& file) { *older = store::read_history(file, ask_older, below, held); },
            [this, client, header = p.header, reply = std::move(reply), older]() mutable {
              reply.matched += older->matched;
              reply.tasks.insert(reply.tasks.begin(), std::make_move_iterator(older->tasks.begin()),
                                 std::make_move_iterator(older->tasks.end()));
              const auto m = wire::make_typed_message(reply_to(header, wire::MsgKind::history_reply), reply);
              to_client(client, m.header_bytes, m.payload);
            });
    return;
  }
  const auto m = wire::make_typed_message(reply_to(p.header, wire::MsgKind::history_reply), reply);
  to_client(client, m.header_bytes, m.payload);
}

// purge_results: finished tasks are forgotten, with their results; pending ones stay.
void Controller::Impl::on_purge_request(PeerId client, const wire::Packet& p) {
  const auto ask = wire::read_typed_body<wire::PurgeRequest>(p);
  wire::PurgeReply reply;
  const auto forget = [&](TaskRecord& t) {
    reply.bytes += tasks.purge(t);
    ++reply.purged;
    if (db) db->forgotten(t.seq, *t.msg_id);
  };
  if (!ask.msg_ids.empty()) {
    for (const auto& id : ask.msg_ids) {
      TaskRecord* t = tasks.find(id);
      if (t == nullptr)
        reply.unknown.push_back(id);
      else if (!t->done)
        reply.pending.push_back(id);
      else
        forget(*t);
    }
  } else {
    tasks.for_each([&](TaskRecord& t) {
      if (t.done && (ask.all || t.submitted_us < ask.before_us)) forget(t);
    });
  }
  if (reply.purged > 0) trim_pending = true;  // give the results' memory back when idle
  if (db) {
    // Earlier runs' records go from the file; the answer waits until the deletes are committed.
    auto older = std::make_shared<std::pair<std::vector<std::string>, store::Deleted>>();
    older->first = std::move(reply.unknown);
    reply.unknown.clear();
    db->ask(
        [older, ask, below = tasks.retired_below()](sqlite::Db& file) {
          if (!ask.msg_ids.empty()) {
            std::vector<std::string> unknown;
            for (const auto& id : older->first) {
              if (const auto d = store::delete_finished(file, id, below)) {
                older->second.rows += d->rows;
                older->second.bytes += d->bytes;
              } else {
                unknown.push_back(id);
              }
            }
            older->first = std::move(unknown);
          } else {
            older->second = store::delete_finished(file, below, ask.all ? 0 : ask.before_us);
          }
        },
        [this, client, header = p.header, reply = std::move(reply), older]() mutable {
          reply.purged += older->second.rows;
          reply.bytes += older->second.bytes;
          reply.unknown = std::move(older->first);
          const auto m = wire::make_typed_message(reply_to(header, wire::MsgKind::purge_reply), reply);
          to_client(client, m.header_bytes, m.payload);
        });
    return;
  }
  const auto m = wire::make_typed_message(reply_to(p.header, wire::MsgKind::purge_reply), reply);
  to_client(client, m.header_bytes, m.payload);
}

}  // namespace crew::controller
