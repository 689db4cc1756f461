// The rank-0 bridge between the controller (ZeroMQ) and the ranks of a world (MPI).
#include "engine/bridge.hpp"

#include <poll.h>

#include <algorithm>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "engine/executor.hpp"
#include "engine/idle_backoff.hpp"
#include "engine/mpi_frames.hpp"
#include "protocol/typed_body.hpp"
#include "protocol/value_codec.hpp"

namespace crew::detail {

struct Bridge::Pending {
  mpi_frames::SendQueue sends;
  std::vector<wire::Batcher> to_rank;  ///< queued this turn, per rank
  std::vector<int> ranks_waiting;      ///< ranks with something queued
};

Bridge::Bridge(transport::Endpoint socket, transport::Endpoint heartbeats, BridgeConfig config,
               Mailbox<LocalTask>& to_engine, Mailbox<LocalReply>& from_engine, Mailbox<LocalTask>& streams)
    : socket_(std::move(socket)), heartbeats_(std::move(heartbeats)), config_(config), to_engine_(to_engine),
      from_engine_(from_engine), streams_(streams), handed_(static_cast<std::size_t>(config_.world_size), 0),
      pending_(std::make_unique<Pending>()), expected_by_rank_(static_cast<std::size_t>(config_.world_size), 0),
      last_seq_(static_cast<std::size_t>(config_.world_size), 0) {
  pending_->to_rank.resize(static_cast<std::size_t>(config_.world_size));
  announced_.resize(static_cast<std::size_t>(config_.world_size), 0);
  config_.rings_rank.resize(static_cast<std::size_t>(config_.world_size), false);
  if (config_.doorbell == nullptr) config_.rings_rank.assign(config_.rings_rank.size(), false);
}

Bridge::~Bridge() = default;

std::vector<std::uint64_t> Bridge::handed() const {
  std::lock_guard lock(handed_mutex_);
  return handed_;
}

void Bridge::hand_to_engine(LocalTask&& t) {
  ++handed_[0];
  to_engine_.push(std::move(t));
}

void Bridge::heard_controller() noexcept { unanswered_beats_.store(0, std::memory_order_relaxed); }

// Beats every heartbeat period and reads the controller's echoes, on its own socket.
void Bridge::heartbeat_loop() {
  wire::Header hb;
  hb.kind = wire::MsgKind::heartbeat;
  const auto beat = wire::make_message(hb);
  const auto period = std::chrono::milliseconds(config_.heartbeat_ms);
  auto next = std::chrono::steady_clock::now();
  while (!heartbeat_stop_.load()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next) {
      if (heartbeats_.send(beat) != transport::Sent::ok) ++counters_.dropped;
      unanswered_beats_.fetch_add(1, std::memory_order_relaxed);
      // Beats missed while this process was stopped or starved are not sent in a burst.
      next = std::max(next + period, now);
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - std::chrono::steady_clock::now());
    pollfd fds[] = {{heartbeats_.fd(), POLLIN, 0}, {heartbeat_wake_.fd(), POLLIN, 0}};
    if (heartbeats_.armed()) (void)::poll(fds, 2, static_cast<int>(std::max<std::int64_t>(left.count(), 1)));
    heartbeats_.receive(
        [&](transport::Received&& received) {
          if (received.messages.front().header.kind == wire::MsgKind::heartbeat) {
            echoed_incarnation_.store(received.messages.front().header.request_id, std::memory_order_relaxed);
            heard_controller();
          } else
            ++counters_.dropped;
        },
        [&](const wire::Rejection&) { ++counters_.dropped; });
  }
}

