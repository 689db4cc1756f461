// Taking over from a controller that died (--restore): its key and addresses, its worlds, which
// reattach with their engine ids and the tasks they still hold, and the acknowledgements that
// let a bridge forget what it sent once it is on record.
#include "controller/controller_impl.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/targets.hpp"
#include "controller/sqlite.hpp"
#include "crew/json.hpp"
#include "protocol/typed_body.hpp"

namespace crew::controller {

store::RestorePoint Controller::Impl::read_restore_point(const ControllerConfig& c) {
  if (c.db_file.empty())
    throw_error(errc::bad_option, "--restore takes over from a controller's task database: give --db sqlite "
                                  "(or --db-path FILE) as the controller that died had them");
  if (!fs::exists(c.db_file))
    throw_error(errc::bad_option, "--restore: " + c.db_file.string() +
                                      " does not exist, so there is nothing to restore; start without --restore, "
                                      "or name the file the controller that died kept with --db-path");
  sqlite::Db db(c.db_file, sqlite::Db::Mode::read_only);
  store::check_schema(db);
  return store::read_restore_point(db);
}

void Controller::Impl::record_restore_point() {
  if (!restored) {
    // A new controller (a new key): no client of an earlier run can resume with it, so their
    // sessions need not be kept for a restore (this run's are written as they say hello).
    db->ask([](sqlite::Db& d) { d.exec("DELETE FROM meta WHERE key >= 'session:' AND key < 'session;'"); }, [] {});
  }
  db->set_meta("key_hex", key_hex);
  db->set_meta("client_url", client_url);
  db->set_meta("engine_url", engine_url);
  record_worlds();
}

void Controller::Impl::record_worlds() {
  std::vector<store::RestorePoint::World> out;
  for (const auto& w : registry.worlds())
    if (!w.routing_id.empty())
      out.push_back({w.id, w.routing_id, w.first_engine, w.size, w.absent || w.state == EngineState::alive});
  db->set_meta("worlds", store::worlds_text(out));
}

void Controller::Impl::restore_places() {
  int waiting = 0;
  for (const auto& w : restored->worlds) {
    WorldRecord& r = registry.add_absent_world(w.id, w.routing_id, w.first_engine, w.size);
    if (!w.alive) {
      r.absent = false;  // it had ended before the controller died: nothing to wait for
      r.end_reason = "it had ended before the controller was restored";
    } else {
      ++waiting;
    }
  }
  for (const auto& [session, routing_id] : restored->sessions)
    session_clients[session] = client_peers.id_of(routing_id);
  const TaskDbStart& start = db->start();
  restoring = true;
  restore_settled = false;
  // Bridges notice the restored controller at their next heartbeat echo; a world that does not
  // come back within a few heartbeat periods of silence is taken for dead.
  restore_deadline = clock::now() + std::chrono::milliseconds(std::max(2000, cfg.heartbeat_ms * cfg.heartbeat_misses));
  spdlog::info("restored from {}: {} world{} to come back, {} task{} they may still hold, {} client session{}",
               cfg.db_file.string(), waiting, waiting == 1 ? "" : "s", start.unfinished,
               start.unfinished == 1 ? "" : "s", restored->sessions.size(), restored->sessions.size() == 1 ? "" : "s");
  check_restore(clock::now());
}

PeerId Controller::Impl::client_of(const std::string& msg_id) const {
  if (!numbered_id(msg_id)) return no_peer;
  const auto it = session_clients.find(msg_id.substr(0, msg_id.find('-')));
  return it == session_clients.end() ? no_peer : it->second;
}

void Controller::Impl::on_reattach(PeerId bridge, const wire::Packet& p) {
  const std::string& rid = bridge_peers.name(bridge);
  auto reply = reply_to(p.header, wire::MsgKind::reattach_reply);
  const auto refuse = [&](const std::string& why) {
    ++stats.dropped_unexpected;
    spdlog::warn("refused a world's reattach: {}", why);
    reply.error = {errc::not_running, "crew.launch.not_running", why, {}};
    to_bridge(bridge, wire::make_message(reply));
  };
  if (!db) {
    refuse("this controller keeps no task records (it runs without --db sqlite), so it cannot take over a world "
           "of another controller; the world stops: start new engines");
    return;
  }
  const auto ask = wire::read_typed_body<wire::ReattachRequest>(p);
  WorldRecord* w = registry.world_by_routing(rid);
  if (w == nullptr) {
    refuse("world " + std::to_string(ask.world_id) + " (bridge " + printable(rid) +
           ") is not in this controller's task database: it registered with another controller; the world stops");
    return;
  }
  if (w->id != ask.world_id || w->first_engine != ask.first_engine || w->size != ask.world.size) {
    refuse("world " + std::to_string(ask.world_id) + " says it has engines " + std::to_string(ask.first_engine) + "-" +
           std::to_string(ask.first_engine + ask.world.size - 1) + ", but the task database has world " +
           std::to_string(w->id) + " with engines " + std::to_string(w->first_engine) + "-" +
           std::to_string(w->first_engine + w->size - 1) + "; the world stops");
    return;
  }
  if (!w->absent && w->state == EngineState::alive) {  // its reply was lost: it asks again
    finish_reattach(bridge, reply, ask, std::vector<bool>(ask.held.size(), true));
    return;
  }
  // Tasks it holds whose results are on record were finished and told before the controller
  // died (their replies' acknowledgements died with it): they are not taken again, and the
  // replies the bridge sends again for them are dropped.
  auto finished = std::make_shared<std::vector<bool>>(ask.held.size(), false);
  std::vector<std::string> ids;
  for (const auto& h : ask.held) ids.push_back(h.msg_id);
  db->ask(
      [finished, ids = std::move(ids)](sqlite::Db& d) {
        for (std::size_t i = 0; i < ids.size(); ++i) (*finished)[i] = store::read_reply(d, ids[i]).has_value();
      },
      [this, bridge, reply, ask, finished] { finish_reattach(bridge, reply, ask, *finished); });
}

void Controller::Impl::finish_reattach(PeerId bridge, wire::Header reply, const wire::ReattachRequest& ask,
                                       const std::vector<bool>& finished) {
  WorldRecord* w = registry.world_by_routing(bridge_peers.name(bridge));
  if (w == nullptr) return;
  std::size_t adopted = 0;
  if (w->absent || w->state != EngineState::alive) {
    registry.fill(*w, ask.world.hosts, ask.world.pids, {});
    w->peer = bridge;
    w->launcher = ask.world.job.launcher;
    w->job_id = ask.world.job.id;
    w->job_end = ask.world.job.end_time;
    w->received = 0;  // the bridge counts its messages from its reattach on, too
    w->ack_due = false;
    ++stats.worlds_reattached;
    // Engine properties come from the engines' registration, which the bridge repeats.
    for (std::size_t rank = 0; rank < ask.world.properties.size(); ++rank) {
      try {
        const Value parsed = parse_json(ask.world.properties[rank]);
        if (parsed.is_dict()) {
          EngineRecord* e = registry.engine(w->first_engine + static_cast<int>(rank));
          e->properties = parsed.as_dict();
          e->properties.try_emplace("host", e->host);
        }
      } catch (const Error&) {
      }
    }
    for (std::size_t rank = 0; rank < ask.last_balanced_seq.size() && static_cast<int>(rank) < w->size; ++rank)
      registry.engine(w->first_engine + static_cast<int>(rank))->balanced_seq = ask.last_balanced_seq[rank];
    const std::int64_t now_ns = steady_ns();
    for (std::size_t i = 0; i < ask.held.size(); ++i) {
      const wire::HeldTask& h = ask.held[i];
      if (finished[i] || h.engine < w->first_engine || h.engine >= w->first_engine + w->size) continue;
      TaskRecord* t = tasks.find(h.msg_id);
      if (t != nullptr && t->done) continue;
      if (t == nullptr) {
        t = add_task(h.msg_id, new_task(client_of(h.msg_id), h.engine, h.submitted_us > 0 ? h.submitted_us : now_us(),
                                        tasks.function_id(h.function)));
        if (t == nullptr) continue;
      }
      t->engine_id = h.engine;
      t->dispatched_ns = now_ns;
      (void)onto_engine(*registry.engine(h.engine), t, now_ns);
      if (const auto row = id_key(h.msg_id)) adopted_rows.push_back(*row);
      ++adopted;
    }
    stats.tasks_adopted += adopted;
    rebalance_due = true;
    record_worlds();
    spdlog::info("world {} reattached: engines {}-{} on {}, rank-0 pid {}; {} task{} it holds taken over", w->id,
                 w->first_engine, w->first_engine + w->size - 1, ask.world.hosts.front(), ask.world.pids.front(),
                 adopted, adopted == 1 ? "" : "s");
  }
  to_bridge(bridge, wire::make_typed_message(reply, placement(*w)));
  if (output_wanted) tell_output_wanted(w);
  tell_status(*w, "reattached", "world " + std::to_string(w->id) + " came back to the restored controller");
  answer_waiters();
  if (restoring) check_restore(clock::now());
}

void Controller::Impl::check_restore(clock::time_point now) {
  bool all_back = true;
  for (const auto& w : registry.worlds()) all_back &= !w.absent;
  if (!all_back && now < restore_deadline) return;
  restoring = false;
  std::vector<int> missing;
  for (auto& w : registry.worlds()) {
    if (!w.absent) continue;
    w.absent = false;
    w.end_reason = "it did not come back to the restored controller";
    missing.push_back(w.id);
  }
  if (!missing.empty()) {
    spdlog::warn("world{} {} did not come back to the restored controller: what {} held is failed",
                 missing.size() == 1 ? "" : "s", format_id_ranges(missing), missing.size() == 1 ? "it" : "they");
    record_worlds();
  }
  // What the run before took and no world brought back: its outcome died with that controller.
  // Its client (if known) sends it again (resume); the others fail, and their clients hear it.
  auto open = std::make_shared<std::vector<store::OpenTask>>();
  db->ask([open, before = tasks.first_seq(),
           keep = std::move(adopted_rows)](sqlite::Db& d) { *open = store::read_open(d, before, keep); },
          [this, open] { settle_open_tasks(*open); });
  adopted_rows.clear();
}

void Controller::Impl::settle_open_tasks(const std::vector<store::OpenTask>& open) {
  const auto until = clock::now() + std::max<clock::duration>(std::chrono::seconds(30),
                                                              std::chrono::milliseconds(10 * cfg.heartbeat_ms));
  std::size_t failed = 0;
  for (const store::OpenTask& o : open) {
    const PeerId client = client_of(o.msg_id);
    if (client != no_peer) {
      awaiting_resend[o.msg_id] = {client, o.function, o.submitted_us, until};
      continue;
    }
    fail_restarted(o.msg_id, client, o.function, o.submitted_us,
                   "the controller that took it died before it finished, no world came back holding it, and "
                   "its client is not known; submit it again");
    ++failed;
  }
  if (failed > 0)
    spdlog::warn("{} task{} the controller that died had taken came back with no world and no known client: failed "
                 "[crew.connection.controller_restarted]",
                 failed, failed == 1 ? "" : "s");
  if (!awaiting_resend.empty())
    spdlog::info("{} task{} the controller that died had taken, and no world brought back, wait for their clients "
                 "to send them again",
                 awaiting_resend.size(), awaiting_resend.size() == 1 ? "" : "s");
  restore_settled = true;
  for (const auto& [session, client] : session_clients) to_notify.insert(client);
  notify_until = clock::now() + std::chrono::seconds(cfg.orphan_timeout_s);
  tell_restored();
  for (auto& [client, p] : std::exchange(deferred_resumes, {})) on_resume_request(client, std::move(p));
}

void Controller::Impl::fail_restarted(const std::string& msg_id, PeerId client, const std::string& function,
                                      std::int64_t submitted_us, const std::string& why) {
  TaskRecord* t = add_task(msg_id, new_task(client, -1, submitted_us, tasks.function_id(function)));
  if (t == nullptr) return;  // its client sent it again meanwhile
  fail_task(*t, function, {errc::controller_restarted, "crew.connection.controller_restarted", why, {}});
  ++stats.tasks_abandoned;
}

// Clients reconnect by themselves (the same address), but one that only waits for answers says
// nothing: each hears that the controller is back, until it answers or the orphan timeout passes.
void Controller::Impl::tell_restored() {
  if (to_notify.empty()) return;
  if (clock::now() > notify_until) {
    to_notify.clear();
    return;
  }
  wire::Header h;
  h.kind = wire::MsgKind::restored;
  const auto m = wire::make_typed_message(h, wire::RestoredNotice{static_cast<std::int64_t>(::getpid())});
  for (const PeerId client : to_notify) to_client(client, m.header_bytes, m.payload);
}

void Controller::Impl::on_resume_request(PeerId client, wire::Packet&& p) {
  if (!restore_settled) {  // the worlds may still bring some of these back
    deferred_resumes.emplace_back(client, std::move(p));
    return;
  }
  to_notify.erase(client);
  const auto ask = wire::read_typed_body<wire::ResumeRequest>(p);
  auto resend = std::make_shared<std::vector<std::string>>();
  std::vector<std::string> look_up;  // not in memory: on file as finished, or never taken
  for (const std::string& id : ask.msg_ids) {
    if (TaskRecord* t = tasks.find(id)) {
      if (t->done)
        resend_record(client, *t);  // it may have been told while the client was away
      else
        t->client = client;
      continue;
    }
    if (awaiting_resend.contains(id)) {
      resend->push_back(id);
      continue;
    }
    look_up.push_back(id);
  }
  const wire::Header reply = reply_to(p.header, wire::MsgKind::resume_reply);
  const auto answer = [this, client, reply, resend] {
    const auto m = wire::make_typed_message(reply, wire::ResumeReply{*resend});
    tell(client, m.header_bytes, m.payload);
    if (!resend->empty())
      spdlog::info("a client sends {} task{} again (the controller that died had not handed them to a world that "
                   "came back)",
                   resend->size(), resend->size() == 1 ? "" : "s");
  };
  if (look_up.empty() || !db) {
    if (!db) resend->insert(resend->end(), look_up.begin(), look_up.end());
    answer();
    return;
  }
  auto stored = std::make_shared<std::vector<std::optional<store::StoredReply>>>(look_up.size());
  db->ask(
      [stored, look_up](sqlite::Db& d) {
        for (std::size_t i = 0; i < look_up.size(); ++i) (*stored)[i] = store::read_reply(d, look_up[i]);
      },
      [this, client, stored, look_up, resend, answer] {
        for (std::size_t i = 0; i < look_up.size(); ++i) {
          if ((*stored)[i])
            tell_stored(client, *(*stored)[i]);  // finished before the crash: told again (taken once)
          else
            resend->push_back(look_up[i]);
        }
        answer();
      });
}

void Controller::Impl::expire_awaiting(clock::time_point now) {
  for (auto it = awaiting_resend.begin(); it != awaiting_resend.end();) {
    if (now < it->second.until) {
      ++it;
      continue;
    }
    const AwaitingResend a = it->second;
    const std::string id = it->first;
    it = awaiting_resend.erase(it);
    fail_restarted(id, a.client, a.function, a.submitted_us,
                   "the controller that took it died before it finished, no world came back holding it, and its "
                   "client did not send it again; submit it again");
  }
}

void Controller::Impl::count_from(WorldRecord& w) {
  ++w.received;
  if (!w.ack_due) {
    w.ack_due = true;
    worlds_heard.push_back(w.id);
  }
}

void Controller::Impl::queue_acks() {
  if (worlds_heard.empty()) return;
  const std::uint64_t turn = db->durable_after();
  for (const int id : worlds_heard) {
    WorldRecord* w = registry.world(id);
    w->ack_due = false;
    acks.push_back({turn, id, w->received});
  }
  worlds_heard.clear();
}

}  // namespace crew::controller
