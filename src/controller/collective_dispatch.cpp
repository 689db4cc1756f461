// Collectives (scatter, gather, push, reduce, save_h5, load_h5): split per world, joined back.
#include "controller/controller_impl.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "controller/collective_plan.hpp"
#include "protocol/stream.hpp"
#include "values/sequence.hpp"

namespace crew::controller {

/// A collective runs on all its targets or on none: one bad target fails the whole request.
void Controller::Impl::dispatch_collective(PeerId client, const wire::Packet& p) {
  const wire::Header& h = p.header;
  if (!pairs_targets(client, h)) return;
  const wire::Collective op = h.collective;
  std::vector<std::pair<int, std::string>> pairs;
  for (std::size_t i = 0; i < h.targets.size(); ++i) pairs.emplace_back(h.targets[i], h.msg_ids[i]);
  std::sort(pairs.begin(), pairs.end());
  errc code = errc::none;
  std::string problem;
  for (std::size_t i = 0; i < pairs.size() && code == errc::none; ++i) {
    const auto& [id, msg_id] = pairs[i];
    const EngineRecord* e = registry.engine(id);
    if (tasks.contains(msg_id))
      code = errc::bad_option, problem = "msg_id " + msg_id + " was already used";
    else if (i > 0 && pairs[i - 1].first == id)
      code = errc::bad_targets, problem = "engine " + std::to_string(id) + " is named twice in one request";
    else if (e == nullptr)
      code = errc::unknown_target,
      problem = "there is no engine " + std::to_string(id) + "; this cluster has " + registry.describe_alive();
    else if (e->state != EngineState::alive)
      code = errc::engine_dead, problem = "engine " + std::to_string(id) + " is " + std::string(state_name(e->state)) +
                                          "; this cluster has " + registry.describe_alive();
  }
  std::vector<int> targets, worlds;
  std::vector<std::string> msg_ids;
  for (const auto& [id, msg_id] : pairs) {
    targets.push_back(id);
    msg_ids.push_back(msg_id);
    const EngineRecord* e = registry.engine(id);
    worlds.push_back(e ? e->world : -1);
  }
  Value args;
  std::vector<WorldShare> shares;
  // How the data moves is the client's choice (wire::Transfer); not every op can move it every way.
  const wire::Transfer how = h.stream.transfer();
  const bool copied = how == wire::Transfer::single_copy;
  if (code == errc::none && !wire::allows(op, how))
    code = errc::bad_option, problem = h.function + " cannot move its data " + std::string(wire::transfer_name(how)) +
                                       (copied ? " (scatter, push, gather and reduce can)" : " (scatter can)");
  if (code == errc::none) {
    try {
      if (needs_args(op, worlds) || how != wire::Transfer::in_message) args = p.body();
      shares = split_by_world(op, targets, msg_ids, worlds, args, h.stream);
    } catch (const Error& e) {
      code = e.code(), problem = e.message();
    }
  }
  if (code != errc::none) {
    for (const auto& [id, msg_id] : pairs)
      reject(client, h, msg_id, id, code, problem + " (nothing was sent to any engine)", !tasks.contains(msg_id));
    return;
  }

  const bool joins = wire::answers_once_per_world(op);
  const bool turns = wire::worlds_take_turns(op);
  const std::string record = (joins || turns) ? msg_ids.front() : std::string();
  if (!record.empty()) {
    CollectiveRecord rec;
    rec.client = client;
    rec.op = op;
    rec.function = h.function;
    rec.submitted_us = h.submitted_us;
    rec.targets = targets;
    rec.msg_ids = msg_ids;
    rec.worlds = shares.size();
    if (op == wire::Collective::reduce && args.is_list() && args.size() == 2 && args[1].is_string())
      rec.reduce_op = args[1].as_string();
    // (a reduce over several worlds answers inline: the worlds' results meet here)
    rec.copied_to_client = copied && (op == wire::Collective::gather || shares.size() == 1);
    collectives.insert_or_assign(record, std::move(rec));
  }
  const std::uint32_t function = tasks.function_id(h.function);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    EngineRecord& e = *registry.engine(targets[i]);
    (void)onto_engine(e, add_task(msg_ids[i], new_task(client, targets[i], h.submitted_us, function, record)),
                      steady_ns());
  }
  std::vector<std::pair<int, wire::Outgoing>> messages;
  for (auto& share : shares) {
    wire::Header task;
    task.kind = wire::MsgKind::collective_task;
    task.collective = op;
    task.function = h.function;
    task.submitted_us = h.submitted_us;
    task.targets.assign(share.targets.begin(), share.targets.end());
    task.msg_ids.assign(share.msg_ids.begin(), share.msg_ids.end());
    task.stream = share.stream;
    // One world's gather streams its array back; several worlds' parts are joined here.
    task.stream.reply_may_stream = op == wire::Collective::gather && shares.size() == 1;
    wire::Outgoing m;
    if (share.body) {
      m = wire::make_message(task, *share.body);
    } else {
      m.header_bytes = wire::encode_header(task);
      m.payload = p.payload;
    }
    messages.emplace_back(share.world, std::move(m));
  }
  if (h.stream.chunked()) {
    StreamRoute route;
    route.client = client;
    route.total = h.stream.bytes;
    for (const auto& share : shares)
      if (share.stream.active())
        route.parts.push_back(
            {share.world, share.msg_ids.front(), share.stream_begin, share.stream_begin + share.stream.bytes});
    streams.insert_or_assign(h.msg_ids.front(), std::move(route));
  }
  if (turns) {
    auto& rec = collectives.at(record);
    rec.turn_open = shares.front().targets.size();
    for (std::size_t i = 1; i < messages.size(); ++i) rec.turns.push_back(std::move(messages[i]));
    messages.resize(1);
  }
  for (auto& [world_id, m] : messages) send_to_world(world_id, m);
}

