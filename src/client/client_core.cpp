// The client's I/O thread and bookkeeping.
#include "client/client_core.hpp"
#include "common/units.hpp"

#include <unistd.h>

#include "common/clock.hpp"
#include "common/process.hpp"
#include "common/profile.hpp"
#include "protocol/signer.hpp"

namespace crew::detail {
namespace {

ControllerFile read_controller_file(const std::filesystem::path& file, const std::string& profile_hint) {
  const std::string start_hint = profile_hint.empty() || profile_hint == "default"
                                     ? "start a cluster with `crew cluster start -n 4`"
                                     : "start one with `crew cluster start -n 4 --profile " + profile_hint + "`";
  if (!std::filesystem::exists(file))
    throw ConnectionError(errc::no_profile, "no controller is running for " +
                                                (profile_hint.empty() ? file.string()
                                                                      : "profile '" + profile_hint + "' (" +
                                                                            file.string() + " does not exist)") +
                                                "; " + start_hint);
  ControllerFile cf;
  try {
    cf = controller_file_from_json(read_json_file(file), file);
  } catch (const InputError& e) {
    throw ConnectionError(errc::no_profile, e.message());
  }
  if (cf.pid > 0 && cf.host == host_name() && !proc::alive(static_cast<pid_t>(cf.pid)))
    throw ConnectionError(errc::controller_gone, file.string() + " names controller pid " + std::to_string(cf.pid) +
                                                     ", which is not running (it did not shut down cleanly); " +
                                                     start_hint);
  return cf;
}

}  // namespace

ClientCore::ClientCore(std::filesystem::path controller_file, std::string profile_hint,
                       std::chrono::milliseconds timeout)
    : file_(std::move(controller_file)), profile_hint_(std::move(profile_hint)), timeout_(timeout),
      session_(wire::new_key_hex().substr(0, 16)), ctx_(1), socket_(ctx_, zmq::socket_type::dealer) {
  pending_.reserve(4096);
  const ControllerFile cf = read_controller_file(file_, profile_hint_);
  url_ = cf.client_url;
  key_ = wire::key_from_hex(cf.key_hex);
  socket_.set(zmq::sockopt::routing_id, "client-" + session_);
  socket_.set(zmq::sockopt::sndhwm, 0);
  socket_.set(zmq::sockopt::rcvhwm, 0);
  socket_.set(zmq::sockopt::linger, 0);
  socket_.connect(url_);
  io_ = std::thread([this] { io_loop(); });
  try {
    const wire::Packet hello = request(wire::MsgKind::hello, Value(), timeout_);
    const Value info = hello.body();
    if (info.is_dict() && info.contains("max_message_bytes"))
      max_message_bytes_ = static_cast<std::uint64_t>(info["max_message_bytes"].as_int());
  } catch (const TimeoutError&) {
    outbox_.push(Outbound{{}, {}, true});
    io_.join();
    throw ConnectionError(
        errc::controller_timeout,
        "no controller answered at " + url_ + " within " + seconds_text(timeout_) + " (from " + file_.string() +
            "); is it running? check with `crew cluster status" +
            (profile_hint_.empty() || profile_hint_ == "default" ? std::string() : " --profile " + profile_hint_) +
            "`");
  }
}

ClientCore::~ClientCore() {
  outbox_.push(Outbound{{}, {}, true});
  if (io_.joinable()) io_.join();
  // Whoever still waits learns that no answer will come.
  std::unordered_map<std::string, Pending> left;
  {
    std::lock_guard lock(pending_mutex_);
    left.swap(pending_);
  }
  for (auto& [msg_id, p] : left) {
    {
      std::lock_guard lock(p.state->mutex);
      ResultSlot& slot = p.state->slots[p.slot];
      if (slot.done) continue;
      slot.done = true;
      slot.error = {
          errc::client_closed, "crew.connection.client_closed", "the client was closed before the answer came", {}};
      slot.meta.status = "error";
      if (--p.state->remaining == 0) p.state->finished_at = SteadyClock::now();
    }
    p.state->cv.notify_all();
  }
}

std::shared_ptr<ResultState> ClientCore::submit(std::string_view function, Value::List args,
                                                const std::vector<int>& targets, bool single, bool joined) {
  auto state = std::make_shared<ResultState>();
  state->targets = targets;
  state->single = single;
  state->joined = joined;
  state->slots.resize(targets.size());
  state->remaining = targets.size();
  state->submitted_at = SteadyClock::now();
  state->finished_at = state->submitted_at;

  wire::Header h;
  h.kind = wire::MsgKind::apply_request;
  h.targets.assign(targets.begin(), targets.end());
  h.function = std::string(function);
  h.submitted_us = now_us();
  const std::uint64_t first = next_seq_.fetch_add(targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) {
    std::string id = session_ + "-" + std::to_string(first + i);
    ResultMetadata& meta = state->slots[i].meta;
    meta.msg_id = id;
    meta.engine_id = targets[i];
    meta.function = h.function;
    meta.submitted = from_us(h.submitted_us);
    state->msg_ids.push_back(id);
    h.msg_ids.push_back(std::move(id));
  }
  if (targets.empty()) return state;

  wire::Outgoing m = wire::make_message(h, Value(std::move(args)));
  std::uint64_t bytes = m.header_bytes.size();
  for (const auto& f : m.payload) bytes += f.size();
  if (max_message_bytes_ && bytes > max_message_bytes_)
    throw InputError(errc::oversized, "the call to " + h.function + " is " + bytes_text(bytes) +
                                          ", above the controller's limit of " + bytes_text(max_message_bytes_) +
                                          "; send less at once, or start the cluster with a larger "
                                          "--max-message-size");
  {
    std::lock_guard lock(pending_mutex_);
    for (std::size_t i = 0; i < targets.size(); ++i) pending_.emplace(state->msg_ids[i], Pending{state, i});
  }
  outbox_.push(Outbound{std::move(m.header_bytes), std::move(m.payload), false});
  return state;
}

wire::Packet ClientCore::request(wire::MsgKind kind, const Value& body, std::chrono::milliseconds timeout) {
  wire::Header h;
  h.kind = kind;
  h.request_id = next_seq_.fetch_add(1) + 1;
  std::future<wire::Packet> reply;
  {
    std::lock_guard lock(pending_mutex_);
    reply = requests_[h.request_id].get_future();
  }
  wire::Outgoing m = wire::make_message(h, body);
  outbox_.push(Outbound{std::move(m.header_bytes), std::move(m.payload), false});
  if (reply.wait_for(timeout) != std::future_status::ready) {
    std::lock_guard lock(pending_mutex_);
    requests_.erase(h.request_id);
    throw_timeout(wire::kind_name(kind), timeout);
  }
  wire::Packet p = reply.get();
  if (p.header.kind == wire::MsgKind::request_error)
    throw Error(p.header.error.code,
                "the controller refused " + std::string(wire::kind_name(kind)) + ": " + p.header.error.message);
  return p;
}

void ClientCore::throw_timeout(std::string_view what, std::chrono::milliseconds timeout) const {
  throw TimeoutError("the controller at " + url_ + " did not answer " + std::string(what) + " within " +
                     seconds_text(timeout) + "; is it overloaded or gone? check `crew cluster status`");
}

std::size_t ClientCore::outstanding() const {
  std::lock_guard lock(pending_mutex_);
  return pending_.size();
}

bool ClientCore::wait_all(std::chrono::milliseconds timeout) {
  std::unique_lock lock(pending_mutex_);
  auto done = [&] { return pending_.empty(); };
  if (timeout < std::chrono::milliseconds::zero()) {
    all_done_.wait(lock, done);
    return true;
  }
  return all_done_.wait_for(lock, timeout, done);
}

void ClientCore::io_loop() {
  wire::Signer signer(key_);
  std::deque<Outbound> batch;
  for (;;) {
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, outbox_.fd(), ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, std::chrono::milliseconds(-1));
    if (items[1].revents & ZMQ_POLLIN) {
      outbox_.drain(batch);
      for (auto& out : batch) {
        if (out.stop) return;
        if (wire::send(socket_, {}, out.header_bytes, out.payload, signer) != wire::Sent::ok) ++dropped_;
      }
      batch.clear();
    }
    for (int i = 0; i < 4096; ++i) {
      auto frames = wire::recv_frames(socket_);
      if (!frames) break;
      wire::Rejection why;
      auto packet = wire::open(std::move(*frames), signer, why);
      if (!packet) {
        ++dropped_;
        continue;
      }
      on_packet(std::move(*packet));
    }
  }
}

