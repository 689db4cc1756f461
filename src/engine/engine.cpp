// crew::Engine: MPI setup, world registration, and the one engine loop every rank runs.
#include "crew/engine.hpp"

#include <poll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "common/clock.hpp"
#include "common/profile.hpp"
#include "crew/json.hpp"
#include "crew/version.hpp"
#include "engine/bridge.hpp"
#include "engine/bridge_inbox.hpp"
#include "engine/builtins.hpp"
#include "engine/doorbell.hpp"
#include "engine/executor.hpp"
#include "engine/mpi_check.hpp"
#include "engine/mpi_inbox.hpp"
#include "engine/reply_hold.hpp"
#include "engine/task_claims.hpp"
#include "protocol/collective.hpp"
#include "protocol/registration.hpp"
#include "protocol/signer.hpp"
#include "protocol/typed_body.hpp"
#include "protocol/wire.hpp"
#include "transport/endpoint.hpp"
#include "transport/handshake_watch.hpp"

namespace crew {
namespace detail {

namespace {

// The few collectives of a world's start, on plain MPI, each piece of it in as few as it takes:
// 6 in all after the communicators' duplication, where Boost.MPI took 15 (a string was two,
// its size then its bytes). Every one waits for the world's slowest rank, and oversubscribed
// ranks take turns on the cores.

/// Rank 0's `texts` on every rank of `comm` (every rank passes as many): two broadcasts, their
/// sizes, then their bytes.
void broadcast(std::initializer_list<std::string*> texts, MPI_Comm comm) {
  std::vector<std::uint64_t> sizes;
  std::string all;
  for (const std::string* t : texts) {
    sizes.push_back(t->size());
    all += *t;
  }
  CREW_MPI_CHECK(MPI_Bcast, (sizes.data(), static_cast<int>(sizes.size()), MPI_UINT64_T, 0, comm));
  std::size_t total = 0;
  for (const auto n : sizes) total += static_cast<std::size_t>(n);
  all.resize(total);
  if (total > 0) CREW_MPI_CHECK(MPI_Bcast, (all.data(), static_cast<int>(total), MPI_CHAR, 0, comm));
  std::size_t at = 0, i = 0;
  for (std::string* t : texts) {
    t->assign(all, at, static_cast<std::size_t>(sizes[i]));
    at += static_cast<std::size_t>(sizes[i++]);
  }
}

/// What rank 0 learns from the controller, shared with every rank.
struct Registration {
  std::string error;  ///< "[crew...] ..." if registration failed
  int world_id = -1;
  int first_engine = -1;
  int heartbeat_ms = 1000;
  std::int64_t drain_at = 0;  ///< Unix seconds from which balanced tasks are given back unstarted (0: never)
  // rank 0's only (not broadcast): for its bridge
  std::uint64_t incarnation = 0;
  bool restorable = false;
  std::int64_t orphan_timeout_s = 0;

