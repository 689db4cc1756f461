// The controller's event loop: sockets, sending, timers, stopping.
#include "controller/controller_impl.hpp"

#include <poll.h>

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/log.hpp"
#include "common/memory.hpp"
#include "common/network.hpp"
#include "common/process.hpp"
#include "common/profile.hpp"
#include "common/units.hpp"
#include "crew/version.hpp"
#include "transport/keyring.hpp"

namespace crew::controller {

TaskRecord new_task(PeerId client, int engine_id, std::int64_t submitted_us, std::uint32_t function,
                    std::string collective) {
  TaskRecord t;
  t.function = function;
  t.client = client;
  t.engine_id = engine_id;
  t.submitted_us = submitted_us;
  if (!collective.empty()) t.extra().collective = std::move(collective);
  return t;
}

std::string printable(const std::string& id) {
  std::string out;
  for (unsigned char c : id) {
    if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

Controller::Impl::Impl(ControllerConfig c)
    : cfg(std::move(c)), dir(profile_dir(cfg.profile)),
      restored(cfg.restore ? std::optional(read_restore_point(cfg)) : std::nullopt),
      key_hex(restored ? restored->key_hex : wire::new_key_hex()), key(wire::key_from_hex(key_hex)),
      curve(curve_pair(cfg, dir)), ctx(block_signals_then_context()), clients(ctx, key, router_options("clients")),
      engines(ctx, key, router_options("worlds")) {
  tasks.set_budget(cfg.result_store_bytes);
  std::random_device random;
  while (incarnation == 0) incarnation = (std::uint64_t{random()} << 32) | random();
}

// Signals are blocked before ZeroMQ starts its threads, so only the signalfd sees them.
int Controller::Impl::block_signals_then_context() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return 1;  // I/O threads
}

void Controller::Impl::refuse_if_running() {
  const fs::path file = dir / controller_file_name;
  if (!fs::exists(file)) return;
  try {
    const ControllerFile cf = controller_file_from_json(read_json_file(file), file);
    if (cf.pid > 0 && cf.pid != ::getpid() && proc::alive(static_cast<pid_t>(cf.pid)) && cf.host == host_name())
      throw_error(errc::already_running, "profile '" + cfg.profile + "' already has a controller (pid " +
                                             std::to_string(cf.pid) + ", " + cf.client_url +
                                             "); stop it with `crew cluster stop --profile " + cfg.profile +
                                             "` or use another --profile");
  } catch (const InputError&) {
    // an unreadable file from a crashed controller: overwrite it
  }
}

std::optional<transport::CurveKeyPair> Controller::Impl::curve_pair(const ControllerConfig& cfg, const fs::path& dir) {
  const bool wanted = cfg.curve == CurveMode::on || (cfg.curve == CurveMode::automatic && !is_loopback(cfg.ip));
  if (!wanted) return std::nullopt;
  ensure_profile_dir(dir);
  return transport::Keyring(dir).controller_pair();
}

transport::EndpointOptions Controller::Impl::router_options(const char* zap_domain) const {
  transport::EndpointOptions o;
  o.replay_guard = replay_guard;
  if (curve) o.curve_server = {curve->secret_key, zap_domain};
  o.type = zmq::socket_type::router;
  o.linger = std::chrono::milliseconds(1000);
  o.router_mandatory = true;
  return o;
}

std::string Controller::Impl::bind(transport::Endpoint& s, int port) {
  const std::string ip = cfg.ip == "*" || cfg.ip == "0.0.0.0" ? "*" : cfg.ip;
  const std::string endpoint = "tcp://" + ip + ":" + (port > 0 ? std::to_string(port) : "*");
  std::string url;
  try {
    url = s.bind(endpoint);
  } catch (const zmq::error_t& e) {
    throw_error(errc::controller_failed, "cannot bind " + endpoint + ": " + e.what() +
                                             (port > 0 ? " (choose another port, or 0 for a free one)" : ""));
  }
  if (ip == "*") {
    const auto colon = url.rfind(':');
    url = "tcp://" + host_name() + url.substr(colon);
  }
  return url;
}

void Controller::Impl::setup() {
  ensure_profile_dir(dir);
  refuse_if_running();
  if (restored) {
    // The same addresses as the run before: its clients and worlds reconnect to them by themselves.
    const auto port_of = [](const std::string& url) {
      const auto colon = url.rfind(':');
      return colon == std::string::npos ? 0 : std::atoi(url.c_str() + colon + 1);
    };
    if (cfg.client_port == 0) cfg.client_port = port_of(restored->client_url);
    if (cfg.engine_port == 0) cfg.engine_port = port_of(restored->engine_url);
  }
  CurveFields client_keys, world_keys;
  if (curve) start_curve(client_keys, world_keys);
  client_url = bind(clients, cfg.client_port);
  engine_url = bind(engines, cfg.engine_port);
  if (!cfg.db_file.empty()) {
    open_task_db();
    record_restore_point();
    if (restored) restore_places();
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  signal_fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);

  ControllerFile cf{cfg.profile, client_url,     engine_url, key_hex,    host_name(),
                    ::getpid(),  version_string, "",         client_keys};
  EngineFile ef{cfg.profile, engine_url, key_hex, cfg.heartbeat_ms, world_keys};
  write_private_json(dir / engine_file_name, to_json(ef));
  write_private_json(dir / controller_file_name, to_json(cf));
  spdlog::info("controller {} for profile '{}' (pid {}): clients at {}, engines at {}{}", version_string, cfg.profile,
               ::getpid(), client_url, engine_url,
               curve ? fmt::format(", CURVE on (server key {}..., admitted keys in {})",
                                   transport::key_fingerprint(curve->public_key),
                                   transport::Keyring(dir).authorized_file().string())
                     : std::string(", plaintext (CURVE off)"));
  if (cfg.ready_fd >= 0) {
    (void)!::write(cfg.ready_fd, "ready\n", 6);
    ::close(cfg.ready_fd);
    cfg.ready_fd = -1;
  }
}

void Controller::Impl::start_curve(CurveFields& client, CurveFields& world) {
  transport::Keyring keys(dir);
  const auto client_pair = keys.own_pair("client", transport::KeyRole::client);
  const auto world_pair = keys.own_pair("world", transport::KeyRole::world);
  client = {curve->public_key, client_pair.public_key, client_pair.secret_key};
  world = {curve->public_key, world_pair.public_key, world_pair.secret_key};
  zap = std::make_unique<transport::ZapHandler>(ctx, keys.authorized_file(),
                                                std::vector<transport::Endpoint*>{&clients, &engines});
}

void Controller::Impl::open_task_db() {
  const mode_t old_mask = ::umask(077);  // the file holds every task's result: its owner's only
  try {
    db = std::make_unique<TaskDb>(TaskDbConfig{.file = cfg.db_file,
                                               .sync_full = cfg.db_sync_full,
                                               .max_result_bytes = cfg.db_max_result_bytes,
                                               .keep_unfinished = cfg.restore});
  } catch (...) {
    ::umask(old_mask);
    throw;
  }
  ::umask(old_mask);
  store::remember_file(cfg.profile, cfg.db_file);
  const TaskDbStart& start = db->start();
  tasks.set_first_seq(start.next_seq);
  next_session = start.next_session;
  spdlog::info("task records in {} ({} from earlier runs{})", cfg.db_file.string(), start.records,
               start.abandoned > 0
                   ? fmt::format("; {} left unfinished by a controller that died are marked failed", start.abandoned)
                   : std::string());
}

void Controller::Impl::teardown() {
  // Remove the connection files if they are still ours.
  for (const char* name : {controller_file_name, engine_file_name}) {
    const fs::path file = dir / name;
    try {
      const auto j = read_json_file(file);
      if (std::string(name) == controller_file_name && j.value("pid", std::int64_t{0}) != ::getpid()) continue;
      if (j.value("key", "") != key_hex) continue;
      fs::remove(file);
    } catch (const std::exception&) {
    }
  }
  if (signal_fd >= 0) ::close(signal_fd);
  spdlog::info("controller stopped: {} tasks submitted, {} completed, {} failed; dropped {} mis-signed, {} replayed, "
               "{} malformed",
               tasks.counts().submitted, tasks.counts().completed, tasks.counts().failed, stats.dropped_bad_signature,
               stats.dropped_replayed, stats.dropped_malformed);
}

void Controller::Impl::run() {
  setup();
  next_heartbeat_check = clock::now() + std::chrono::milliseconds(cfg.heartbeat_ms);
  // The sockets are watched by their ZMQ_FD (transport/endpoint.hpp says how): zmq_poll asked
  // each socket twice per wake-up, two system calls each. A socket is read until it has nothing
  // or the turn's share is done, and one that was sent on is asked once more before sleeping.
  bool look_clients = true, look_engines = true;
  while (!done) {
    // Engines first: replies free capacity; then a bounded batch from each side.
    bool more = false;
    if (look_engines) more |= drain(engines, false);
    if (look_clients) more |= drain(clients, true);
    on_timers();
    // What this turn finished may free dependents and engines: hand out work, then send.
    resolve_dependents();
    schedule();
    rebalance();
    if (db) {
      queue_acks();
      db->end_turn();
      release_held();
    }
    flush();
    retire_records();
    if (more) {
      look_clients = look_engines = true;
      continue;
    }
    look_engines = !engines.armed() && engines.input_waiting();
    look_clients = !clients.armed() && clients.input_waiting();
    if (look_engines || look_clients) continue;
    pollfd fds[] = {
        {clients.fd(), POLLIN, 0}, {engines.fd(), POLLIN, 0}, {signal_fd, POLLIN, 0}, {db ? db->fd() : -1, POLLIN, 0}};
    (void)::poll(fds, 4, static_cast<int>(next_timeout().count()));
    if (fds[2].revents & POLLIN) on_signal();
    if (fds[3].revents & POLLIN) db->answered();  // commits and reads: released at the turn's end
    look_clients = fds[0].revents != 0;
    look_engines = fds[1].revents != 0;
  }
  if (db) {  // what was told waits for its commit, and goes before the controller does
    db->end_turn();
    const auto give_up = clock::now() + std::chrono::seconds(30);  // a disk that hangs
    while (!held.empty() && clock::now() < give_up) {
      pollfd fd{db->fd(), POLLIN, 0};
      (void)::poll(&fd, 1, 100);
      db->answered();
      release_held();
    }
  }
  flush();
  teardown();
}

std::chrono::milliseconds Controller::Impl::next_timeout() const {
  auto next = next_heartbeat_check;
  for (const auto& w : waiters) next = std::min(next, w.deadline);
  if (stopping) next = std::min(next, stop_deadline);
  if (restoring) next = std::min(next, restore_deadline);
  if (!timeouts.empty()) next = std::min(next, timeouts.top().first);
  if (next_rebalance_ns) next = std::min(next, clock::time_point(std::chrono::nanoseconds(*next_rebalance_ns)));
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - clock::now());
  return std::max(left, std::chrono::milliseconds(0)) + std::chrono::milliseconds(1);
}

/// Handles up to `limit` waiting crew messages, for 50 ms at most (what a turn owes, heartbeat
/// echoes above all, goes out at its end however slow the messages are: a flood of hostile ones
/// under a sanitizer took 250 us each, and 8,192 of them held the echoes 2 s); false once the
/// socket is empty.
bool Controller::Impl::drain(transport::Endpoint& socket, bool from_clients, std::size_t limit) {
  const auto until = clock::now() + std::chrono::milliseconds(50);
  const char* from = from_clients ? "a client" : "an engine";
  socket.receive([&](transport::Received&& received) { on_received(std::move(received), from_clients); },
                 [&](const wire::Rejection& why) {
                   std::uint64_t& dropped = why.code == errc::bad_signature ? stats.dropped_bad_signature
                                            : why.code == errc::replayed    ? stats.dropped_replayed
                                                                            : stats.dropped_malformed;
                   if (logging::sampled(++dropped))
                     spdlog::warn("dropped a message from {}: [crew.{}] {} ({} of this sort so far)", from,
                                  errc_name(why.code), why.detail, dropped);
                 },
                 limit, until);
  return !socket.armed();
}

void Controller::Impl::on_received(transport::Received&& received, bool from_clients) {
  const std::uint64_t bytes = received.bytes;
  if (zap && !received.routing.empty() && zap->from_revoked_key(received.routing.front())) {
    if (++stats.dropped_revoked <= 100 || stats.dropped_revoked % 1000 == 0)
      spdlog::warn("dropped a message from {} {}: its CURVE key was revoked ({} dropped so far)",
                   from_clients ? "client" : "world", printable(received.peer()), stats.dropped_revoked);
    return;
  }
  if (zap && from_clients && !received.routing.empty())
    received_key = transport::ZapHandler::key_of(received.routing.front());
  const PeerId peer = (from_clients ? client_peers : bridge_peers).id_of(received.peer());
  ++stats.messages_in;
  stats.members_in += received.messages.size();
  for (auto& packet : received.messages) {
    const wire::MsgKind kind = packet.header.kind;
    const std::uint64_t request_id = packet.header.request_id;
    if (packet.payload.size() > 1) trim_pending = saw_bulk_this_period = true;  // give memory back when idle
    if (kind != wire::MsgKind::heartbeat) saw_traffic_this_period = traffic_since_trim = true;
    if (from_clients && refuse_oversized(peer, packet, bytes)) continue;
    try {
      if (from_clients)
        on_client(peer, std::move(packet));
      else
        on_engine(peer, std::move(packet));
    } catch (const std::exception& e) {
      // A handler never takes the controller down; the sender hears why, rather than waiting.
      ++stats.handler_errors;
      spdlog::error("error handling {} from {}: {}", wire::kind_name(kind), from_clients ? "a client" : "an engine",
                    e.what());
      answer_failure(from_clients, peer, kind, request_id, e);
    }
  }
}

/// Sends what the handlers queued. Engines first: a bridge found gone ends its world, which
/// queues failures for clients (and may queue work for other worlds).
void Controller::Impl::flush() {
  while (!to_engines.empty() || !to_clients.empty()) {
    to_engines.flush(engines, [&](PeerId peer) {
      ++stats.unroutable;
      if (WorldRecord* w = registry.world_by_routing(bridge_peers.name(peer)))
        end_world(*w, EngineState::dead, "its bridge disconnected");
    });
    to_clients.flush(clients, [&](PeerId peer) {
      ++stats.unroutable;
      spdlog::debug("client {} is gone; its results stay stored", printable(client_peers.name(peer)));
      forget_follower(peer);
    });
  }
}

/// A request above --max-message-size: every task in it fails with a clear error; the rest of
/// the traffic is unharmed.
bool Controller::Impl::refuse_oversized(PeerId client, const wire::Packet& p, std::uint64_t bytes) {
  if (bytes <= cfg.max_message_bytes) return false;
  ++stats.dropped_oversized;
  const std::string why = "the request is " + bytes_text(bytes) + ", above the controller's limit of " +
                          bytes_text(cfg.max_message_bytes) +
                          "; send less at once, or raise the limit with `crew cluster start --max-message-size` "
                          "(`crew controller --max-message-size`)";
  spdlog::warn("refused a {} from a client: {}", wire::kind_name(p.header.kind), why);
  if (p.header.kind == wire::MsgKind::direct_task || p.header.kind == wire::MsgKind::collective_request) {
    for (std::size_t i = 0; i < p.header.msg_ids.size(); ++i)
      reject(client, p.header, p.header.msg_ids[i], i < p.header.targets.size() ? p.header.targets[i] : -1,
             errc::oversized, why, !tasks.contains(p.header.msg_ids[i]));
  } else {
    auto h = reply_to(p.header, wire::MsgKind::request_error);
    h.error = {errc::oversized, "crew.protocol.oversized", why, {}};
    send_to_client(client, h);
  }
  return true;
}

void Controller::Impl::answer_failure(bool to_client, PeerId peer, wire::MsgKind kind, std::uint64_t request_id,
                                      const std::exception& e) {
  wire::Header h;
  h.kind = wire::MsgKind::request_error;
  h.request_id = request_id;
  if (kind == wire::MsgKind::register_request)
    h.kind = wire::MsgKind::register_reply;
  else if (kind == wire::MsgKind::apply_reply || kind == wire::MsgKind::heartbeat || kind == wire::MsgKind::goodbye ||
           kind == wire::MsgKind::withdraw_reply || kind == wire::MsgKind::direct_task ||
           kind == wire::MsgKind::collective_request || kind == wire::MsgKind::balanced_request)
    return;  // not requests: nobody waits for an answer (tasks answer each on their own)
  const auto* err = dynamic_cast<const Error*>(&e);
  const errc code = err ? err->code() : errc::internal;
  h.error = {code, "crew." + std::string(errc_name(code)), err ? err->message() : e.what(), {}};
  const auto m = wire::make_message(h);
  (to_client ? to_clients : to_engines).add(peer, m.header_bytes, m.payload);
}

void Controller::Impl::on_signal() {
  signalfd_siginfo info{};
  while (::read(signal_fd, &info, sizeof info) == sizeof info) {
    spdlog::info("signal {}: stopping", info.ssi_signo);
    begin_stop();
  }
}

void Controller::Impl::on_timers() {
  if (clock::now() >= next_heartbeat_check) {
    // A world is never judged silent while its heartbeat waits unread in our own queue (a
    // controller starved of CPU, a flood of messages): read what waits first. The socket queues
    // fairly across connections, so each world's heartbeat is among the first batch read; the
    // echoes go out batch by batch, and a flood that never ends holds this up one period at most.
    const auto read_until = clock::now() + std::chrono::milliseconds(cfg.heartbeat_ms);
    while (drain(engines, false) && clock::now() < read_until) flush();
    check_heartbeats(clock::now());
    check_drains();
    if (zap && zap->revocations() != revocations_seen) drop_revoked_followers();
    if (!to_notify.empty()) tell_restored();
    if (!awaiting_resend.empty()) expire_awaiting(clock::now());
    next_heartbeat_check = clock::now() + std::chrono::milliseconds(cfg.heartbeat_ms);
    // Memory kept for bulk messages goes back to the system once a period passed without any;
    // what a burst of small messages left free, once a period passed without any message, but
    // only beyond what the next burst would fault in again (warm_for_bursts).
    const bool bulk_done = trim_pending && !saw_bulk_this_period;
    if (bulk_done || (traffic_since_trim && !saw_traffic_this_period)) {
      tasks.evict();  // now also the newest, long delivered
      release_unused_memory(bulk_done ? 0 : warm_for_bursts);
      trim_pending = traffic_since_trim = false;
    }
    saw_bulk_this_period = saw_traffic_this_period = false;
  }
  const auto now = clock::now();
  if (restoring) check_restore(now);
  answer_waiters();
  check_timeouts(now);
  if (stopping) {
    bool any_alive = false;
    for (const auto& w : registry.worlds()) any_alive |= w.state == EngineState::alive;
    if (!any_alive || now >= stop_deadline) finish_stop(any_alive);
  }
}

void Controller::Impl::send_to_client(PeerId client, const wire::Header& h, const Value& body) {
  const auto m = wire::make_message(h, body);
  to_clients.add(client, m.header_bytes, m.payload);
}

/// Queues a message for a client (a stored reply: with its signature if it has one).
void Controller::Impl::to_client(PeerId client, const Buffer& header_bytes, std::span<const Buffer> payload,
                                 const Buffer& signature) {
  if (client == no_peer) return;  // a task taken over from the run before, whose client is not known
  to_clients.add(client, header_bytes, payload, signature);
}

void Controller::Impl::to_bridge(PeerId bridge, const wire::Outgoing& m, const Buffer& signature) {
  to_engines.add(bridge, m.header_bytes, m.payload, signature);
}

wire::Header Controller::Impl::reply_to(const wire::Header& request, wire::MsgKind kind) {
  wire::Header h;
  h.kind = kind;
  h.request_id = request.request_id;
  return h;
}

void Controller::Impl::begin_stop() {
  if (stopping) return;
  stopping = true;
  stop_deadline = deadline_after(std::chrono::milliseconds(std::max(5000, 3 * cfg.heartbeat_ms)));
  wire::Header stop;
  stop.kind = wire::MsgKind::shutdown_world;
  const auto m = wire::make_message(stop);
  int n = 0;
  for (auto& w : registry.worlds()) {
    if (w.state != EngineState::alive) continue;
    to_bridge(w.peer, m);
    ++n;
  }
  spdlog::info("stopping: asked {} world{} to shut down", n, n == 1 ? "" : "s");
}

void Controller::Impl::finish_stop(bool timed_out) {
  if (timed_out) {
    for (auto& w : registry.worlds())
      if (w.state == EngineState::alive) end_world(w, EngineState::dead, "it did not stop in time");
  }
  for (const auto& [client, request_id] : stop_requesters) {
    wire::Header h;
    h.kind = wire::MsgKind::shutdown_reply;
    h.request_id = request_id;
    send_to_client(client, h, Value::dict({{"timed_out", timed_out}}));
  }
  done = true;
}

Controller::Controller(ControllerConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Controller::~Controller() = default;
void Controller::run() { impl_->run(); }

}  // namespace crew::controller