// Chunks come in order, each on to the worlds whose rows it holds (cut where one world's rows
// end), as views of the received frame: the controller holds a chunk only until ZeroMQ sent it.
void Controller::Impl::route_chunk(PeerId client, const wire::Packet& p) {
  const wire::Header& h = p.header;
  auto it = h.msg_ids.size() == 1 ? streams.find(h.msg_ids.front()) : streams.end();
  if (it == streams.end() || it->second.client != client || p.payload.size() != 1) {
    ++stats.dropped_unexpected;  // e.g. the rest of a stream whose request was refused
    return;
  }
  StreamRoute& route = it->second;
  const Buffer& data = p.payload.front();
  const std::uint64_t begin = h.stream.offset, end = begin + data.size();
  if (begin != route.forwarded || end > route.total) {
    ++stats.dropped_malformed;
    spdlog::warn("a chunk of stream {} at byte {} (+{}) does not follow byte {} of {}", printable(it->first), begin,
                 data.size(), route.forwarded, route.total);
    return;
  }
  // One world that takes the whole stream under the request's own id: the chunk goes on as it
  // came, with the client's signature (a 4 MiB chunk is not signed again: ~2.4 ms of HMAC here).
  const bool as_it_came = route.parts.size() == 1 && route.parts.front().begin == 0 &&
                          route.parts.front().end == route.total && route.parts.front().key == it->first &&
                          h.stream.bytes == route.total && !p.signature.empty();
  if (as_it_came) {
    send_to_world(route.parts.front().world, wire::Outgoing{p.header_bytes, p.payload}, p.signature);
  } else {
    for (const auto& part : route.parts) {
      const std::uint64_t from = std::max(begin, part.begin), to = std::min(end, part.end);
      if (from < to)
        send_to_world(part.world, wire::make_chunk(part.key, part.end - part.begin, from - part.begin,
                                                   data.slice(from - begin, to - from)));
    }
  }
  route.forwarded = end;
  stats.stream_bytes += data.size();
  if (route.forwarded == route.total) streams.erase(it);
}