  /// One broadcast (two after a failure: the message follows).
  void broadcast(MPI_Comm comm) {
    std::int64_t numbers[5] = {world_id, first_engine, heartbeat_ms, drain_at, static_cast<std::int64_t>(error.size())};
    CREW_MPI_CHECK(MPI_Bcast, (numbers, 5, MPI_INT64_T, 0, comm));
    world_id = static_cast<int>(numbers[0]);
    first_engine = static_cast<int>(numbers[1]);
    heartbeat_ms = static_cast<int>(numbers[2]);
    drain_at = numbers[3];
    error.resize(static_cast<std::size_t>(numbers[4]));
    if (!error.empty()) CREW_MPI_CHECK(MPI_Bcast, (error.data(), static_cast<int>(error.size()), MPI_CHAR, 0, comm));
  }
};

std::string random_hex(std::size_t bytes) { return wire::new_key_hex().substr(0, bytes * 2); }

/// The batch job (or launching process) this world runs in, as its job script exported it:
/// CREW_LAUNCHER, CREW_JOB_ID and CREW_JOB_END_TIME (Unix seconds).
wire::JobInfo job_from_environment() {
  wire::JobInfo job;
  const char* id = std::getenv("CREW_JOB_ID");
  if (id == nullptr || *id == '\0') return job;
  job.id = id;
  if (const char* l = std::getenv("CREW_LAUNCHER"); l != nullptr) job.launcher = l;
  if (const char* end = std::getenv("CREW_JOB_END_TIME"); end != nullptr && *end != '\0') {
    char* stop = nullptr;
    const long long t = std::strtoll(end, &stop, 10);
    if (stop != end && *stop == '\0' && t > 0) job.end_time = static_cast<std::int64_t>(t);
  }
  return job;
}

/// The connection file: a path, or "-" for rank 0's standard input (a job script that carries it).
EngineFile read_engine_file(const fs::path& file, const std::string& profile) {
  if (file == "-") {
    std::stringstream text;
    text << std::cin.rdbuf();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::parse_error& e) {
      throw_error(errc::no_profile, std::string("--file -: standard input holds no connection file (") + e.what() +
                                        "); feed it the controller's engine.json, as crew's job scripts do");
    }
    return engine_file_from_json(j, "standard input");
  }
  if (!fs::exists(file))
    throw_error(errc::no_profile, "no connection file " + file.string() +
                                      ": no controller is running for this profile; "
                                      "start one with `crew cluster start` or `crew controller --profile " +
                                      profile + "`");
  return engine_file_from_json(read_json_file(file), file);
}

}  // namespace

class EngineImpl {
public:
  EngineImpl(MPI_Comm comm, EngineOptions options) : options_(std::move(options)) {
    int provided = 0;
    MPI_Query_thread(&provided);
    // crew's own traffic (control_) and collectives (data_) return MPI errors (mpi_check.hpp);
    // user_, for user code, keeps the application's handler.
    control_ = own_comm(comm);
    data_ = own_comm(comm);
    CREW_MPI_CHECK(MPI_Comm_dup, (comm, &user_));
    MPI_Comm_rank(control_, &rank_);
    MPI_Comm_size(control_, &size_);
    // Rank 0's verdict on the thread level, and what the doorbells need: its name for this
    // world, and rank 0's host.
    std::string verdict;
    if (rank_ == 0 && provided < MPI_THREAD_MULTIPLE)
      verdict = format_error(errc::mpi_thread_level,
                             "crew::Engine needs MPI_THREAD_MULTIPLE (rank 0 runs the bridge beside the "
                             "engine); initialise MPI with MPI_Init_thread(..., MPI_THREAD_MULTIPLE, ...)");
    std::string doorbell_tag = rank_ == 0 ? random_hex(8) : std::string();
    std::string root_host = host_name();
    if (rank_ == 0) create_claims(doorbell_tag);
    // The claims' name goes when this constructor ends: every rank has mapped them by then
    // (register_world gathers from all of them), or has given up.
    struct UnlinkClaims {
      std::string tag;
      ~UnlinkClaims() {
        if (!tag.empty()) TaskClaims::unlink(tag);
      }
    } unlink_claims{claims_.mapped() ? doorbell_tag : std::string()};
    broadcast({&verdict, &doorbell_tag, &root_host}, control_);
    if (!verdict.empty()) throw_formatted(verdict);  // on every rank
    register_builtins();
    load_plugins();
    setup_doorbell(doorbell_tag, root_host);
    open_claims(doorbell_tag, root_host);
    register_world();
    start_serving();  // rank 0's bridge from now on: heartbeats flow while the application sets up
  }

  ~EngineImpl() {
    if (serving_) {
      // An application that ends without its world being shut down: it leaves.
      try {
        leave();
      } catch (const std::exception& e) {
        spdlog::error("world {} could not leave cleanly: {}", identity().world_id, e.what());
        if (serving_ && serving_->bridge_thread.joinable())
          (void)serving_.release();  // its thread still runs: never destroyed under it (the process ends)
      }
    }
    if (poll_ != MPI_COMM_NULL) MPI_Comm_free(&poll_);
    executor_.reset();  // frees its sub-communicators first
    if (data_ != MPI_COMM_NULL) MPI_Comm_free(&data_);
    if (user_ != MPI_COMM_NULL) MPI_Comm_free(&user_);
    if (control_ != MPI_COMM_NULL) MPI_Comm_free(&control_);
  }