void Bridge::run() {
  heard_controller();
  const int beats_allowed = std::max(1, config_.controller_timeout_ms / std::max(1, config_.heartbeat_ms));
  IdleBackoff::tighten_timer_slack();
  std::thread heartbeat([this] { heartbeat_loop(); });
  struct StopHeartbeat {
    Bridge& b;
    std::thread& t;
    ~StopHeartbeat() {
      b.heartbeat_stop_.store(true);
      b.heartbeat_wake_.push(true);  // out of its poll at once
      t.join();
    }
  } stop_heartbeat{*this, heartbeat};
  for (auto& p : std::exchange(config_.early_messages, {})) on_controller_message(std::move(p));
  for (;;) {
    // Each source is asked only when the last poll saw it ready, or (the socket) when ZeroMQ's
    // rule says it must be: every question is a system call, and they cost on a virtual machine.
    bool worked = false;
    if (!socket_.armed() || ready_.socket) worked |= pump_controller();
    worked |= pump_engine();  // an empty mailbox costs no system call
    bool all_announced = true;
    if (config_.doorbell) {
      // Its rings say how many messages each rank has sent us.
      if (ready_.doorbell) config_.doorbell->collect(announced_);
      all_announced = config_.doorbell->retry();
    }
    if (remote_expected_ > 0) worked |= pump_ranks();
    flush();
    pending_->sends.progress();

    check_controller(beats_allowed);

    if (shutting_down_ && local_done_ && remote_expected_ == 0) {
      pending_->sends.wait_all();
      wire::Header bye;
      bye.kind = wire::MsgKind::goodbye;
      const auto m = wire::make_message(bye);
      send_to_controller(m.header_bytes, m.payload);
      flush();
      spdlog::info("world {} stopped ({} tasks forwarded)", config_.world_id, counters_.tasks_forwarded.load());
      return;
    }

    // Every turn ends in one poll: it returns at once if anything is ready already.
    if (worked) mpi_wait_.worked();
    if (expected_unrung_ > 0 || !pending_->sends.idle() || !all_announced) {
      wait_for_events(mpi_wait_.next());  // MPI must be polled, or progressed, or a ring retried
    } else if (remote_expected_ > 0) {
      wait_for_events(std::chrono::milliseconds(10));  // only ranks with doorbells owe: they will ring
    } else {
      wait_for_events(std::chrono::milliseconds(config_.heartbeat_ms));
    }
  }
}

bool Bridge::pump_controller() {
  // Bounded so that replies keep flowing while the controller sends a long burst.
  const std::size_t taken = socket_.receive(
      [&](transport::Received&& received) {
        heard_controller();
        for (auto& packet : received.messages) on_controller_message(std::move(packet));
      },
      [&](const wire::Rejection& why) {
        ++counters_.dropped;
        spdlog::warn("dropped a message from the controller: [crew.{}] {}", errc_name(why.code), why.detail);
      },
      4096);
  return taken > 0;
}

void Bridge::on_controller_message(wire::Packet&& p) {
  switch (p.header.kind) {
  case wire::MsgKind::direct_task:
  case wire::MsgKind::balanced_task: dispatch_task(std::move(p)); break;
  case wire::MsgKind::collective_task:
    if (shutting_down_)
      dispatch_task(std::move(p));  // each of its targets answers that the world is going
    else
      dispatch_collective(std::move(p));
    break;
  case wire::MsgKind::heartbeat: break;
  case wire::MsgKind::withdraw_request: withdraw(p); break;
  case wire::MsgKind::stream_chunk:
    if (!shutting_down_) streams_.push(LocalTask{std::move(p.header), std::move(p.payload)});
    break;
  case wire::MsgKind::shutdown_world: begin_shutdown("the controller asked"); break;
  case wire::MsgKind::reply_ack: on_ack(p.header.request_id); break;
  case wire::MsgKind::output_wanted: want_output(p.header.request_id != 0); break;
  case wire::MsgKind::reattach_reply: on_reattached(p); break;
  default:
    ++counters_.dropped;
    spdlog::warn("dropped an unexpected {} from the controller", wire::kind_name(p.header.kind));
  }
}

void Bridge::dispatch_task(wire::Packet&& p) {
  std::lock_guard counted(handed_mutex_);  // every rank's part counted at once (handed())
  bool local = false;
  for (std::size_t i = 0; i < p.header.targets.size(); ++i) {
    const int engine = p.header.targets[i];
    const int rank = engine - config_.first_engine_id;
    if (rank < 0 || rank >= config_.world_size) {
      spdlog::warn("task for engine {} is not for this world (engines {}-{})", engine, config_.first_engine_id,
                   config_.first_engine_id + config_.world_size - 1);
      continue;
    }
    if (shutting_down_) {
      const auto reply = failure_reply(p.header, i < p.header.msg_ids.size() ? p.header.msg_ids[i] : "", engine,
                                       {errc::aborted, "crew.remote.aborted",
                                        "the world was shutting down when this task arrived", p.header.function});
      send_to_controller(reply.header_bytes, reply.payload);
      continue;
    }
    ++counters_.tasks_forwarded;
    const std::uint64_t seq = wire::balanced_seq(p.header);
    if (config_.claims) config_.claims->queued(rank, seq);
    if (config_.restorable && i < p.header.msg_ids.size()) {
      held_.insert_or_assign(p.header.msg_ids[i],
                             Held{engine, function_id(p.header.function), seq, p.header.submitted_us});
      if (seq > 0) last_seq_[static_cast<std::size_t>(rank)] = seq;
    }
    if (rank == 0) {
      local = true;
    } else {
      send_to_rank(rank, p.header_bytes, p.payload);
      expect_from(rank);
    }
  }
  if (local) hand_to_engine(LocalTask{std::move(p.header), std::move(p.payload)});
}

