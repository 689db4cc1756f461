// The controller's event loop and handlers.
#include "controller/controller.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "common/memory.hpp"
#include "common/process.hpp"
#include "common/profile.hpp"
#include "common/units.hpp"
#include "controller/collective_plan.hpp"
#include "controller/registry.hpp"
#include "controller/task_table.hpp"
#include "crew/version.hpp"
#include "protocol/collective.hpp"
#include "protocol/wire.hpp"
#include "values/sequence.hpp"

namespace crew::controller {
namespace {

using clock = std::chrono::steady_clock;

std::string routing_of(const wire::Packet& p) {
  if (p.routing.empty()) return {};
  return std::string(static_cast<const char*>(p.routing.front().data()), p.routing.front().size());
}

TaskRecord new_task(const std::string& client, int engine_id, std::int64_t submitted_us, std::string collective = {}) {
  TaskRecord t;
  t.client = client;
  t.engine_id = engine_id;
  t.submitted_us = submitted_us;
  t.collective = std::move(collective);
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

}  // namespace

struct Controller::Impl {
  struct Waiter {
    std::string client;
    std::uint64_t request_id;
    int wait_for;
    Deadline deadline;
  };

  /// A collective whose worlds must be joined (gather, reduce) or take turns (save_h5).
  struct CollectiveRecord {
    std::string client;
    wire::Collective op = wire::Collective::none;
    std::string function;
    std::int64_t submitted_us = 0;
    std::vector<int> targets;
    std::vector<std::string> msg_ids;
    std::string reduce_op;
    // gather / reduce: one part per world
    std::size_t worlds = 0;
    std::set<int> answered;
    std::map<int, Value> parts;
    std::vector<std::string> errors;
    errc error_code = errc::none;
    // save_h5: one world after the other
    std::deque<std::pair<int, wire::Outgoing>> turns;
    std::size_t turn_open = 0;
    std::string turn_failed;
  };

  ControllerConfig cfg;
  fs::path dir;
  std::string key_hex;
  std::string key;
  wire::Signer signer;
  zmq::context_t ctx;
  zmq::socket_t clients;
  zmq::socket_t engines;
  int signal_fd = -1;
  std::string client_url;
  std::string engine_url;

  Registry registry;
  TaskTable tasks;
  ControllerStats stats;
  std::vector<Waiter> waiters;
  std::unordered_map<std::string, CollectiveRecord> collectives;

  bool stopping = false;
  bool done = false;
  bool trim_pending = false;
  bool saw_bulk_this_period = false;
  Deadline stop_deadline{};
  std::vector<std::pair<std::string, std::uint64_t>> stop_requesters;
  clock::time_point next_heartbeat_check{};

  static constexpr std::size_t initial_task_capacity = 1 << 16;

  explicit Impl(ControllerConfig c)
      : cfg(std::move(c)), dir(profile_dir(cfg.profile)), key_hex(wire::new_key_hex()),
        key(wire::key_from_hex(key_hex)), signer(key), ctx(block_signals_then_context()),
        clients(ctx, zmq::socket_type::router), engines(ctx, zmq::socket_type::router) {
    tasks.reserve(initial_task_capacity);
    tasks.set_budget(cfg.result_store_bytes);
  }

  // Signals are blocked before ZeroMQ starts its threads, so only the signalfd sees them.
  static int block_signals_then_context() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    return 1;  // I/O threads
  }

  // ------------------------------------------------------------------------------ setup / teardown

  void refuse_if_running() {
    const fs::path file = dir / controller_file_name;
    if (!fs::exists(file)) return;
    try {
      const ControllerFile cf = controller_file_from_json(read_json_file(file), file);
      if (cf.pid > 0 && cf.pid != ::getpid() && proc::alive(static_cast<pid_t>(cf.pid)) && cf.host == host_name())
        throw LaunchError(errc::already_running, "profile '" + cfg.profile + "' already has a controller (pid " +
                                                     std::to_string(cf.pid) + ", " + cf.client_url +
                                                     "); stop it with `crew cluster stop --profile " + cfg.profile +
                                                     "` or use another --profile");
    } catch (const InputError&) {
      // an unreadable file from a crashed controller: overwrite it
    }
  }