// In order, unchanged (with the signature they came with, when they came alone).
void Controller::Impl::relay_chunk(const WorldRecord& w, const wire::Packet& p) {
  auto it = p.header.msg_ids.size() == 1 ? relays.find(p.header.msg_ids.front()) : relays.end();
  if (it == relays.end() || it->second.world != w.id || p.payload.size() != 1) {
    ++stats.dropped_unexpected;
    return;
  }
  StreamRelay& r = it->second;
  const std::uint64_t size = p.payload.front().size();
  if (p.header.stream.offset != r.forwarded || size > r.total - r.forwarded) {
    ++stats.dropped_malformed;
    spdlog::warn("world {} sent a chunk of {} at byte {} (+{}) where byte {} of {} was due", w.id, printable(it->first),
                 p.header.stream.offset, size, r.forwarded, r.total);
    return;
  }
  to_client(r.client, p.header_bytes, p.payload, p.signature);
  r.forwarded += size;
  stats.stream_bytes += size;
  if (r.forwarded == r.total) relays.erase(it);
}

void Controller::Impl::fail_relays(int world_id, const std::string& reason) {
  for (auto it = relays.begin(); it != relays.end();) {
    if (it->second.world != world_id) {
      ++it;
      continue;
    }
    const StreamRelay& r = it->second;
    wire::Header h;
    h.kind = wire::MsgKind::apply_reply;
    h.function = r.function;
    h.msg_ids.assign(r.msg_ids.begin(), r.msg_ids.end());
    h.targets.assign(r.targets.begin(), r.targets.end());
    h.completed_us = now_us();
    h.error = {errc::engine_died, "crew." + std::string(errc_name(errc::engine_died)),
               "world " + std::to_string(world_id) + " ended after sending " + std::to_string(r.forwarded) + " of " +
                   std::to_string(r.total) + " bytes of the gathered array (" + reason + ")",
               r.function};
    const wire::Outgoing m = wire::make_message(h);
    to_client(r.client, m.header_bytes, m.payload);
    it = relays.erase(it);
  }
}

void Controller::Impl::send_to_world(int world_id, const wire::Outgoing& m, const Buffer& signature) {
  const WorldRecord* w = registry.world(world_id);
  if (w == nullptr || w->state != EngineState::alive) return;
  to_bridge(w->peer, m, signature);
}

/// A world's answer (or its end) for a gather / reduce.
void Controller::Impl::join_part(const std::string& record, int world_id, const wire::Packet* reply,
                                 const std::string& failure) {
  auto it = collectives.find(record);
  if (it == collectives.end()) return;
  CollectiveRecord& rec = it->second;
  const WorldRecord* w = registry.world(world_id);
  for (std::size_t i = 0; i < rec.targets.size(); ++i)
    if (w && rec.targets[i] >= w->first_engine && rec.targets[i] < w->first_engine + w->size)
      (void)take_in_flight(tasks.find(rec.msg_ids[i]), rec.targets[i]);
  if (!rec.answered.insert(world_id).second) return;
  const std::string where = rec.worlds > 1 ? "world " + std::to_string(world_id) + ": " : "";
  if (reply == nullptr) {
    rec.errors.push_back(where + failure);
    if (rec.error_code == errc::none) rec.error_code = errc::engine_died;
  } else if (reply->header.error.failed()) {
    rec.errors.push_back(where + reply->header.error.message);
    if (rec.error_code == errc::none) rec.error_code = reply->header.error.code;
  } else if (rec.worlds == 1) {
    if (reply->header.stream.active())  // its array follows: the chunks go on to the client
      relays.insert_or_assign(reply->header.msg_ids.front(), StreamRelay{rec.client, world_id, rec.msg_ids, rec.targets,
                                                                         rec.function, reply->header.stream.bytes, 0});
    finish_join(it, reply);  // one world: its answer is the answer, as it came
    return;
  } else {
    try {
      rec.parts.emplace(world_id, reply->body());
    } catch (const Error& e) {
      rec.errors.push_back(where + e.message());
      if (rec.error_code == errc::none) rec.error_code = e.code();
    }
  }
  if (rec.answered.size() == rec.worlds) finish_join(it, nullptr);
}