  void run() {
    if (finished_) return;
    if (!serving_) start_serving();
    serve(std::nullopt);
    stop_serving();
  }

  /// Between an application's steps (collective): serves, on every rank, exactly the work rank
  /// 0's bridge had handed out when rank 0 got here (a count per rank, scattered), so that all
  /// ranks take part in the same collectives and none waits for one a neighbour serves a step
  /// later. False once the world was shut down.
  bool poll() {
    if (finished_) return false;
    if (poll_ == MPI_COMM_NULL) CREW_MPI_CHECK(MPI_Comm_dup, (control_, &poll_));
    if (!serving_) start_serving();
    // Per rank: how many messages to serve, and whether the bridge failed (then all stop).
    std::vector<std::uint64_t> orders;
    if (rank_ == 0) {
      const bool failed = serving_->bridge_failed.load();
      for (const std::uint64_t n : serving_->bridge->handed()) {
        orders.push_back(n);
        orders.push_back(failed ? 1 : 0);
      }
    }
    std::uint64_t mine[2] = {0, 0};
    CREW_MPI_CHECK(MPI_Scatter, (orders.data(), 2, MPI_UINT64_T, mine, 2, MPI_UINT64_T, 0, poll_));
    if (mine[1] != 0)
      finished_ = true;  // the bridge is gone: nobody hands out work any more (rank 0 says why below)
    else
      serve(mine[0]);
    release_exposed();
    if (finished_) stop_serving();
    return !finished_;
  }

  /// The application's array `name` (Engine::expose): `owner` is shared by every Buffer that
  /// views it, so poll() can tell when no reply or transfer holds it any more.
  void expose(std::string name, Array view, void* writable, std::shared_ptr<const void> owner) {
    executor_->ns().expose(name, std::move(view), writable);
    exposed_owners_.insert_or_assign(std::move(name), std::move(owner));
  }

  /// Before poll() returns: no reply and no transfer still points into an exposed array (a large
  /// reply is a frame that views it; the application writes it again once poll() returns).
  void release_exposed() {
    const auto held = [&] {
      for (const auto& [name, owner] : exposed_owners_)
        if (owner.use_count() > 2) return true;  // this table's and the namespace's value's
      return false;
    };
    if (!held()) return;
    const auto said = SteadyClock::now() + std::chrono::seconds(30);
    bool told = false;
    while (held()) {
      if (serving_ && serving_->outbox) (void)serving_->outbox->progress();
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      if (!told && SteadyClock::now() > said) {
        spdlog::warn("rank {}: a reply still holds an exposed array after 30 s; poll() waits for it", rank_);
        told = true;
      }
    }
  }

  /// The application ends while the world runs (collective): rank 0's bridge shuts the world
  /// down, every rank serves what it still holds, the controller hears goodbye.
  void leave() {
    if (!serving_ || finished_) return;
    if (rank_ == 0) {
      LocalReply bye;
      bye.leave = true;
      serving_->from_engine.push(std::move(bye));
    }
    serve(std::nullopt);
    stop_serving();
  }

  const EngineIdentity& identity() const { return executor_->identity(); }
  Executor& executor() { return *executor_; }

private:
  [[noreturn]] static void throw_formatted(const std::string& formatted) {
    // "[crew.family.name] message" -> the right exception type and code
    errc code = errc::internal;
    std::string message = formatted;
    if (formatted.rfind("[crew.", 0) == 0) {
      const auto close = formatted.find("] ");
      if (close != std::string::npos) {
        code = errc_from_name(formatted.substr(6, close - 6));
        message = formatted.substr(close + 2);
      }
    }
    throw_error(code, message);
  }

