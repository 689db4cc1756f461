// The client's bookkeeping: requests out, answers into their states (the socket: client_io.cpp).
#include "client/client_core.hpp"

#include "client/ssh_tunnel.hpp"

#include "common/units.hpp"
#include <charconv>

#include <unistd.h>

#include <cstring>
#include <new>

#include "common/clock.hpp"
#include "common/process.hpp"
#include "common/profile.hpp"
#include "protocol/hub_queries.hpp"
#include "protocol/signer.hpp"
#include "protocol/stream.hpp"
#include "protocol/value_codec.hpp"
#include "transport/handshake_watch.hpp"

namespace crew::detail {
namespace {

/// The controller at `url` ended the handshake: what the connection file `file` (`cf`) should
/// change, said as an error.
[[noreturn]] void throw_refused(const transport::HandshakeFailure& why, const ControllerFile& cf,
                                const std::filesystem::path& file, const std::string& url) {
  const std::string again = "copy the controller's current controller.json again (`crew profile import` from the "
                            "controller's host, or from its profile directory)";
  std::string what = "the controller at " + url + " refused this client: " + why.reason() + "; ";
  if (why.refused_key())
    what += "this client's key (" + transport::key_fingerprint(cf.curve.public_key) + "..., from " + file.string() +
            ") was revoked or never admitted: on the controller's host, `crew keys list` shows the admitted keys "
            "and `crew keys add NAME KEY` admits one; or " +
            again;
  else if (!cf.curve.on())
    what += file.string() + " has no CURVE keys (the controller that wrote it ran without them); " + again;
  else
    what += file.string() + " is not from the controller running now, or it runs without CURVE; " + again;
  throw_error(errc::refused, what);
}

/// How long closing a client may wait for what it sent to leave (a controller that is gone).
constexpr std::chrono::milliseconds close_linger{2000};

/// `remote`: the controller runs on another host (reached through ssh), so its pid says nothing here.
ControllerFile read_controller_file(const std::filesystem::path& file, const std::string& profile_hint, bool remote) {
  const std::string start_hint = profile_hint.empty() || profile_hint == "default"
                                     ? "start a cluster with `crew cluster start -n 4`"
                                     : "start one with `crew cluster start -n 4 --profile " + profile_hint + "`";
  if (!std::filesystem::exists(file))
    throw_error(errc::no_profile,
                "no controller is running for " +
                    (profile_hint.empty() ? file.string()
                                          : "profile '" + profile_hint + "' (" + file.string() + " does not exist)") +
                    "; " + start_hint);
  ControllerFile cf;
  try {
    cf = controller_file_from_json(read_json_file(file), file);
  } catch (const InputError& e) {
    throw_error(errc::no_profile, e.message());
  }
  if (!remote && cf.ssh.empty() && cf.pid > 0 && cf.host == host_name() && !proc::alive(static_cast<pid_t>(cf.pid)))
    throw_error(errc::controller_gone, file.string() + " names controller pid " + std::to_string(cf.pid) +
                                           ", which is not running (it did not shut down cleanly); " + start_hint);
  return cf;
}

}  // namespace

ClientCore::ClientCore(std::filesystem::path controller_file, std::string profile_hint,
                       std::chrono::milliseconds timeout, const std::string& ssh)
    : file_(std::move(controller_file)), profile_hint_(std::move(profile_hint)), timeout_(timeout),
      session_(wire::new_key_hex().substr(0, 16)), ctx_(1) {
  own_prefix_ = session_ + "-";
  const ControllerFile cf = read_controller_file(file_, profile_hint_, !ssh.empty());
  url_ = cf.client_url;
  if (const std::string& via = ssh.empty() ? cf.ssh : ssh; !via.empty()) {
    tunnel_ = std::make_unique<SshForwardKeeper>(parse_ssh_target(via), cf.client_url, timeout_);
    url_ = tunnel_->endpoint();
    via_ = " (through ssh to " + via + ")";
  }
  key_ = wire::key_from_hex(cf.key_hex);
  transport::EndpointOptions options;
  options.routing_id = "client-" + session_;
  if (cf.curve.on()) options.curve_client = {{cf.curve.public_key, cf.curve.secret_key}, cf.curve.server_key};
  socket_.emplace(ctx_, key_, options);
  const Deadline until = deadline_after(timeout_);
  {
    // A refused key (or security unlike the file's) is said at once, not after the timeout.
    transport::HandshakeWatch watch(ctx_, *socket_);
    socket_->connect(url_);
    // (Through ssh, a closed connection is a tunnel whose far end does not listen yet: no refusal.)
    if (const auto failed = watch.first_outcome(until, tunnel_ ? 0 : 3)) throw_refused(*failed, cf, file_, url_ + via_);
  }
  io_ = std::thread([this] { io_loop(); });
  try {
    const auto hello =
        ask<wire::HelloReply>(wire::MsgKind::hello, wire::NoFields{},
                              std::max(std::chrono::milliseconds(1),
                                       std::chrono::duration_cast<std::chrono::milliseconds>(time_left(until))));
    max_message_bytes_ = hello.max_message_bytes;
    restorable_ = hello.restorable;
    // Short msg ids, unique for the controller's life: "<its number for this client>-<seq>".
    own_prefix_ = hello.session + "-";
    pending_.set_prefix(own_prefix_);
    if (tunnel_) tunnel_->keep([this] { ask_again_after_reconnect(); });
  } catch (const ConnectionError& e) {
    stop_io();  // (its thread must end before this constructor gives up)
    if (e.code() != errc::connection_lost) throw;
    throw_error(
        errc::controller_timeout,
        "no controller answered at " + url_ + via_ + " within " + seconds_text(timeout_) + " (from " + file_.string() +
            "); is it running? check with `crew cluster status" +
            (profile_hint_.empty() || profile_hint_ == "default" ? std::string() : " --profile " + profile_hint_) +
            "`");
  } catch (...) {
    stop_io();  // a hello reply that does not read (another crew version's), or anything else
    throw;
  }
}

namespace {
/// An answer whose body is null: one whose result the engines wrote into this process. (Several
/// worlds' reduce answers here inline: their results meet in the controller.)
bool carries_nothing(const wire::Payload& payload) {
  if (payload.empty()) return true;
  if (payload.size() != 1 || payload.front().size() > 16) return false;
  try {
    return wire::decode_value(payload).is_null();
  } catch (const Error&) {
    return false;
  }
}

/// States whose memory engines may still copy from or into (a client closed meanwhile).
void keep_until_exit(std::shared_ptr<ResultState> state) {
  static std::mutex mutex;
  static auto* kept = new std::vector<std::shared_ptr<ResultState>>();  // never freed, on purpose
  std::lock_guard lock(mutex);
  kept->push_back(std::move(state));
}
}  // namespace

ClientCore::~ClientCore() {
  tunnel_.reset();  // its thread may call in here: it ends first
  if (!feeds_.empty()) {
    send_subscription();  // following nothing: the controller stops sending (and its worlds, if alone)
    feeds_.close_all();
  }
  stop_io();
  // What was sent must reach the controller even if the process ends right after (a call
  // submitted without waiting): closing waits up to this long for ZeroMQ to hand it over.
  socket_->set_linger(close_linger);
  // Whoever still waits learns that no answer will come.
  std::vector<Pending> left;
  {
    std::lock_guard lock(pending_mutex_);
    left = pending_.take_all();
  }
  for (auto& p : left) {
    // Engines may still be copying from or into memory of this process for it: that memory
    // must stay as it is, whatever the process does next, so it stays until the process ends.
    if (!p.state->lent.empty() || p.state->landed) keep_until_exit(p.state);
    std::vector<std::function<void(const AsyncResult&)>> continuations;
    {
      std::lock_guard lock(p.state->mutex);
      ResultSlot& slot = p.state->slots[p.slot];
      if (slot.done) continue;
      slot.done = true;
      slot.set_error(
          {errc::client_closed, "crew.connection.client_closed", "the client was closed before the answer came", {}});
      if (--p.state->remaining == 0) {
        p.state->finished_at = SteadyClock::now();
        continuations = std::move(p.state->continuations);
      }
    }
    p.state->cv.notify_all();
    run_continuations(p.state, std::move(continuations));
  }
}

std::shared_ptr<ResultState> ClientCore::new_state(std::size_t tasks, std::string_view function,
                                                   std::int64_t submitted_us) {
  auto state = std::make_shared<ResultState>();
  state->core = weak_from_this();
  state->slots.resize(tasks);
  state->function = std::string(function);
  state->targets.assign(tasks, -1);
  state->remaining = tasks;
  state->submitted_at = SteadyClock::now();
  state->finished_at = state->submitted_at;
  state->msg_ids.reserve(tasks);
  const std::uint64_t first = next_seq_.fetch_add(tasks);
  state->first_seq = first;
  for (std::size_t i = 0; i < tasks; ++i) {
    state->slots[i].submitted_us = submitted_us;
    state->msg_ids.push_back(own_prefix_ + std::to_string(first + i));
  }
  return state;
}

void ClientCore::check_size(const wire::Outgoing& m, const std::string& function, std::uint64_t streamed) const {
  std::uint64_t bytes = m.header_bytes.size() + streamed;
  for (const auto& f : m.payload) bytes += f.size();
  if (max_message_bytes_ && bytes > max_message_bytes_)
    throw_error(errc::oversized, "the call to " + function + " is " + bytes_text(bytes) +
                                     ", above the controller's limit of " + bytes_text(max_message_bytes_) +
                                     "; send less at once, or start the cluster with a larger "
                                     "--max-message-size");
}

wire::Outgoing ClientCore::request_for(ResultState& state, std::string_view function, Value::List args,
                                       const Bulk* bulk) {
  wire::Header h;
  // The one place a name becomes an op: DirectView's scatter, gather ... (and a user's
  // apply("crew.scatter")) are collectives from here on, said by the header.
  h.collective = wire::collective_of(function);
  h.kind = h.collective == wire::Collective::none ? wire::MsgKind::direct_task : wire::MsgKind::collective_request;
  h.targets.assign(state.targets.begin(), state.targets.end());
  h.function = std::string(function);
  h.submitted_us = state.slots.empty() ? now_us() : state.slots.front().submitted_us;
  h.msg_ids.assign(state.msg_ids.begin(), state.msg_ids.end());
  const Array* described = bulk ? (bulk->send ? bulk->send : bulk->receive) : nullptr;
  if (described) {
    h.stream.bytes = described->data().size();
    h.stream.dtype = static_cast<std::uint8_t>(described->type());
    h.stream.shape = described->shape();
    if (bulk->copied())
      h.stream.peer = {static_cast<std::uint64_t>(::getpid()),
                       reinterpret_cast<std::uintptr_t>(described->data().data())};
  }
  wire::Outgoing m = wire::make_message(h, Value(std::move(args)));
  check_size(m, h.function, bulk && bulk->send ? h.stream.bytes : 0);
  if (bulk && bulk->copied() && bulk->send) state.lent = bulk->send->data();
  if (bulk && bulk->receive) state.landed = std::make_unique<Value>(*bulk->receive);
  return m;
}

std::shared_ptr<ResultState> ClientCore::submit(std::string_view function, Value::List args,
                                                const std::vector<int>& targets, bool single, bool joined,
                                                const Bulk* bulk) {
  auto state = new_state(targets.size(), function, now_us());
  state->targets.assign(targets.begin(), targets.end());
  state->single = single;
  state->joined = joined;
  if (targets.empty()) return state;
  wire::Outgoing m = request_for(*state, function, std::move(args), bulk);
  // (a collective is not sent again: its parts depend on each other and on data sent after it)
  if (restorable_ && bulk == nullptr && !joined && wire::collective_of(function) == wire::Collective::none)
    keep(*state, {&m, 1});
  {
    std::lock_guard lock(pending_mutex_);
    for (std::size_t i = 0; i < targets.size(); ++i) pending_.add(state->first_seq + i, Pending{state, i});
  }
  send(std::move(m));
  if (bulk && bulk->send && bulk->transfer == wire::Transfer::streamed) {
    // The chunks are views of the caller's array: nothing is copied until ZeroMQ sends them.
    const Buffer& bytes = bulk->send->data();
    const std::size_t chunk = wire::stream_chunk_bytes();
    for (std::uint64_t at = 0; at < bytes.size(); at += chunk)
      send(wire::make_chunk(state->msg_ids.front(), bytes.size(), at,
                            bytes.slice(at, std::min<std::uint64_t>(chunk, bytes.size() - at))));
  }
  return state;
}

void ClientCore::post(const std::shared_ptr<ResultState>& state, std::span<wire::Outgoing> messages) {
  if (restorable_) keep(*state, messages);
  {
    std::lock_guard lock(pending_mutex_);
    for (std::size_t i = 0; i < state->slots.size(); ++i) pending_.add(state->first_seq + i, Pending{state, i});
  }
  for (auto& m : messages) send(std::move(m));
}

std::shared_ptr<ResultState> ClientCore::submit_each(std::string_view function, std::vector<Value::List> calls,
                                                     const std::vector<int>& targets) {
  const std::int64_t submitted = now_us();
  auto state = new_state(calls.size(), function, submitted);
  state->targets.assign(targets.begin(), targets.end());
  std::vector<wire::Outgoing> messages;
  messages.reserve(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) {
    wire::Header h;
    h.kind = wire::MsgKind::direct_task;
    h.targets = {targets[i]};
    h.msg_ids = {state->msg_ids[i]};
    h.function = std::string(function);
    h.submitted_us = submitted;
    messages.push_back(wire::make_message(h, Value(std::move(calls[i]))));
    check_size(messages.back(), h.function);
  }
  post(state, messages);
  return state;
}

std::shared_ptr<ResultState> ClientCore::submit_balanced(std::string_view function, std::span<Value::List> calls,
                                                         const std::vector<int>& targets, const wire::BalanceSpec& spec,
                                                         bool single) {
  if (wire::collective_of(function) != wire::Collective::none)
    throw_error(errc::bad_option, std::string(function) +
                                      " is a collective, which every engine of a view takes part in: run it on a "
                                      "DirectView (client.view().scatter(...), gather, push, reduce, save_h5, "
                                      "load_h5), not on a load-balanced view");
  const std::int64_t submitted = now_us();
  auto state = new_state(calls.size(), function, submitted);
  state->single = single;
  boost::container::small_vector<wire::Outgoing, 1> messages;  // most are one task
  messages.reserve(calls.size());
  wire::Header h;
  h.kind = wire::MsgKind::balanced_request;
  h.targets.assign(targets.begin(), targets.end());
  h.function = std::string(function);
  h.submitted_us = submitted;
  h.balance = spec;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    h.msg_ids.assign(1, state->msg_ids[i]);
    messages.push_back(wire::make_message(h, Value(std::move(calls[i]))));
    check_size(messages.back(), h.function);
  }
  post(state, {messages.data(), messages.size()});
  return state;
}