void Controller::Impl::finish_join(std::unordered_map<std::string, CollectiveRecord>::iterator it,
                                   const wire::Packet* as_is) {
  CollectiveRecord& rec = it->second;
  Buffer signature, header_bytes;
  wire::Payload payload;
  bool failed = false;
  if (as_is) {
    signature = as_is->signature;
    header_bytes = as_is->header_bytes;
    payload = as_is->payload;
    failed = as_is->header.error.failed();
  } else {
    wire::Header h;
    h.kind = wire::MsgKind::apply_reply;
    h.function = rec.function;
    h.msg_ids.assign(rec.msg_ids.begin(), rec.msg_ids.end());
    h.targets.assign(rec.targets.begin(), rec.targets.end());
    h.submitted_us = rec.submitted_us;
    h.completed_us = now_us();
    Value joined;
    errc code = rec.error_code;
    std::string message;
    for (const auto& e : rec.errors) message += (message.empty() ? "" : "; ") + e;
    if (rec.errors.empty()) {
      try {
        std::vector<Value> parts;
        for (auto& [world_id, part] : rec.parts) parts.push_back(std::move(part));  // worlds in engine order
        if (rec.copied_to_client) {
          joined = Value();  // the array is in the client's memory already
        } else if (rec.op == wire::Collective::gather) {
          joined = seq::concat(parts);
        } else {
          const op o = op_from_name(rec.reduce_op).value_or(op::sum);
          joined = parts.front();
          for (std::size_t i = 1; i < parts.size(); ++i) joined = seq::combine(joined, parts[i], o);
        }
      } catch (const Error& e) {
        code = e.code(), message = "the worlds' parts do not combine: " + e.message();
      }
    }
    if (code != errc::none) {
      h.error = {code, "crew." + std::string(errc_name(code)), message, rec.function};
      joined = Value();
      failed = true;
    }
    wire::Outgoing m = wire::make_message(h, joined);
    signature = engines.signature_of(m.header_bytes, m.payload);
    header_bytes = std::move(m.header_bytes);
    payload = std::move(m.payload);
  }
  const bool streamed = (as_is && as_is->header.stream.active()) || rec.copied_to_client;
  for (const auto& msg_id : rec.msg_ids) {
    TaskRecord* t = tasks.find(msg_id);
    if (t == nullptr || t->done) continue;
    t->set_reply(signature, header_bytes, payload);
    tasks.mark_done(*t, failed);
    if (streamed) t->evicted = t->streamed = true;  // the array passes through; none is kept here
    record_final(*t);
    if (!dependents.empty() && dependents.count(t) != 0) finished_this_turn.push_back(t);
  }
  tell(rec.client, header_bytes, payload, signature);
  collectives.erase(it);
}

/// A save_h5 task finished: once the current world is done, the next one takes its turn.
void Controller::Impl::turn_progress(const std::string& record, const TaskRecord& t) {
  auto it = collectives.find(record);
  if (it == collectives.end()) return;
  CollectiveRecord& rec = it->second;
  if (t.failed && rec.turn_failed.empty()) {
    const EngineRecord* e = registry.engine(t.engine_id);
    rec.turn_failed = "world " + std::to_string(e ? e->world : -1) + " failed first";
  }
  if (rec.turn_open > 0) --rec.turn_open;
  while (rec.turn_open == 0) {
    if (rec.turns.empty()) {
      collectives.erase(it);
      return;
    }
    auto [world_id, m] = std::move(rec.turns.front());
    rec.turns.pop_front();
    const wire::Header h = wire::decode_header(m.header_bytes.bytes());
    const WorldRecord* w = registry.world(world_id);
    if (rec.turn_failed.empty() && w && w->state == EngineState::alive) {
      rec.turn_open = h.msg_ids.size();
      send_to_world(world_id, m);
      return;  // (send_to_world may have ended the world: its tasks then failed through fail_task)
    }
    const std::string why =
        rec.turn_failed.empty() ? "world " + std::to_string(world_id) + " is not alive" : rec.turn_failed;
    for (std::size_t i = 0; i < h.msg_ids.size(); ++i) {
      TaskRecord* task = tasks.find(h.msg_ids[i]);
      if (task == nullptr || task->done) continue;
      (void)take_in_flight(task, h.targets[i]);
      store_failure(*task, h.msg_ids[i], rec.function,
                    {errc::aborted, "crew.remote.aborted", "not written: " + why, rec.function});
      complete(*task, true);
    }
  }
}

}  // namespace crew::controller