  /// Every rank on rank 0's host gets a doorbell named after this world (`tag`).
  void setup_doorbell(const std::string& tag, const std::string& root_host) {
    if (rank_ != 0 && root_host != host_name()) return;
    try {
      doorbell_ = std::make_unique<Doorbell>(tag, rank_);
    } catch (const Error& e) {
      spdlog::warn("no doorbell ({}); rank {} will poll for work", e.what(), rank_);
    }
  }

  /// Rank 0: the world's task claims (engine/task_claims.hpp); without them no task is given back.
  void create_claims(const std::string& tag) {
    try {
      claims_ = TaskClaims::create(tag, size_);
      claims_.attend(0);
    } catch (const Error& e) {
      spdlog::warn("no task claims ({}): tasks queued on this world's engines cannot be given back", e.what());
    }
  }

  /// The ranks on rank 0's host map the claims rank 0 created.
  void open_claims(const std::string& tag, const std::string& root_host) {
    if (rank_ == 0 || root_host != host_name()) return;
    try {
      claims_ = TaskClaims::open(tag, size_, rank_);
    } catch (const Error& e) {
      spdlog::info("rank {}: no task claims ({}); its queued tasks cannot be given back", rank_, e.what());
    }
  }

  void load_plugins() {
    std::string mine;
    for (const auto& path : options_.plugins) {
      try {
        const auto added = load_plugin(path);
        if (rank_ == 0) spdlog::info("loaded plugin {} ({} functions)", path, added.size());
      } catch (const Error& e) {
        mine = e.what();
        break;
      }
    }
    int ok = mine.empty() ? 1 : 0, all_ok = 1;
    CREW_MPI_CHECK(MPI_Allreduce, (&ok, &all_ok, 1, MPI_INT, MPI_MIN, control_));
    if (all_ok) return;
    if (!mine.empty()) throw_formatted(mine);
    throw_error(errc::plugin_failed, "a plugin failed to load on another rank of this world (see its message)");
  }

  void register_world() {
    // Each rank's host, pid and properties (as JSON) at rank 0, in two gathers: the pid and the
    // texts' sizes, then the texts.
    const std::string host = host_name();
    const std::string mine = host + to_json_text(Value(options_.properties));
    const std::int64_t record[3] = {::getpid(), static_cast<std::int64_t>(host.size()),
                                    static_cast<std::int64_t>(mine.size() - host.size())};
    const std::size_t ranks = rank_ == 0 ? static_cast<std::size_t>(size_) : 0;
    std::vector<std::int64_t> records(3 * ranks);
    CREW_MPI_CHECK(MPI_Gather, (record, 3, MPI_INT64_T, records.data(), 3, MPI_INT64_T, 0, control_));
    std::vector<int> sizes(ranks), offsets(ranks);
    std::string texts;
    for (std::size_t r = 0; r < ranks; ++r) {
      offsets[r] = static_cast<int>(texts.size());
      sizes[r] = static_cast<int>(records[3 * r + 1] + records[3 * r + 2]);
      texts.resize(texts.size() + static_cast<std::size_t>(sizes[r]));
    }
    CREW_MPI_CHECK(MPI_Gatherv, (mine.data(), static_cast<int>(mine.size()), MPI_CHAR, texts.data(), sizes.data(),
                                 offsets.data(), MPI_CHAR, 0, control_));
    std::vector<std::int64_t> pids;
    std::vector<std::string> properties;
    for (std::size_t r = 0; r < ranks; ++r) {
      const auto at = static_cast<std::size_t>(offsets[r]);
      const auto host_size = static_cast<std::size_t>(records[3 * r + 1]);
      pids.push_back(records[3 * r]);
      hosts_.push_back(texts.substr(at, host_size));
      properties.push_back(texts.substr(at + host_size, static_cast<std::size_t>(records[3 * r + 2])));
    }
    const auto& hosts = hosts_;

    Registration reg;
    if (rank_ == 0) {
      try {
        reg = register_with_controller(hosts, pids, properties);
      } catch (const Error& e) {
        reg.error = e.what();
      }
    }
    reg.broadcast(control_);
    if (!reg.error.empty()) throw_formatted(reg.error);
    heartbeat_ms_ = reg.heartbeat_ms;
    incarnation_ = reg.incarnation;
    restorable_ = reg.restorable;
    orphan_timeout_s_ = reg.orphan_timeout_s;
    drain_at_ = reg.drain_at;
    EngineIdentity id;
    id.engine_id = reg.first_engine + rank_;
    id.rank = rank_;
    id.world_size = size_;
    id.world_id = reg.world_id;
    id.user_comm = user_;
    id.data_comm = data_;
    id.host = host;
    executor_ = std::make_unique<Executor>(std::move(id));
    if (options_.capture_fds) executor_->capture_fds();
    if (rank_ == 0)
      spdlog::info("world {} registered: engines {}-{} ({} ranks)", reg.world_id, reg.first_engine,
                   reg.first_engine + size_ - 1, size_);
  }