std::shared_ptr<ResultState> ClientCore::watch(const std::vector<std::string>& msg_ids) {
  auto state = std::make_shared<ResultState>();
  state->core = weak_from_this();
  state->msg_ids.assign(msg_ids.begin(), msg_ids.end());
  state->slots.resize(msg_ids.size());
  state->targets.assign(msg_ids.size(), -1);
  state->remaining = msg_ids.size();
  state->submitted_at = SteadyClock::now();
  state->finished_at = state->submitted_at;
  state->single = msg_ids.size() == 1;
  std::lock_guard lock(pending_mutex_);
  for (std::size_t i = 0; i < msg_ids.size(); ++i) pending_.watch(msg_ids[i], Pending{state, i});
  return state;
}

void ClientCore::forget(const std::shared_ptr<ResultState>& state) {
  std::lock_guard lock(pending_mutex_);
  pending_.forget(state);
  if (pending_.empty() && delivering_ == 0) all_done_.notify_all();
}

AbortReport ClientCore::abort(const std::vector<std::string>& msg_ids) {
  auto r = ask<wire::AbortReply>(wire::MsgKind::abort_request, wire::AbortRequest{msg_ids}, timeout_);
  return AbortReport{std::move(r.aborted), std::move(r.done), std::move(r.running)};
}