void Bridge::withdraw(const wire::Packet& p) {
  if (p.header.targets.size() != 1 || p.header.msg_ids.size() != 1) {
    ++counters_.dropped;
    spdlog::warn("dropped a withdraw_request that does not name one task");
    return;
  }
  const int engine = p.header.targets.front();
  const int rank = engine - config_.first_engine_id;
  const bool ours = rank >= 0 && rank < config_.world_size;
  if (ours && !shutting_down_ && config_.claims && config_.claims->withdraw(rank, p.header.request_id)) {
    // Its rank will skip it: answer for it, and expect nothing more from it for this task.
    const auto reply = failure_reply(p.header, p.header.msg_ids.front(), engine,
                                     {errc::withdrawn, "crew.remote.withdrawn",
                                      "given back before it started, at the controller's request", p.header.function});
    send_to_controller(reply.header_bytes, reply.payload, p.header.msg_ids.front());
    if (rank > 0) expected_answered(static_cast<std::size_t>(rank));
    return;
  }
  wire::Header refused;
  refused.kind = wire::MsgKind::withdraw_reply;
  refused.targets = p.header.targets;
  refused.msg_ids = p.header.msg_ids;
  refused.request_id = p.header.request_id;
  const auto m = wire::make_message(refused);
  send_to_controller(m.header_bytes, m.payload);
}

// Every targeted rank takes part, and rank 0 always does: it is the root that holds the world's
// data. Ranks other than 0 get the task without its bulk data.
void Bridge::dispatch_collective(wire::Packet&& p) {
  std::lock_guard counted(handed_mutex_);
  const wire::Collective op = p.header.collective;
  wire::Payload stripped;
  if (wire::carries_data(op)) {
    Value args;
    try {
      args = p.payload.empty() ? Value() : wire::decode_value_skeleton(p.payload.front());  // not the bulk data
    } catch (const Error&) {
      args = Value(Value::List{});  // the engines report the bad arguments
    }
    const std::size_t data_index = op == wire::Collective::push ? 0 : 1;
    if (args.is_list() && args.size() > data_index) args.as_list()[data_index] = Value();
    wire::encode_value(args, stripped);
  }
  const std::span<const Buffer> others = wire::carries_data(op) ? std::span<const Buffer>(stripped) : p.payload;
  for (const int engine : p.header.targets) {
    const int rank = engine - config_.first_engine_id;
    if (rank <= 0 || rank >= config_.world_size) continue;
    ++counters_.tasks_forwarded;
    send_to_rank(rank, p.header_bytes, others);
    if (!wire::answers_once_per_world(op)) expect_from(rank);
  }
  ++counters_.tasks_forwarded;
  hand_to_engine(LocalTask{std::move(p.header), std::move(p.payload)});
}

bool Bridge::pump_engine() {
  if (from_engine_.drain(replies_in_) == 0) return false;
  for (auto& r : replies_in_) {
    if (r.live_output) {
      for (const auto& m : r.messages) forward_output(m.header_bytes, m.payload);
      continue;
    }
    if (r.leave) {
      begin_shutdown("the application that embeds it ends");
      continue;
    }
    if (r.goodbye) local_done_ = true;
    engine_backlog_ = r.backlog;
    for (std::size_t i = 0; i < r.messages.size(); ++i) {
      ++counters_.replies_forwarded;
      send_to_controller(r.messages[i].header_bytes, r.messages[i].payload,
                         i < r.answers.size() ? std::string_view(r.answers[i]) : std::string_view());
    }
  }
  replies_in_.clear();
  return true;
}