void ClientCore::on_packet(wire::Packet&& p) {
  if (p.header.kind == wire::MsgKind::apply_reply) {
    on_result(std::move(p));
    return;
  }
  std::promise<wire::Packet> promise;
  {
    std::lock_guard lock(pending_mutex_);
    auto it = requests_.find(p.header.request_id);
    if (it == requests_.end()) return;  // a reply that came after its caller gave up
    promise = std::move(it->second);
    requests_.erase(it);
  }
  promise.set_value(std::move(p));
}

// One reply answers one task, or (gather, reduce) every task of one call at once.
void ClientCore::on_result(wire::Packet&& p) {
  const std::int64_t received = now_us();
  for (const std::string& msg_id : p.header.msg_ids) {
    Pending pending;
    {
      std::lock_guard lock(pending_mutex_);
      auto it = pending_.find(msg_id);
      if (it == pending_.end()) {
        ++dropped_;
        continue;
      }
      pending = it->second;
    }
    {
      std::lock_guard lock(pending.state->mutex);
      ResultSlot& slot = pending.state->slots[pending.slot];
      slot.done = true;
      slot.error = p.header.error;
      slot.payload = p.payload;  // shared buffers, not copies
      slot.meta.status = slot.error.failed() ? "error" : "ok";
      slot.meta.started = from_us(p.header.started_us);
      slot.meta.completed = from_us(p.header.completed_us);
      slot.meta.received = from_us(received);
      slot.meta.stdout_text = p.header.out;
      slot.meta.stderr_text = p.header.err;
      if (--pending.state->remaining == 0) pending.state->finished_at = SteadyClock::now();
    }
    pending.state->cv.notify_all();
    // Only now is the result visible: wait_all() must not return before it is.
    std::lock_guard lock(pending_mutex_);
    pending_.erase(msg_id);
    if (pending_.empty()) all_done_.notify_all();
  }
}

}  // namespace crew::detail