wire::Packet ClientCore::request(wire::MsgKind kind, const Value& body, std::chrono::milliseconds timeout) {
  return request_with(
      kind, [&](const wire::Header& h) { return wire::make_message(h, body); }, timeout);
}

wire::Packet ClientCore::request_with(wire::MsgKind kind,
                                      const std::function<wire::Outgoing(const wire::Header&)>& message,
                                      std::chrono::milliseconds timeout) {
  wire::Header h;
  h.kind = kind;
  h.request_id = next_seq_.fetch_add(1) + 1;
  std::future<wire::Packet> reply;
  {
    std::lock_guard lock(pending_mutex_);
    reply = requests_[h.request_id].get_future();
  }
  send(message(h));
  need_io();  // the reply comes to whoever reads the socket
  if (reply.wait_for(timeout) != std::future_status::ready) {
    std::lock_guard lock(pending_mutex_);
    requests_.erase(h.request_id);
    throw_connection_lost(wire::kind_name(kind), timeout);
  }
  wire::Packet p = reply.get();
  if (p.header.kind == wire::MsgKind::request_error)
    throw_error(p.header.error.code,
                "the controller refused " + std::string(wire::kind_name(kind)) + ": " + p.header.error.message);
  return p;
}

void ClientCore::stop_io() {
  stopping_ = true;
  outbox_.push(wire::Outgoing{});  // wakes the I/O thread, which sends what is queued and ends
  if (io_.joinable()) io_.join();
}