  std::string bind(zmq::socket_t& s, int port) {
    s.set(zmq::sockopt::router_mandatory, 1);
    s.set(zmq::sockopt::sndhwm, 0);
    s.set(zmq::sockopt::rcvhwm, 0);
    s.set(zmq::sockopt::linger, 1000);
    const std::string ip = cfg.ip == "*" || cfg.ip == "0.0.0.0" ? "*" : cfg.ip;
    const std::string endpoint = "tcp://" + ip + ":" + (port > 0 ? std::to_string(port) : "*");
    try {
      s.bind(endpoint);
    } catch (const zmq::error_t& e) {
      throw LaunchError(errc::controller_failed, "cannot bind " + endpoint + ": " + e.what() +
                                                     (port > 0 ? " (choose another port, or 0 for a free one)" : ""));
    }
    std::string url = s.get(zmq::sockopt::last_endpoint);
    if (ip == "*") {
      const auto colon = url.rfind(':');
      url = "tcp://" + host_name() + url.substr(colon);
    }
    return url;
  }

  void setup() {
    ensure_profile_dir(dir);
    refuse_if_running();
    client_url = bind(clients, cfg.client_port);
    engine_url = bind(engines, cfg.engine_port);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    signal_fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);

    ControllerFile cf{cfg.profile, client_url, engine_url, key_hex, host_name(), ::getpid(), version_string};
    EngineFile ef{cfg.profile, engine_url, key_hex, cfg.heartbeat_ms};
    write_private_json(dir / engine_file_name, to_json(ef));
    write_private_json(dir / controller_file_name, to_json(cf));
    spdlog::info("controller {} for profile '{}' (pid {}): clients at {}, engines at {}", version_string, cfg.profile,
                 ::getpid(), client_url, engine_url);
    if (cfg.ready_fd >= 0) {
      (void)!::write(cfg.ready_fd, "ready\n", 6);
      ::close(cfg.ready_fd);
      cfg.ready_fd = -1;
    }
  }

  void teardown() {
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
    spdlog::info("controller stopped: {} tasks submitted, {} completed, {} failed; dropped {} mis-signed, {} malformed",
                 tasks.counts().submitted, tasks.counts().completed, tasks.counts().failed, stats.dropped_bad_signature,
                 stats.dropped_malformed);
  }

  // ----------------------------------------------------------------------------------- the loop

  void run() {
    setup();
    next_heartbeat_check = clock::now() + std::chrono::milliseconds(cfg.heartbeat_ms);
    while (!done) {
      zmq::pollitem_t items[] = {{clients.handle(), 0, ZMQ_POLLIN, 0},
                                 {engines.handle(), 0, ZMQ_POLLIN, 0},
                                 {nullptr, signal_fd, ZMQ_POLLIN, 0}};
      zmq::poll(items, 3, next_timeout());
      if (items[2].revents & ZMQ_POLLIN) on_signal();
      // Engines first: replies free capacity; then a bounded batch from each side.
      if (items[1].revents & ZMQ_POLLIN) drain(engines, false);
      if (items[0].revents & ZMQ_POLLIN) drain(clients, true);
      on_timers();
    }
    teardown();
  }