  Registration register_with_controller(const std::vector<std::string>& hosts, const std::vector<std::int64_t>& pids,
                                        const std::vector<std::string>& properties) {
    const fs::path file =
        options_.engine_file.empty() ? profile_dir(options_.profile) / engine_file_name : options_.engine_file;
    const EngineFile ef = read_engine_file(file, options_.profile);
    key_ = wire::key_from_hex(ef.key_hex);

    zmq_ = std::make_unique<zmq::context_t>(1);
    const std::string routing_id = "world-" + random_hex(8);
    // Heartbeats travel on their own connection: never queued behind a bulk message.
    transport::CurveClient curve;
    if (ef.curve.on()) curve = {{ef.curve.public_key, ef.curve.secret_key}, ef.curve.server_key};
    transport::EndpointOptions beats;
    beats.routing_id = routing_id + std::string(wire::heartbeat_suffix);
    beats.unlimited_queues = false;
    beats.curve_client = curve;
    heartbeat_socket_.emplace(*zmq_, key_, beats);
    heartbeat_socket_->connect(ef.engine_url);
    transport::EndpointOptions work;
    work.routing_id = routing_id;
    work.linger = std::chrono::milliseconds(2000);
    work.curve_client = curve;
    socket_.emplace(*zmq_, key_, work);
    const Deadline deadline = deadline_after(options_.register_timeout);
    {
      // A refused key (or security unlike the file's) is said at once, not after the timeout.
      transport::HandshakeWatch watch(*zmq_, *socket_);
      socket_->connect(ef.engine_url);
      if (const auto failed = watch.first_outcome(deadline, 3))
        throw_error(errc::refused,
                    "the controller at " + ef.engine_url + " refused this world: " + failed->reason() + "; " +
                        (failed->refused_key() ? "its key (" + transport::key_fingerprint(ef.curve.public_key) +
                                                     "..., from " + file.string() +
                                                     ") was revoked or never admitted: `crew keys list` on the "
                                                     "controller's host shows the admitted keys"
                                               : file.string() + " is not from the controller running now") +
                        "; start the world again with the current connection file (`crew cluster add`)");
    }

    wire::Header h;
    h.kind = wire::MsgKind::register_request;
    wire::RegisterRequest world;
    world.size = size_;
    world.hosts = hosts;
    world.pids = pids;
    world.properties = properties;
    world.crew_version = version_string;
    world.job = job_from_environment();
    (void)socket_->send(wire::make_typed_message(h, world));
    registration_ = world;

    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(time_left(deadline));
      if (left.count() <= 0) break;
      pollfd item{socket_->fd(), POLLIN, 0};
      if (socket_->armed()) (void)::poll(&item, 1, static_cast<int>(left.count()));
      std::optional<Registration> reg;
      socket_->receive(
          [&](transport::Received&& received) {
            for (auto& p : received.messages) {
              // Work can follow the reply at once (tasks waiting for an engine, a task taken back
              // for this idle one), in its batch or its read: the bridge handles it first.
              if (reg) {
                early_messages_.push_back(std::move(p));
                continue;
              }
              if (p.header.kind != wire::MsgKind::register_reply) continue;  // nothing else comes before it
              if (p.header.error.failed()) throw_error(p.header.error.code, p.header.error.message);
              const auto placed = wire::read_typed_body<wire::RegisterReply>(p);
              reg.emplace();
              reg->world_id = placed.world;
              reg->first_engine = placed.first_engine;
              reg->heartbeat_ms = placed.heartbeat_ms;
              reg->incarnation = placed.incarnation;
              reg->restorable = placed.restorable;
              reg->orphan_timeout_s = placed.orphan_timeout_s;
              if (world.job.end_time > 0) reg->drain_at = world.job.end_time - placed.drain_margin_s;
            }
          },
          [&](const wire::Rejection& why) {
            throw_error(errc::bad_signature,
                        "the controller's reply failed its check (" + why.detail + "); " + file.string() +
                            " is probably stale: restart the engines with the current connection file");
          });
      if (reg) return *reg;
    }
    throw_error(errc::controller_timeout, "no controller answered at " + ef.engine_url + " within " +
                                              seconds_text(options_.register_timeout) + " (from " + file.string() +
                                              "); is it running? check with `crew cluster status --profile " +
                                              options_.profile + "`");
  }