void ClientCore::throw_connection_lost(std::string_view what, std::chrono::milliseconds timeout) const {
  throw_error(errc::connection_lost,
              "the controller at " + url_ + via_ + " did not answer " + std::string(what) + " within " +
                  seconds_text(timeout),
              "is it overloaded or gone? check `crew cluster status`");
}

std::size_t ClientCore::outstanding() const {
  std::lock_guard lock(pending_mutex_);
  return pending_.size() + delivering_;
}

bool ClientCore::answers_due() const {
  std::lock_guard lock(pending_mutex_);
  return !pending_.empty() || delivering_ > 0 || !requests_.empty();
}

bool ClientCore::wait_all(std::chrono::milliseconds timeout) {
  need_io();
  std::unique_lock lock(pending_mutex_);
  auto done = [&] { return pending_.empty() && delivering_ == 0; };
  if (timeout < std::chrono::milliseconds::zero()) {
    all_done_.wait(lock, done);
    return true;
  }
  return all_done_.wait_for(lock, timeout, done);
}

void ClientCore::keep(ResultState& state, std::span<const wire::Outgoing> messages) const {
  if (messages.size() == state.slots.size() || messages.size() == 1)
    state.kept.assign(messages.begin(), messages.end());
}

void ClientCore::on_restored() {
  if (resuming_) return;
  resuming_ = true;
  wire::ResumeRequest ask;
  wire::ResultRequest watched;  // other clients' tasks: asked for again (the controller that died knew)
  watched.resend = true;
  {
    std::lock_guard lock(pending_mutex_);
    std::vector<std::uint64_t> seqs;
    pending_.own_pending(seqs);
    ask.msg_ids.reserve(seqs.size());
    for (const std::uint64_t seq : seqs) ask.msg_ids.push_back(own_prefix_ + std::to_string(seq));
    pending_.watched_ids(watched.msg_ids);
  }
  wire::Header h;
  h.kind = wire::MsgKind::resume_request;
  send(wire::make_typed_message(h, ask));
  if (!watched.msg_ids.empty()) {
    wire::Header r;
    r.kind = wire::MsgKind::result_request;  // its reply has no caller (request id 0): only the results count
    send(wire::make_typed_message(r, watched));
  }
}