void Bridge::send_to_rank(int rank, const Buffer& header_bytes, std::span<const Buffer> payload) {
  auto& q = pending_->to_rank[static_cast<std::size_t>(rank)];
  ++handed_[static_cast<std::size_t>(rank)];  // (handed_mutex_ held by the dispatch)
  if (q.empty()) pending_->ranks_waiting.push_back(rank);
  q.add(header_bytes, payload);
}

// What this turn produced for each rank goes as few MPI messages (and doorbell rings) as the
// batching rules allow; replies for the controller likewise leave as few ZeroMQ messages.
void Bridge::flush() {
  for (const int rank : pending_->ranks_waiting) {
    std::uint32_t messages = 0;
    for (const wire::Frames& m : pending_->to_rank[static_cast<std::size_t>(rank)].take()) {
      pending_->sends.send(config_.control_comm, rank, m.header_bytes, m.payload);
      ++messages;
    }
    pending_->sends.progress();  // Open MPI may hold an Isend until the sender makes progress
    auto&& rings = config_.rings_rank[static_cast<std::size_t>(rank)];
    if (rings && !config_.doorbell->ring(rank, messages)) {
      spdlog::info("rank {} has no doorbell on this host; polling it instead", rank);
      rings = false;
      expected_unrung_ += expected_by_rank_[static_cast<std::size_t>(rank)];
    }
  }
  pending_->ranks_waiting.clear();
  if (to_controller_.empty() || hold_replies() || orphaned_) return;
  if (socket_.send_queued(to_controller_) != transport::Sent::ok) {
    ++counters_.dropped;
    spdlog::error("could not send to the controller");
  }
}

void Bridge::expect_from(int rank) {
  ++remote_expected_;
  ++expected_by_rank_[static_cast<std::size_t>(rank)];
  if (!config_.rings_rank[static_cast<std::size_t>(rank)]) ++expected_unrung_;
}

void Bridge::expected_answered(std::size_t rank) {
  if (remote_expected_ > 0) --remote_expected_;
  if (rank < expected_by_rank_.size() && expected_by_rank_[rank] > 0) {
    --expected_by_rank_[rank];
    if (!config_.rings_rank[rank]) --expected_unrung_;
  }
}

// Replies from ranks: exactly the messages their doorbells announced (waiting for each, as it is
// on its way), and whatever polling finds from ranks without a doorbell.
bool Bridge::pump_ranks() {
  bool worked = false;
  for (std::size_t rank = 1; rank < announced_.size(); ++rank) {
    for (; announced_[rank] > 0; --announced_[rank]) {
      take_from_rank(mpi_frames::recv(config_.control_comm, static_cast<int>(rank)));
      worked = true;
    }
  }
  for (int i = 0; i < 256 && expected_unrung_ > 0; ++i) {
    auto m = mpi_frames::try_recv(config_.control_comm);
    if (!m) break;
    worked = true;
    const auto source = static_cast<std::size_t>(m->source);
    if (source < announced_.size() && config_.rings_rank[source]) --announced_[source];  // it will ring for this one
    take_from_rank(std::move(*m));
  }
  return worked;
}

void Bridge::take_from_rank(mpi_frames::Message&& m) {
  const auto source = static_cast<std::size_t>(m.source);
  std::vector<wire::Packet> replies;
  try {
    replies = wire::unpack(std::move(m.header), std::move(m.payload));
  } catch (const Error& e) {
    ++counters_.dropped;
    spdlog::error("rank {} sent a message that does not decode: {}", m.source, e.what());
    return;
  }
  for (const wire::Packet& reply : replies) {
    if (reply.header.kind == wire::MsgKind::output) {  // not an answer: its task's reply follows
      forward_output(reply.header_bytes, reply.payload);
      continue;
    }
    expected_answered(source);
    if (reply.header.kind == wire::MsgKind::goodbye) continue;
    ++counters_.replies_forwarded;
    const bool answers = reply.header.kind == wire::MsgKind::apply_reply && !reply.header.msg_ids.empty();
    send_to_controller(reply.header_bytes, reply.payload,
                       answers ? std::string_view(reply.header.msg_ids.front()) : std::string_view());
  }
}

// Live output goes to the controller only while some client follows it; it is not kept for a
// restored controller (what a task wrote also comes whole with its reply). The ranks on this host
// learn it from the claims table and send none meanwhile; the others send it anyway.
void Bridge::want_output(bool wanted) {
  output_wanted_ = wanted;
  if (config_.claims) config_.claims->set_output_followed(wanted);
}