  /// While serving: rank 0's bridge (its thread) and mailboxes, or another rank's MPI ends, and
  /// how much of the handed-out work this rank took (poll()).
  struct Serving {
    Mailbox<LocalTask> to_engine;
    Mailbox<LocalReply> from_engine;
    Mailbox<LocalTask> streams;
    std::unique_ptr<Bridge> bridge;
    std::thread bridge_thread;
    std::exception_ptr bridge_error;
    std::atomic<bool> bridge_failed{false};  ///< bridge_error is set
    std::unique_ptr<RankInbox> inbox;
    std::unique_ptr<RankOutbox> outbox;
    ReplyHold hold;
    std::uint64_t taken = 0;
  };

  void start_serving() {
    serving_ = std::make_unique<Serving>();
    Serving& s = *serving_;
    if (rank_ != 0) {
      // Tasks from the bridge over MPI, replies and live output back the same way (engine/mpi_inbox.hpp).
      auto outbox = std::make_unique<MpiOutbox>(control_, doorbell_.get());
      MpiOutbox* out = outbox.get();
      executor_->set_output_sink([out](wire::Outgoing m, bool last) { out->output(std::move(m), last); },
                                 output_followed());
      s.inbox = std::make_unique<MpiInbox>(control_, doorbell_.get(), rank_);
      s.outbox = std::move(outbox);
      return;
    }
    BridgeConfig cfg;
    cfg.world_id = identity().world_id;
    cfg.world_size = size_;
    cfg.first_engine_id = identity().engine_id;
    cfg.heartbeat_ms = heartbeat_ms_;
    cfg.controller_timeout_ms = std::max(10 * heartbeat_ms_, 3000);
    cfg.control_comm = control_;
    cfg.doorbell = doorbell_.get();
    cfg.claims = claims_.mapped() ? &claims_ : nullptr;
    cfg.early_messages = std::move(early_messages_);
    cfg.restorable = restorable_;
    cfg.orphan_timeout = std::chrono::seconds(orphan_timeout_s_);
    cfg.incarnation = incarnation_;
    cfg.registration = std::move(registration_);
    cfg.rings_rank.resize(static_cast<std::size_t>(size_));
    for (int r = 1; r < size_; ++r)
      cfg.rings_rank[static_cast<std::size_t>(r)] = hosts_[static_cast<std::size_t>(r)] == hosts_[0];
    s.bridge = std::make_unique<Bridge>(std::move(*socket_), std::move(*heartbeat_socket_), cfg, s.to_engine,
                                        s.from_engine, s.streams);
    executor_->set_chunk_source([&streams = s.streams](std::chrono::milliseconds wait) -> std::optional<StreamChunk> {
      auto item = streams.pop_wait(wait);
      if (!item) return std::nullopt;
      StreamChunk c;
      c.stop = item->header.kind != wire::MsgKind::stream_chunk;
      c.stream = item->header.msg_ids.empty() ? std::string() : item->header.msg_ids.front();
      c.offset = item->header.stream.offset;
      if (!item->payload.empty()) c.data = std::move(item->payload.front());
      return c;
    });
    executor_->set_message_sink([&from_engine = s.from_engine](wire::Outgoing m) {
      LocalReply r;
      r.messages.push_back(std::move(m));
      from_engine.push(std::move(r));
    });
    executor_->set_output_sink(
        [&from_engine = s.from_engine](wire::Outgoing m, bool /*last*/) {
          LocalReply r;
          r.messages.push_back(std::move(m));
          r.live_output = true;
          from_engine.push(std::move(r));
        },
        output_followed());
    s.bridge_thread = std::thread([&s] {
      try {
        s.bridge->run();
      } catch (...) {
        s.bridge_error = std::current_exception();
        s.bridge_failed.store(true);
        wire::Header stop;
        stop.kind = wire::MsgKind::shutdown_world;
        s.to_engine.push(LocalTask{stop, {}});
      }
    });
    s.inbox = std::make_unique<BridgeInbox>(s.to_engine);
    s.outbox = std::make_unique<BridgeOutbox>(s.from_engine, restorable_);
  }