// Replies the controller sent while the tunnel was down went nowhere (it drops what it cannot
// route): every result still awaited is asked for again; those that came meanwhile come again
// (a result already delivered is not delivered twice), the others when they are done.
void ClientCore::ask_again_after_reconnect() {
  wire::ResultRequest again;
  again.resend = true;
  {
    std::lock_guard lock(pending_mutex_);
    std::vector<std::uint64_t> seqs;
    pending_.own_pending(seqs);
    for (const std::uint64_t seq : seqs) again.msg_ids.push_back(own_prefix_ + std::to_string(seq));
    std::vector<std::string> watched;
    pending_.watched_ids(watched);
    again.msg_ids.insert(again.msg_ids.end(), watched.begin(), watched.end());
  }
  if (again.msg_ids.empty()) return;
  wire::Header h;
  h.kind = wire::MsgKind::result_request;  // request id 0: only the results it brings count
  send(wire::make_typed_message(h, again));
}

void ClientCore::on_resume_reply(const wire::Packet& p) {
  resuming_ = false;  // (what is sent again below goes before any later resume_request)
  const auto reply = wire::read_typed_body<wire::ResumeReply>(p);
  const std::string& prefix = own_prefix_;
  struct Listed {
    std::string id;
    Pending pending;
  };
  std::vector<Listed> listed;
  {
    std::lock_guard lock(pending_mutex_);
    for (const std::string& id : reply.resend) {
      if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0) continue;
      std::uint64_t seq = 0;
      const auto [end, ec] = std::from_chars(id.data() + prefix.size(), id.data() + id.size(), seq);
      if (ec != std::errc() || end != id.data() + id.size()) continue;
      if (Pending who = pending_.find_own(seq); who.state) listed.push_back({id, std::move(who)});
    }
  }
  // A request goes again only if every task it serves is to go again (the controller has none of
  // them); one not kept (a collective), or serving tasks the controller has, cannot: those fail.
  std::vector<wire::Outgoing> again;
  std::vector<std::string> lost;
  std::unordered_map<ResultState*, std::vector<std::string>> shared;  // one request for several tasks
  for (const Listed& l : listed) {
    ResultState& state = *l.pending.state;
    std::lock_guard lock(state.mutex);
    if (state.kept.size() == state.slots.size() && !state.kept[l.pending.slot].header_bytes.empty())
      again.push_back(state.kept[l.pending.slot]);
    else if (state.kept.size() == 1 && state.slots.size() > 1)
      shared[&state].push_back(l.id);
    else
      lost.push_back(l.id);
  }
  for (auto& [state, ids] : shared) {
    std::lock_guard lock(state->mutex);
    if (ids.size() == state->remaining)
      again.push_back(state->kept.front());
    else
      lost.insert(lost.end(), ids.begin(), ids.end());
  }
  for (auto& m : again) send(std::move(m));
  for (const std::string& id : lost) {
    wire::Packet failed;
    failed.header.kind = wire::MsgKind::apply_reply;
    failed.header.msg_ids = {id};
    failed.header.error = {errc::controller_restarted,
                           "crew.connection.controller_restarted",
                           "the controller died while this task was under way, and its request cannot be sent "
                           "again (a collective, whose parts depend on each other, or one request for several "
                           "engines that the restored controller has in part): call it again",
                           {}};
    on_result(std::move(failed));
  }
}