void Bridge::forward_output(const Buffer& header_bytes, std::span<const Buffer> payload) {
  if (!output_wanted_ || orphaned_ || reattaching_to_ != 0) return;
  if (to_controller_.empty()) oldest_reply_ = std::chrono::steady_clock::now();
  to_controller_.add(header_bytes, payload);
}

void Bridge::begin_shutdown(const std::string& why) {
  if (shutting_down_) return;
  shutting_down_ = true;
  spdlog::info("world {} shutting down: {}", config_.world_id, why);
  wire::Header stop;
  stop.kind = wire::MsgKind::shutdown_world;
  const auto m = wire::make_message(stop);
  std::unique_lock counted(handed_mutex_);
  // Ranks see this after every task sent before it (MPI keeps order), so queued work finishes.
  for (int rank = 1; rank < config_.world_size; ++rank) {
    send_to_rank(rank, m.header_bytes, m.payload);
    expect_from(rank);
  }
  hand_to_engine(LocalTask{stop, {}});
  counted.unlock();
  streams_.push(LocalTask{stop, {}});  // a collective waiting for chunks stops waiting
  flush();
}

void Bridge::send_to_controller(const Buffer& header_bytes, std::span<const Buffer> payload, std::string_view answers) {
  if (to_controller_.empty()) oldest_reply_ = std::chrono::steady_clock::now();
  to_controller_.add(header_bytes, payload);
  if (config_.restorable)
    unacked_.push_back({std::string(answers), wire::Frames{header_bytes, {payload.begin(), payload.end()}, {}}});
}