  /// After the world's shutdown_world: the bridge's thread ends, the sinks go, the bridge closes
  /// its socket before the context ends.
  void stop_serving() {
    std::unique_ptr<Serving> s = std::move(serving_);
    if (s->bridge_thread.joinable()) s->bridge_thread.join();
    executor_->set_chunk_source({});
    executor_->set_message_sink({});
    executor_->set_output_sink({});  // (a rank's pump thread ends before its outbox does)
    s->outbox.reset();
    s->inbox.reset();
    s->bridge.reset();
    socket_.reset();
    heartbeat_socket_.reset();
    zmq_.reset();
    if (s->bridge_error) std::rethrow_exception(s->bridge_error);
  }

  // Every rank's engine loop: the tasks of its inbox run in order, their replies collected in its
  // outbox and sent together, but never held long (engine/reply_hold.hpp): they leave once no
  // more work is waiting here, once the oldest is `ReplyHold::hold` old, and before any task that
  // may take long (the last one did, or a collective, which waits for other ranks). Until the
  // world shuts down, or (poll()) once `until` messages in all were taken: then what was added
  // leaves at once.
  void serve(std::optional<std::uint64_t> until) {
    Serving& s = *serving_;
    RankInbox& inbox = *s.inbox;
    RankOutbox& outbox = *s.outbox;
    auto send_replies = [&] {
      outbox.send(inbox.waiting());
      s.hold.sent();
    };
    auto said_at = SteadyClock::now();
    for (;;) {
      if (until && s.taken >= *until) break;
      inbox.take_arrived();  // everything that is already here
      if (inbox.waiting() == 0) {
        if (!outbox.empty()) send_replies();
        // (A rank that gave up alone would serve a collective one step after its neighbours: it
        // waits, and says so.)
        if (until && SteadyClock::now() - said_at > std::chrono::seconds(30)) {
          spdlog::error("rank {}: {} of the {} messages its bridge handed out have not come for 30 s", rank_,
                        *until - s.taken, *until);
          said_at = SteadyClock::now();
        }
        inbox.wait(outbox.progress());
        continue;
      }
      said_at = SteadyClock::now();
      wire::Packet p = inbox.next();
      ++s.taken;
      if (p.header.kind == wire::MsgKind::shutdown_world) {
        outbox.goodbye();
        finished_ = true;
        return;
      }
      if (!wire::is_task(p.header.kind)) continue;
      if (!claims_.start(rank_, wire::balanced_seq(p.header))) continue;  // the bridge gave it back
      if (draining(p.header)) {
        outbox.add(withdrawn_reply(p.header), p.header.msg_ids.empty() ? std::string_view() : p.header.msg_ids.front());
        continue;
      }
      const auto start = SteadyClock::now();
      if (s.hold.send_first(p.header.kind == wire::MsgKind::collective_task, start)) send_replies();
      auto reply = executor_->run(p.header, p.payload);
      const auto end = SteadyClock::now();
      if (reply) outbox.add(std::move(*reply), answered_id(p.header));
      s.hold.ran(end - start, reply.has_value(), end);
    }
    if (!outbox.empty()) send_replies();
    for (int i = 0; i < 64 && outbox.progress(); ++i) {
    }  // small replies leave at once; a large one moves on at the next poll
  }