void ClientCore::on_packet(wire::Packet&& p) {
  if (p.header.kind == wire::MsgKind::output || p.header.kind == wire::MsgKind::engine_status) {
    on_output(p);
    return;
  }
  if (p.header.kind == wire::MsgKind::restored) {
    if (restorable_) on_restored();
    if (!feeds_.empty()) send_subscription();  // a restored controller knows no followers
    return;
  }
  if (p.header.kind == wire::MsgKind::resume_reply) {
    if (!p.header.error.failed())
      on_resume_reply(p);
    else
      resuming_ = false;
    return;
  }
  if (p.header.kind == wire::MsgKind::apply_reply) {
    if (p.header.stream.active()) {
      on_stream_head(std::move(p));
      return;
    }
    // An answer that replaces a stream (its world ended midway): the partial array goes.
    if (!incoming_.empty() && !p.header.msg_ids.empty()) incoming_.erase(p.header.msg_ids.front());
    on_result(std::move(p));
    return;
  }
  if (p.header.kind == wire::MsgKind::stream_chunk) {
    on_stream_chunk(p);
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

void ClientCore::on_stream_head(wire::Packet&& p) {
  const wire::StreamSpec& s = p.header.stream;
  if (p.header.msg_ids.empty() || !dtype_valid(s.dtype) || s.shape.empty()) {
    ++dropped_;
    return;
  }
  Incoming in;
  try {
    auto owner = std::make_shared_for_overwrite<std::byte[]>(static_cast<std::size_t>(s.bytes));
    in.data = owner.get();
    in.array = Buffer::view(std::move(owner), in.data, static_cast<std::size_t>(s.bytes));
  } catch (const std::bad_alloc&) {
    const std::uint64_t bytes = s.bytes;
    p.header.stream = {};
    p.header.error = {errc::oversized, "crew.protocol.oversized",
                      "the result is a " + std::to_string(bytes) + "-byte array, more than this client could allocate",
                      p.header.function};
    on_result(std::move(p));
    return;
  }
  const std::string key = p.header.msg_ids.front();
  in.head = std::move(p);
  incoming_.insert_or_assign(key, std::move(in));
}

void ClientCore::on_stream_chunk(const wire::Packet& p) {
  auto it = p.header.msg_ids.size() == 1 ? incoming_.find(p.header.msg_ids.front()) : incoming_.end();
  if (it == incoming_.end() || p.payload.size() != 1) {
    ++dropped_;
    return;
  }
  Incoming& in = it->second;
  const Buffer& data = p.payload.front();
  if (p.header.stream.offset != in.received || data.size() > in.array.size() - in.received) {
    ++dropped_;
    return;
  }
  std::memcpy(in.data + in.received, data.data(), data.size());
  in.received += data.size();
  if (in.received < in.array.size()) return;
  const wire::StreamSpec& s = in.head.header.stream;
  Value result;
  try {
    result = Value(Array(static_cast<dtype>(s.dtype), s.shape, in.array));
  } catch (const Error& e) {
    in.head.header.error = {errc::malformed,
                            "crew.protocol.malformed",
                            std::string("the streamed array does not fit its shape: ") + e.what(),
                            {}};
  }
  wire::Packet head = std::move(in.head);
  incoming_.erase(it);
  head.header.stream = {};
  on_result(std::move(head), head.header.error.failed() ? nullptr : &result);
}

// One reply answers one task, or (gather, reduce) every task of one call at once; a task may be
// awaited by two states (its own call, and a get_result), and both hear.
void ClientCore::on_result(wire::Packet&& p, const Value* value) {
  const std::int64_t received = now_us();
  Hearers hearers;
  std::function<void(const std::shared_ptr<ResultState>&)> then;
  std::vector<std::function<void(const AsyncResult&)>> continuations;
  for (const std::string& msg_id : p.header.msg_ids) {
    hearers.clear();
    {
      std::lock_guard lock(pending_mutex_);
      pending_.take(msg_id, hearers);
      if (!hearers.empty()) ++delivering_;
    }
    if (hearers.empty()) {
      ++dropped_;
      continue;
    }
    bool delivered = false;  // outstanding() and wait_all() have been told
    for (const Pending& pending : hearers) {
      if (pending.state->intercept && pending.state->intercept(pending.state, pending.slot, p)) continue;
      {
        std::lock_guard lock(pending.state->mutex);
        ResultSlot& slot = pending.state->slots[pending.slot];
        if (slot.done) continue;
        slot.done = true;
        if (value)
          slot.value = std::make_unique<Value>(*value);  // shares the array, no copy
        else if (pending.state->landed && !p.header.error.failed() && carries_nothing(p.payload))
          slot.value = std::make_unique<Value>(*pending.state->landed);  // the engines wrote it here
        else if (p.header.msg_ids.size() == 1 && hearers.size() == 1)
          slot.payload = std::move(p.payload);  // its only hearer
        else
          slot.payload = p.payload;  // shared buffers, not copies
        if (p.header.error.failed() || !p.header.out.empty() || !p.header.err.empty())
          slot.extras = std::make_unique<SlotExtras>(SlotExtras{p.header.error, p.header.out, p.header.err});
        slot.started_us = p.header.started_us;
        slot.completed_us = p.header.completed_us;
        slot.received_us = received;
        if (pending.state->function.empty()) pending.state->function = p.header.function;
        if (slot.submitted_us == 0) slot.submitted_us = p.header.submitted_us;
        if (p.header.engine_id >= 0 && !pending.state->joined) {
          pending.state->targets[pending.slot] = p.header.engine_id;  // a balanced task learns where it ran
        }
        pending.state->arrivals.push_back(pending.slot);
        if (!pending.state->kept.empty()) {  // answered: its request need not go again
          if (pending.state->kept.size() == pending.state->slots.size())
            pending.state->kept[pending.slot] = {};
          else if (pending.state->remaining == 1)
            pending.state->kept.clear();
        }
        if (--pending.state->remaining == 0) {
          pending.state->finished_at = SteadyClock::now();
          then = std::move(pending.state->then);
          continuations = std::move(pending.state->continuations);
        }
        // The last hearer, with nothing to run after: the task stops being outstanding while
        // its result becomes visible, so whoever sees the result also sees outstanding() without it.
        if (!then && &pending == &hearers.back()) {
          delivered_one();
          delivered = true;
        }
      }
      pending.state->cv.notify_all();
      if (then) std::exchange(then, {})(pending.state);
      if (!continuations.empty()) run_continuations(pending.state, std::exchange(continuations, {}));
    }
    // Otherwise only now (after what `then` sent is awaited): wait_all() must not return before.
    if (!delivered) delivered_one();
  }
}

void ClientCore::delivered_one() {
  std::lock_guard lock(pending_mutex_);  // (taken inside a state's mutex: never the other way round)
  if (--delivering_ == 0 && pending_.empty()) all_done_.notify_all();
}

const wire::ErrorInfo& ResultSlot::error() const noexcept {
  static const wire::ErrorInfo none;
  return extras ? extras->error : none;
}

void ResultSlot::set_error(wire::ErrorInfo e) {
  if (!extras) extras = std::make_unique<SlotExtras>();
  extras->error = std::move(e);
}

ResultMetadata ResultState::metadata(std::size_t i) const {
  const ResultSlot& slot = slots.at(i);
  ResultMetadata m;
  m.msg_id = msg_ids.at(i);
  m.engine_id = targets.at(i);
  m.function = function;
  m.status = !slot.done ? "pending" : slot.failed() ? "error" : "ok";
  if (slot.submitted_us != 0) m.submitted = from_us(slot.submitted_us);
  if (slot.done) {
    m.started = from_us(slot.started_us);
    m.completed = from_us(slot.completed_us);
    m.received = from_us(slot.received_us);
  }
  if (slot.extras) {
    m.stdout_text = slot.extras->stdout_text;
    m.stderr_text = slot.extras->stderr_text;
  }
  return m;
}

}  // namespace crew::detail

namespace crew::detail {

std::shared_ptr<OutputFeedState> ClientCore::follow(wire::OutputTerm term,
                                                    std::function<void(const OutputEvent&)> callback) {
  auto feed = std::make_shared<OutputFeedState>();
  feed->term = std::move(term);
  feed->callback = std::move(callback);
  feeds_.add(feed);
  try {
    const auto body = feeds_.subscription();
    (void)request_with(
        wire::MsgKind::output_subscribe, [&](const wire::Header& h) { return wire::make_typed_message(h, body); },
        timeout_);
  } catch (...) {
    feeds_.remove(feed.get());
    throw;
  }
  return feed;
}

void ClientCore::unfollow(const OutputFeedState* feed) {
  if (feeds_.remove(feed)) send_subscription();
}

void ClientCore::send_subscription() {
  wire::Header h;
  h.kind = wire::MsgKind::output_subscribe;  // request id 0: its reply has no caller
  send(wire::make_typed_message(h, feeds_.subscription()));
}

void ClientCore::on_output(const wire::Packet& p) {
  feeds_.deliver(p, [&](const std::string& msg_id) { return msg_id.starts_with(own_prefix_); });
  // The controller sends a follower at most a window of bytes ahead of its acknowledgements.
  constexpr std::uint64_t ack_every = std::uint64_t{1} << 20;
  output_received_ += wire::flow_bytes(p.header);
  if (output_received_ - output_acked_ < ack_every) return;
  output_acked_ = output_received_;
  wire::Header ack;
  ack.kind = wire::MsgKind::output_ack;
  ack.request_id = output_received_;
  send(wire::make_message(ack));
}

}  // namespace crew::detail