// Silent means nothing from the controller, not even waiting unread in our own queue. Without
// task records at the controller the world stops then; with them it waits (an orphan) for a
// restored controller, which answers heartbeats on the same address with another incarnation.
void Bridge::check_controller(int beats_allowed) {
  if (shutting_down_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool silent = unanswered_beats_.load(std::memory_order_relaxed) > beats_allowed && !socket_.input_waiting();
  if (silent && !config_.restorable) {
    stop_unheard("the controller has been silent for " + std::to_string(config_.controller_timeout_ms) + " ms");
    return;
  }
  if (!config_.restorable) return;
  if (silent && !orphaned_) {
    orphaned_ = true;
    orphaned_since_ = now;
    spdlog::warn("world {}: the controller has been silent for {} ms; the world keeps running its {} task{} and "
                 "waits up to {} s for a restored controller (crew controller --restore)",
                 config_.world_id, config_.controller_timeout_ms, held_.size(), held_.size() == 1 ? "" : "s",
                 config_.orphan_timeout.count());
  }
  const std::uint64_t echoed = echoed_incarnation_.load(std::memory_order_relaxed);
  if (echoed != 0 && echoed != config_.incarnation && echoed != reattaching_to_) {
    send_reattach(echoed);
  } else if (orphaned_ && reattaching_to_ == 0 && !silent && echoed == config_.incarnation) {
    orphaned_ = false;  // the same controller, heard again: it was stopped or cut off, not gone
    spdlog::info("world {}: the controller answers again", config_.world_id);
  }
  if (orphaned_ && now - orphaned_since_ > config_.orphan_timeout)
    stop_unheard("no controller came back within the orphan timeout of " +
                 std::to_string(config_.orphan_timeout.count()) + " s");
}

void Bridge::stop_unheard(const std::string& why) {
  socket_.set_linger(std::chrono::milliseconds(0));
  begin_shutdown(why);
}

// A restored controller answers on the address: the world asks to be taken back, as it was, with
// the tasks its ranks hold. Until the answer, nothing else goes to the controller.
void Bridge::send_reattach(std::uint64_t incarnation) {
  if (!orphaned_) orphaned_since_ = std::chrono::steady_clock::now();
  orphaned_ = true;
  reattaching_to_ = incarnation;
  wire::ReattachRequest ask;
  ask.world = config_.registration;
  ask.world_id = config_.world_id;
  ask.first_engine = config_.first_engine_id;
  ask.old_incarnation = config_.incarnation;
  ask.held.reserve(held_.size());
  for (const auto& [id, h] : held_)
    ask.held.push_back({id, h.engine, h.balanced_seq, functions_[h.function], h.submitted_us});
  ask.last_balanced_seq = last_seq_;
  wire::Header h;
  h.kind = wire::MsgKind::reattach_request;
  spdlog::warn("world {}: a restored controller answers; reattaching with {} task{} in hand", config_.world_id,
               ask.held.size(), ask.held.size() == 1 ? "" : "s");
  if (socket_.send(wire::make_typed_message(h, ask)) != transport::Sent::ok) {
    ++counters_.dropped;
    reattaching_to_ = 0;  // asked again at the next turn
  }
}

void Bridge::on_reattached(const wire::Packet& p) {
  if (p.header.error.failed()) {
    stop_unheard("the restored controller did not take the world back: " + p.header.error.message);
    return;
  }
  const auto placed = wire::read_typed_body<wire::RegisterReply>(p);
  config_.incarnation = placed.incarnation;
  config_.orphan_timeout = std::chrono::seconds(placed.orphan_timeout_s);
  orphaned_ = false;
  reattaching_to_ = 0;
  want_output(false);  // until the restored controller's clients follow output again
  // Everything not on record at the controller that died goes again, in order, counted anew.
  to_controller_.clear();
  acked_ = 0;
  for (const auto& u : unacked_) {
    if (to_controller_.empty()) oldest_reply_ = std::chrono::steady_clock::now();
    to_controller_.add(u.message.header_bytes, u.message.payload);
  }
  spdlog::info("world {} reattached to the restored controller: engines {}-{}, {} message{} sent again",
               config_.world_id, config_.first_engine_id, config_.first_engine_id + config_.world_size - 1,
               unacked_.size(), unacked_.size() == 1 ? "" : "s");
}

std::uint32_t Bridge::function_id(const std::string& name) {
  // Tasks come in runs of one function: the last one asked for is tried first.
  if (last_function_ < functions_.size() && functions_[last_function_] == name) return last_function_;
  const auto index =
      static_cast<std::size_t>(std::find(functions_.begin(), functions_.end(), name) - functions_.begin());
  if (index == functions_.size()) functions_.push_back(name);
  last_function_ = static_cast<std::uint32_t>(index);
  return last_function_;
}

void Bridge::on_ack(std::uint64_t count) {
  while (acked_ < count && !unacked_.empty()) {
    if (!unacked_.front().answers.empty()) held_.erase(unacked_.front().answers);
    unacked_.pop_front();
    ++acked_;
  }
}

// While the world is busy (replies still due from its ranks, or rank 0's engine has more queued),
// replies for the controller wait a little for company: one message for many. Never for long,
// and never when nothing else is coming.
bool Bridge::hold_replies() const {
  constexpr auto hold = std::chrono::microseconds(200);
  constexpr std::size_t enough = 512;
  return !shutting_down_ && (remote_expected_ > 0 || engine_backlog_ > 0) && to_controller_.size() < enough &&
         std::chrono::steady_clock::now() - oldest_reply_ < hold;
}

// One ppoll() of the socket, the engine thread's mailbox and the doorbell; what it finds ready is
// asked next turn. The socket's ZMQ_FD is edge-triggered: it only signals what arrives after a
// receive found nothing, so the loop receives (until it is armed()) before it sleeps at all.
void Bridge::wait_for_events(std::chrono::nanoseconds timeout) {
  if (!socket_.armed()) timeout = std::chrono::nanoseconds(0);
  if (!to_controller_.empty() && !orphaned_) {  // held replies leave on time
    const auto left = oldest_reply_ + std::chrono::microseconds(200) - std::chrono::steady_clock::now();
    timeout = std::min(timeout, std::max<std::chrono::nanoseconds>(left, std::chrono::nanoseconds(0)));
  }
  pollfd fds[3] = {{socket_.fd(), POLLIN, 0},
                   {from_engine_.fd(), POLLIN, 0},
                   {config_.doorbell ? config_.doorbell->fd() : -1, POLLIN, 0}};
  const timespec ts{static_cast<time_t>(timeout.count() / 1'000'000'000),
                    static_cast<long>(timeout.count() % 1'000'000'000)};
  (void)::ppoll(fds, 3, &ts, nullptr);  // a timeout (or a signal) leaves every revents 0
  ready_ = Ready{fds[0].revents != 0, fds[2].revents != 0};
}

}  // namespace crew::detail