  /// Whether some client follows live output: the bridge's word in the claims table, where this
  /// rank maps it (elsewhere the bridge filters what comes).
  OutputPump::Followed output_followed() const {
    if (!claims_.mapped()) return {};
    return [this] { return claims_.output_followed(); };
  }

  /// The msg id this rank's reply to `task` answers ("" for a collective's part).
  std::string_view answered_id(const wire::Header& task) const {
    if (task.kind == wire::MsgKind::collective_task) return {};
    const int me = identity().engine_id;
    for (std::size_t i = 0; i < task.targets.size() && i < task.msg_ids.size(); ++i)
      if (task.targets[i] == me) return task.msg_ids[i];
    return {};
  }

  /// A balanced task that would start within the drain margin of the job's end: it goes back to
  /// the controller unstarted, to run on a world with time left, instead of being killed here.
  bool draining(const wire::Header& task) const {
    if (drain_at_ <= 0 || task.kind != wire::MsgKind::balanced_task) return false;
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
               .count() >= drain_at_;
  }

  wire::Outgoing withdrawn_reply(const wire::Header& task) const {
    return failure_reply(task, task.msg_ids.empty() ? std::string() : task.msg_ids.front(), identity().engine_id,
                         {errc::withdrawn, "crew.remote.withdrawn", "the world's job ends soon: not started", {}});
  }

  EngineOptions options_;
  std::unique_ptr<Serving> serving_;
  std::map<std::string, std::shared_ptr<const void>> exposed_owners_;  ///< expose(): name -> owner
  bool finished_ = false;                                              ///< the world was shut down
  MPI_Comm poll_ = MPI_COMM_NULL;                                      ///< poll()'s own scatter
  std::int64_t drain_at_ = 0;
  MPI_Comm control_ = MPI_COMM_NULL;
  MPI_Comm user_ = MPI_COMM_NULL;
  MPI_Comm data_ = MPI_COMM_NULL;  ///< crew's collectives
  int rank_ = 0;
  int size_ = 1;
  int heartbeat_ms_ = 1000;
  // rank 0: what its bridge needs to outlive the controller (BridgeConfig::restorable)
  std::uint64_t incarnation_ = 0;
  bool restorable_ = false;
  std::int64_t orphan_timeout_s_ = 0;
  wire::RegisterRequest registration_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<Doorbell> doorbell_;
  std::vector<wire::Packet> early_messages_;  ///< rank 0: what came behind the register reply
  TaskClaims claims_;                         ///< rank 0 and the ranks on its host (unmapped elsewhere)
  // rank 0 only
  std::vector<std::string> hosts_;
  std::unique_ptr<zmq::context_t> zmq_;
  std::optional<transport::Endpoint> socket_;
  std::optional<transport::Endpoint> heartbeat_socket_;
  std::string key_;
};

}  // namespace detail

Engine::Engine(MPI_Comm comm, EngineOptions options)
    : impl_(std::make_unique<detail::EngineImpl>(comm, std::move(options))) {}
Engine::~Engine() = default;
void Engine::run() { impl_->run(); }
bool Engine::poll() { return impl_->poll(); }
void Engine::leave() { impl_->leave(); }
void Engine::expose_array(std::string name, Array view, void* writable, std::shared_ptr<const void> owner) {
  impl_->expose(std::move(name), std::move(view), writable, std::move(owner));
}
int Engine::engine_id() const noexcept { return impl_->identity().engine_id; }
int Engine::rank() const noexcept { return impl_->identity().rank; }
int Engine::world_size() const noexcept { return impl_->identity().world_size; }
int Engine::world_id() const noexcept { return impl_->identity().world_id; }

}  // namespace crew