  std::chrono::milliseconds next_timeout() const {
    auto next = next_heartbeat_check;
    for (const auto& w : waiters) next = std::min(next, w.deadline);
    if (stopping) next = std::min(next, stop_deadline);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - clock::now());
    return std::max(left, std::chrono::milliseconds(0)) + std::chrono::milliseconds(1);
  }

  /// Handles up to `limit` waiting messages; false once the socket is empty.
  bool drain(zmq::socket_t& socket, bool from_clients, int limit = 1024) {
    for (int i = 0; i < limit; ++i) {
      auto frames = wire::recv_frames(socket);
      if (!frames) return false;
      wire::Rejection why;
      auto packet = wire::open(std::move(*frames), signer, why);
      if (!packet) {
        ++(why.code == errc::bad_signature ? stats.dropped_bad_signature : stats.dropped_malformed);
        spdlog::warn("dropped a message from {}: [crew.{}] {}", from_clients ? "a client" : "an engine",
                     errc_name(why.code), why.detail);
        continue;
      }
      const std::string peer = routing_of(*packet);
      const wire::Header request = packet->header;
      if (packet->payload.size() > 1) trim_pending = saw_bulk_this_period = true;  // give memory back when idle
      if (from_clients && refuse_oversized(peer, *packet)) continue;
      try {
        if (from_clients)
          on_client(std::move(*packet));
        else
          on_engine(std::move(*packet));
      } catch (const std::exception& e) {
        // A handler never takes the controller down; the sender hears why, rather than waiting.
        ++stats.handler_errors;
        spdlog::error("error handling {} from {}: {}", wire::kind_name(request.kind),
                      from_clients ? "a client" : "an engine", e.what());
        answer_failure(socket, peer, request, e);
      }
    }
    return true;
  }

  /// A request above --max-message-size: every task in it fails with a clear error; the rest of
  /// the traffic is unharmed.
  bool refuse_oversized(const std::string& client, const wire::Packet& p) {
    std::uint64_t bytes = p.header_bytes.size();
    for (const auto& f : p.payload) bytes += f.size();
    if (bytes <= cfg.max_message_bytes) return false;
    ++stats.dropped_oversized;
    const std::string why = "the request is " + bytes_text(bytes) + ", above the controller's limit of " +
                            bytes_text(cfg.max_message_bytes) +
                            "; send less at once, or raise the limit with `crew cluster start --max-message-size` "
                            "(`crew controller --max-message-size`)";
    spdlog::warn("refused a {} from a client: {}", wire::kind_name(p.header.kind), why);
    if (p.header.kind == wire::MsgKind::apply_request) {
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

  void answer_failure(zmq::socket_t& socket, const std::string& peer, const wire::Header& request,
                      const std::exception& e) {
    wire::Header h = reply_to(request, wire::MsgKind::request_error);
    if (request.kind == wire::MsgKind::register_request)
      h.kind = wire::MsgKind::register_reply;
    else if (request.kind == wire::MsgKind::apply_reply || request.kind == wire::MsgKind::heartbeat ||
             request.kind == wire::MsgKind::goodbye || request.kind == wire::MsgKind::apply_request)
      return;  // not requests: nobody waits for an answer (apply_request answers per task)
    const auto* err = dynamic_cast<const Error*>(&e);
    const errc code = err ? err->code() : errc::internal;
    h.error = {code, "crew." + std::string(errc_name(code)), err ? err->message() : e.what(), {}};
    const auto m = wire::make_message(h);
    route(socket, peer, m.header_bytes, m.payload, nullptr);
  }

  void on_signal() {
    signalfd_siginfo info{};
    while (::read(signal_fd, &info, sizeof info) == sizeof info) {
      spdlog::info("signal {}: stopping", info.ssi_signo);
      begin_stop();
    }
  }

  void on_timers() {
    if (clock::now() >= next_heartbeat_check) {
      // A world is never judged silent while its heartbeat waits unread in our own queue (a
      // flood of messages, or a controller that was starved of CPU): read everything first.
      while (drain(engines, false)) {
      }
      check_heartbeats(clock::now());
      next_heartbeat_check = clock::now() + std::chrono::milliseconds(cfg.heartbeat_ms);
      // Memory kept for bulk messages goes back to the system once a period passed without any.
      if (trim_pending && !saw_bulk_this_period) {
        tasks.evict();  // now also the newest, long delivered
        release_unused_memory();
        trim_pending = false;
      }
      saw_bulk_this_period = false;
    }
    const auto now = clock::now();
    answer_waiters(false);
    if (stopping) {
      bool any_alive = false;
      for (const auto& w : registry.worlds()) any_alive |= w.state == EngineState::alive;
      if (!any_alive || now >= stop_deadline) finish_stop(any_alive);
    }
  }

  // -------------------------------------------------------------------------------- sending

  void send_to_client(const std::string& client, const wire::Header& h, const Value& body = Value()) {
    const auto m = wire::make_message(h, body);
    route(clients, client, m.header_bytes, m.payload, nullptr);
  }

  /// Sends (signing unless `signature` is given); an unroutable peer is counted, not fatal.
  wire::Sent route(zmq::socket_t& socket, const std::string& peer, const Buffer& header_bytes,
                   std::span<const Buffer> payload, const Buffer* signature) {
    zmq::message_t id(peer.data(), peer.size());
    const wire::Sent r = signature ? wire::forward(socket, {&id, 1}, *signature, header_bytes, payload)
                                   : wire::send(socket, {&id, 1}, header_bytes, payload, signer);
    if (r != wire::Sent::ok) {
      ++stats.unroutable;
      spdlog::debug("peer {} is unreachable ({})", printable(peer), r == wire::Sent::unroutable ? "gone" : "full");
    }
    return r;
  }

  wire::Header reply_to(const wire::Header& request, wire::MsgKind kind) {
    wire::Header h;
    h.kind = kind;
    h.request_id = request.request_id;
    return h;
  }

  // ------------------------------------------------------------------------------- clients

  void on_client(wire::Packet&& p) {
    const std::string client = routing_of(p);
    switch (p.header.kind) {
    case wire::MsgKind::hello:
      send_to_client(client, reply_to(p.header, wire::MsgKind::hello_reply),
                     Value::dict({{"crew_version", version_string},
                                  {"profile", cfg.profile},
                                  {"pid", static_cast<std::int64_t>(::getpid())},
                                  {"engines", registry.alive_engines()},
                                  {"max_message_bytes", static_cast<std::int64_t>(cfg.max_message_bytes)}}));
      break;
    case wire::MsgKind::engines_request: on_engines_request(client, p); break;
    case wire::MsgKind::apply_request: dispatch(client, p); break;
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

  void on_engines_request(const std::string& client, const wire::Packet& p) {
    const Value body = p.body();
    const int wait_for = body.contains("wait_for") ? static_cast<int>(body["wait_for"].as_int()) : 0;
    const int wait_ms = body.contains("wait_ms") ? static_cast<int>(body["wait_ms"].as_int()) : 0;
    if (registry.alive_engines() >= wait_for || wait_ms <= 0) {
      send_engines(client, p.header.request_id);
      return;
    }
    waiters.push_back({client, p.header.request_id, wait_for, deadline_after(std::chrono::milliseconds(wait_ms))});
  }

  void send_engines(const std::string& client, std::uint64_t request_id) {
    Value::List list;
    for (const auto& e : registry.engines()) {
      const WorldRecord* w = registry.world(e.world);
      list.push_back(Value::dict({{"id", e.id},
                                  {"host", e.host},
                                  {"pid", e.pid},
                                  {"rank", e.rank},
                                  {"world", e.world},
                                  {"world_size", w ? w->size : 0},
                                  {"state", state_name(e.state)},
                                  {"tasks", static_cast<std::int64_t>(e.in_flight.size())},
                                  {"completed", static_cast<std::int64_t>(e.completed)}}));
    }
    wire::Header h;
    h.kind = wire::MsgKind::engines_reply;
    h.request_id = request_id;
    send_to_client(client, h, Value(std::move(list)));
  }

  void answer_waiters(bool /*registration*/) {
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

  Value stats_value() const {
    return Value::dict({{"dropped_bad_signature", static_cast<std::int64_t>(stats.dropped_bad_signature)},
                        {"dropped_oversized", static_cast<std::int64_t>(stats.dropped_oversized)},
                        {"dropped_malformed", static_cast<std::int64_t>(stats.dropped_malformed)},
                        {"dropped_unexpected", static_cast<std::int64_t>(stats.dropped_unexpected)},
                        {"unroutable", static_cast<std::int64_t>(stats.unroutable)},
                        {"handler_errors", static_cast<std::int64_t>(stats.handler_errors)},
                        {"tasks_submitted", static_cast<std::int64_t>(tasks.counts().submitted)},
                        {"tasks_completed", static_cast<std::int64_t>(tasks.counts().completed)},
                        {"tasks_failed", static_cast<std::int64_t>(tasks.counts().failed)},
                        {"tasks_stored", static_cast<std::int64_t>(tasks.size())},
                        {"result_bytes_kept", static_cast<std::int64_t>(tasks.kept_bytes())},
                        {"engines_alive", registry.alive_engines()},
                        {"pid", static_cast<std::int64_t>(::getpid())},
                        {"worlds", static_cast<std::int64_t>(registry.worlds().size())}});
  }

  // ---------------------------------------------------------------------------- direct work

  void dispatch(const std::string& client, const wire::Packet& p) {
    const wire::Header& h = p.header;
    if (h.targets.empty() || h.targets.size() != h.msg_ids.size()) {
      ++stats.dropped_malformed;
      auto reply = reply_to(h, wire::MsgKind::request_error);
      reply.error = {errc::malformed, "crew.protocol.malformed", "an apply_request needs one msg_id per target", {}};
      send_to_client(client, reply);
      return;
    }
    if (const auto op = wire::collective_of(h.function); op != wire::Collective::none) {
      dispatch_collective(client, p, op);
      return;
    }
    std::map<int, wire::Header> per_world;
    std::vector<int> seen;
    for (std::size_t i = 0; i < h.targets.size(); ++i) {
      const int id = h.targets[i];
      const std::string& msg_id = h.msg_ids[i];
      if (tasks.contains(msg_id)) {
        reject(client, h, msg_id, id, errc::bad_option, "msg_id " + msg_id + " was already used", false);
        continue;
      }
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
        reject(client, h, msg_id, id, errc::bad_targets,
               "engine " + std::to_string(id) + " is named twice in one request");
        continue;
      }
      seen.push_back(id);
      EngineRecord* e = registry.engine(id);
      if (e == nullptr) {
        reject(client, h, msg_id, id, errc::unknown_target,
               "there is no such engine; this cluster has " + registry.describe_alive());
        continue;
      }
      if (e->state != EngineState::alive) {
        const WorldRecord* w = registry.world(e->world);
        reject(client, h, msg_id, id, errc::engine_dead,
               "engine " + std::to_string(id) + " is " + std::string(state_name(e->state)) + " (" +
                   (w ? w->end_reason : "") + "); this cluster has " + registry.describe_alive());
        continue;
      }
      tasks.add(msg_id, new_task(client, id, h.submitted_us));
      e->in_flight.push_back(msg_id);
      wire::Header& task = per_world[e->world];
      if (task.targets.empty()) {
        task.kind = wire::MsgKind::task;
        task.function = h.function;
        task.submitted_us = h.submitted_us;
      }
      task.targets.push_back(id);
      task.msg_ids.push_back(msg_id);
    }
    // All targets in one world (the common case): the bridge takes the client's signed request
    // as it is. Otherwise each world gets a task header naming only its own engines.
    const bool forward_as_is = per_world.size() == 1 && per_world.begin()->second.targets.size() == h.targets.size();
    for (auto& [world_id, task] : per_world) {
      WorldRecord* w = registry.world(world_id);
      const wire::Sent sent = forward_as_is
                                  ? route(engines, w->routing_id, p.header_bytes, p.payload, &p.signature)
                                  : route(engines, w->routing_id, wire::encode_header(task), p.payload, nullptr);
      if (sent != wire::Sent::ok) end_world(*w, EngineState::dead, "its bridge disconnected");
    }
  }

  // ------------------------------------------------------------------------------ collectives

  /// A collective runs on all its targets or on none: one bad target fails the whole request.
  void dispatch_collective(const std::string& client, const wire::Packet& p, wire::Collective op) {
    const wire::Header& h = p.header;
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
        code = errc::engine_dead, problem = "engine " + std::to_string(id) + " is " +
                                            std::string(state_name(e->state)) + "; this cluster has " +
                                            registry.describe_alive();
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
    if (code == errc::none) {
      try {
        if (needs_args(op, worlds)) args = p.body();
        shares = split_by_world(op, targets, msg_ids, worlds, args);
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
      collectives.insert_or_assign(record, std::move(rec));
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
      tasks.add(msg_ids[i], new_task(client, targets[i], h.submitted_us, record));
      registry.engine(targets[i])->in_flight.push_back(msg_ids[i]);
    }
    std::vector<std::pair<int, wire::Outgoing>> messages;
    for (auto& share : shares) {
      wire::Header task;
      task.kind = wire::MsgKind::task;
      task.function = h.function;
      task.submitted_us = h.submitted_us;
      task.targets = share.targets;
      task.msg_ids = share.msg_ids;
      wire::Outgoing m;
      if (share.body) {
        m = wire::make_message(task, *share.body);
      } else {
        m.header_bytes = wire::encode_header(task);
        m.payload = p.payload;
      }
      messages.emplace_back(share.world, std::move(m));
    }
    if (turns) {
      auto& rec = collectives.at(record);
      rec.turn_open = shares.front().targets.size();
      for (std::size_t i = 1; i < messages.size(); ++i) rec.turns.push_back(std::move(messages[i]));
      messages.resize(1);
    }
    for (auto& [world_id, m] : messages) send_to_world(world_id, m);
  }

  void send_to_world(int world_id, const wire::Outgoing& m) {
    WorldRecord* w = registry.world(world_id);
    if (w == nullptr || w->state != EngineState::alive) return;
    if (route(engines, w->routing_id, m.header_bytes, m.payload, nullptr) != wire::Sent::ok)
      end_world(*w, EngineState::dead, "its bridge disconnected");
  }

  /// Takes `msg_id` off its engine's queue; false if it was not there (answered already).
  bool take_in_flight(const std::string& msg_id, int engine_id) {
    EngineRecord* e = registry.engine(engine_id);
    if (e == nullptr) return false;
    auto& q = e->in_flight;
    auto it = !q.empty() && q.front() == msg_id ? q.begin() : std::find(q.begin(), q.end(), msg_id);
    if (it == q.end()) return false;
    q.erase(it);
    ++e->completed;
    return true;
  }

  /// A world's answer (or its end) for a gather / reduce.
  void join_part(const std::string& record, int world_id, const wire::Packet* reply, const std::string& failure) {
    auto it = collectives.find(record);
    if (it == collectives.end()) return;
    CollectiveRecord& rec = it->second;
    const WorldRecord* w = registry.world(world_id);
    for (std::size_t i = 0; i < rec.targets.size(); ++i)
      if (w && rec.targets[i] >= w->first_engine && rec.targets[i] < w->first_engine + w->size)
        (void)take_in_flight(rec.msg_ids[i], rec.targets[i]);
    if (!rec.answered.insert(world_id).second) return;
    const std::string where = rec.worlds > 1 ? "world " + std::to_string(world_id) + ": " : "";
    if (reply == nullptr) {
      rec.errors.push_back(where + failure);
      if (rec.error_code == errc::none) rec.error_code = errc::engine_died;
    } else if (reply->header.error.failed()) {
      rec.errors.push_back(where + reply->header.error.message);
      if (rec.error_code == errc::none) rec.error_code = reply->header.error.code;
    } else if (rec.worlds == 1) {
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

  void finish_join(std::unordered_map<std::string, CollectiveRecord>::iterator it, const wire::Packet* as_is) {
    CollectiveRecord& rec = it->second;
    Buffer signature, header_bytes;
    std::vector<Buffer> payload;
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
      h.msg_ids = rec.msg_ids;
      h.targets = rec.targets;
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
          if (rec.op == wire::Collective::gather) {
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
      signature = wire::signature_of(m.header_bytes, m.payload, signer);
      header_bytes = std::move(m.header_bytes);
      payload = std::move(m.payload);
    }
    for (const auto& msg_id : rec.msg_ids) {
      TaskRecord* t = tasks.find(msg_id);
      if (t == nullptr || t->done) continue;
      t->signature = signature;
      t->header_bytes = header_bytes;
      t->payload = payload;
      tasks.mark_done(*t, failed);
    }
    route(clients, rec.client, header_bytes, payload, &signature);
    collectives.erase(it);
  }

  /// A save_h5 task finished: once the current world is done, the next one takes its turn.
  void turn_progress(const std::string& record, const TaskRecord& t) {
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
        (void)take_in_flight(h.msg_ids[i], h.targets[i]);
        store_failure(*task, h.msg_ids[i], rec.function,
                      {errc::aborted, "crew.remote.aborted", "not written: " + why, rec.function});
        tasks.mark_done(*task, true);
        route(clients, task->client, task->header_bytes, task->payload, &task->signature);
      }
    }
  }

  /// Answers a task that never reached an engine with an error. It is recorded (and counted),
  /// unless its msg_id is already taken: then only the sender hears about it.
  void reject(const std::string& client, const wire::Header& request, const std::string& msg_id, int engine_id,
              errc code, const std::string& message, bool record = true) {
    TaskRecord t = new_task(client, engine_id, request.submitted_us);
    const wire::ErrorInfo error{code, "crew." + std::string(errc_name(code)), message, request.function};
    if (!record) {
      store_failure(t, msg_id, request.function, error);
      route(clients, client, t.header_bytes, t.payload, &t.signature);
      return;
    }
    fail_task(tasks.add(msg_id, std::move(t)), msg_id, request.function, error);
  }

  /// Builds a failed task's reply into its record (signed, ready to resend).
  void store_failure(TaskRecord& t, const std::string& msg_id, const std::string& function,
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
    t.signature = wire::signature_of(m.header_bytes, m.payload, signer);
    t.header_bytes = std::move(m.header_bytes);
    t.payload = std::move(m.payload);
  }

  void fail_task(TaskRecord& t, const std::string& msg_id, const std::string& function, const wire::ErrorInfo& error) {
    store_failure(t, msg_id, function, error);
    tasks.mark_done(t, true);
    route(clients, t.client, t.header_bytes, t.payload, &t.signature);
    if (!t.collective.empty()) turn_progress(t.collective, t);
  }

  // -------------------------------------------------------------------------------- engines

  void on_engine(wire::Packet&& p) {
    const std::string rid = routing_of(p);
    if (p.header.kind == wire::MsgKind::register_request) {
      on_register(rid, p);
      return;
    }
    if (rid.ends_with(wire::heartbeat_suffix)) {
      on_heartbeat_connection(rid, p);
      return;
    }
    WorldRecord* w = registry.world_by_routing(rid);
    if (w == nullptr) {
      ++stats.dropped_unexpected;
      spdlog::warn("dropped {} from an unregistered bridge {}", wire::kind_name(p.header.kind), printable(rid));
      return;
    }
    w->last_seen = clock::now();
    switch (p.header.kind) {
    case wire::MsgKind::apply_reply: on_reply(*w, p); break;
    case wire::MsgKind::heartbeat: {
      wire::Header hb;
      hb.kind = wire::MsgKind::heartbeat;
      const auto m = wire::make_message(hb);
      route(engines, rid, m.header_bytes, m.payload, nullptr);
      break;
    }
    case wire::MsgKind::goodbye:
      spdlog::info("world {} said goodbye", w->id);
      end_world(*w, EngineState::stopped, "its world shut down");
      break;
    default:
      ++stats.dropped_unexpected;
      spdlog::warn("dropped an unexpected {} from world {}", wire::kind_name(p.header.kind), w->id);
    }
  }

  /// A bridge's heartbeat connection: heartbeats only, echoed on the same connection.
  void on_heartbeat_connection(const std::string& rid, const wire::Packet& p) {
    WorldRecord* w = registry.world_by_routing(rid.substr(0, rid.size() - wire::heartbeat_suffix.size()));
    if (w == nullptr || p.header.kind != wire::MsgKind::heartbeat) {
      ++stats.dropped_unexpected;
      spdlog::warn("dropped {} on heartbeat connection {}", wire::kind_name(p.header.kind), printable(rid));
      return;
    }
    w->last_seen = clock::now();
    wire::Header hb;
    hb.kind = wire::MsgKind::heartbeat;
    const auto m = wire::make_message(hb);
    route(engines, rid, m.header_bytes, m.payload, nullptr);
  }

  void on_register(const std::string& rid, const wire::Packet& p) {
    auto reply = reply_to(p.header, wire::MsgKind::register_reply);
    if (stopping) {
      reply.error = {errc::not_running, "crew.launch.not_running", "the controller is shutting down", {}};
      const auto m = wire::make_message(reply);
      route(engines, rid, m.header_bytes, m.payload, nullptr);
      return;
    }
    WorldRecord* w = registry.world_by_routing(rid);
    if (w == nullptr) {
      const Value body = p.body();
      const auto hosts = body["hosts"].get<std::vector<std::string>>();
      const auto pids = body["pids"].get<std::vector<std::int64_t>>();
      const auto size = body["size"].as_int();
      if (size < 1 || hosts.size() != static_cast<std::size_t>(size))
        throw ProtocolError(errc::malformed, "register_request with size " + std::to_string(size) + " and " +
                                                 std::to_string(hosts.size()) + " hosts");
      w = &registry.add_world(rid, hosts, pids);
      spdlog::info("world {} registered: {} engine{} ({}-{}) on {}, rank-0 pid {}", w->id, w->size,
                   w->size == 1 ? "" : "s", w->first_engine, w->first_engine + w->size - 1, hosts.front(),
                   pids.empty() ? 0 : pids.front());
    }
    const auto m = wire::make_message(
        reply, Value::dict({{"world", w->id}, {"first_engine", w->first_engine}, {"heartbeat_ms", cfg.heartbeat_ms}}));
    route(engines, rid, m.header_bytes, m.payload, nullptr);
    answer_waiters(true);
  }

  void on_reply(const WorldRecord& w, wire::Packet& p) {
    if (p.header.msg_ids.empty()) throw ProtocolError(errc::malformed, "an apply_reply without a msg_id");
    const std::string& msg_id = p.header.msg_ids.front();
    TaskRecord* t = tasks.find(msg_id);
    if (t != nullptr && !t->collective.empty()) {
      auto rec = collectives.find(t->collective);
      if (rec != collectives.end() && wire::answers_once_per_world(rec->second.op)) {
        const bool ours = t->engine_id >= w.first_engine && t->engine_id < w.first_engine + w.size;
        if (ours && !t->done) join_part(t->collective, w.id, &p, {});
        return;
      }
    }
    if (p.header.msg_ids.size() != 1) throw ProtocolError(errc::malformed, "an apply_reply needs exactly one msg_id");
    // Only the world holding the task may answer it, for the engine it was sent to.
    const bool ours = t != nullptr && t->engine_id == p.header.engine_id && t->engine_id >= w.first_engine &&
                      t->engine_id < w.first_engine + w.size;
    if (!ours) {
      ++stats.dropped_unexpected;
      spdlog::warn("dropped a reply from world {} for {} task {}", w.id, t ? "another world's" : "unknown", msg_id);
      return;
    }
    EngineRecord* e = registry.engine(t->engine_id);
    auto& q = e->in_flight;
    auto it = !q.empty() && q.front() == msg_id ? q.begin() : std::find(q.begin(), q.end(), msg_id);
    if (it == q.end()) {
      // Answered already, or failed when its world was declared dead: keep the first answer.
      ++stats.dropped_unexpected;
      spdlog::warn("dropped a second reply for task {}", msg_id);
      return;
    }
    q.erase(it);
    ++e->completed;
    if (t->done) return;
    t->signature = std::move(p.signature);
    t->header_bytes = std::move(p.header_bytes);
    t->payload = std::move(p.payload);
    tasks.mark_done(*t, p.header.error.failed());
    route(clients, t->client, t->header_bytes, t->payload, &t->signature);
    if (!t->collective.empty()) turn_progress(t->collective, *t);
  }

  void check_heartbeats(clock::time_point now) {
    const auto limit = std::chrono::milliseconds(cfg.heartbeat_ms * cfg.heartbeat_misses);
    for (auto& w : registry.worlds()) {
      if (w.state != EngineState::alive || now - w.last_seen <= limit) continue;
      const double silent = std::chrono::duration<double>(now - w.last_seen).count();
      end_world(w, EngineState::dead,
                "no heartbeat from world " + std::to_string(w.id) + " for " + seconds_text(silent));
    }
  }

  /// A world ends: its engines leave the registry's alive set and their unanswered tasks fail.
  void end_world(WorldRecord& w, EngineState state, const std::string& reason) {
    if (w.state != EngineState::alive) return;
    w.state = state;
    w.end_reason = reason;
    if (state == EngineState::dead) spdlog::warn("world {} is dead: {}", w.id, reason);
    for (int id = w.first_engine; id < w.first_engine + w.size; ++id) {
      EngineRecord* e = registry.engine(id);
      e->state = state;
      const std::deque<std::string> flight = std::move(e->in_flight);
      e->in_flight.clear();
      for (const auto& msg_id : flight) {
        TaskRecord* t = tasks.find(msg_id);
        if (t == nullptr || t->done) continue;
        const std::string why = "its world ended before it answered (" + reason + ")";
        if (auto rec = collectives.find(t->collective);
            rec != collectives.end() && wire::answers_once_per_world(rec->second.op)) {
          join_part(t->collective, w.id, nullptr, why);
          continue;
        }
        const errc code = state == EngineState::dead ? errc::engine_died : errc::aborted;
        fail_task(*t, msg_id, {}, {code, "crew." + std::string(errc_name(code)), why, {}});
      }
    }
  }

  // ----------------------------------------------------------------------------------- stop

  void begin_stop() {
    if (stopping) return;
    stopping = true;
    stop_deadline = deadline_after(std::chrono::milliseconds(std::max(5000, 3 * cfg.heartbeat_ms)));
    wire::Header stop;
    stop.kind = wire::MsgKind::shutdown_world;
    const auto m = wire::make_message(stop);
    int n = 0;
    for (auto& w : registry.worlds()) {
      if (w.state != EngineState::alive) continue;
      if (route(engines, w.routing_id, m.header_bytes, m.payload, nullptr) == wire::Sent::ok)
        ++n;
      else
        end_world(w, EngineState::dead, "its bridge disconnected");
    }
    spdlog::info("stopping: asked {} world{} to shut down", n, n == 1 ? "" : "s");
  }

  void finish_stop(bool timed_out) {
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
};

Controller::Controller(ControllerConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Controller::~Controller() = default;
void Controller::run() { impl_->run(); }

}  // namespace crew::controller
