#pragma once
// The controller's state and handlers. One event loop owns all of it (no locks); the handlers
// are spread over files by what they serve:
//   controller.cpp            the loop, sockets, sending, timers, stopping
//   hub_requests.cpp          client queries: engines, stats, queue status, result status, abort
//   direct.cpp                direct work: dispatch, replies, failures, delivery of results
//   collective_dispatch.cpp   scatter / gather / push / reduce / HDF5 split and joined per world
//   bridges.cpp               the worlds: registration, heartbeats, replies, a world's end
//   balanced.cpp              the load balancer: queue, schemes, dependencies, retries, timeouts
//   rebalance.cpp             taking back tasks an engine holds unstarted: for idle engines, for abort

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "transport/endpoint.hpp"
#include "transport/zap_handler.hpp"

#include "common/clock.hpp"
#include "common/profile.hpp"
#include "controller/balanced_task.hpp"
#include "controller/controller.hpp"
#include "controller/dependency.hpp"
#include "controller/peer_outbox.hpp"
#include "controller/peer_table.hpp"
#include "controller/registry.hpp"
#include "controller/scheme.hpp"
#include "controller/task_db.hpp"
#include "controller/task_store.hpp"
#include "controller/task_table.hpp"
#include "protocol/collective.hpp"
#include "protocol/hub_queries.hpp"
#include "protocol/output_filter.hpp"
#include "protocol/registration.hpp"
#include "protocol/wire.hpp"

namespace crew::controller {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

struct Controller::Impl {
  struct Waiter {
    PeerId client;
    std::uint64_t request_id;
    int wait_for;
    Deadline deadline;
  };

  /// A collective whose worlds must be joined (gather, reduce) or take turns (save_h5).
  struct CollectiveRecord {
    PeerId client = 0;
    wire::Collective op = wire::Collective::none;
    std::string function;
    std::int64_t submitted_us = 0;
    std::vector<int> targets;
    std::vector<std::string> msg_ids;
    std::string reduce_op;
    bool copied_to_client = false;  ///< gather: the worlds wrote the array into the client's memory
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

  /// A scatter whose array streams after it (protocol/stream.hpp): where each chunk goes.
  struct StreamRoute {
    PeerId client = 0;
    std::uint64_t total = 0;
    std::uint64_t forwarded = 0;  ///< bytes passed on so far (chunks come in order)
    struct Part {
      int world = -1;
      std::string key;  ///< the world's task (its first msg id): what its chunks name
      std::uint64_t begin = 0, end = 0;
    };
    std::vector<Part> parts;
  };

  /// One world's gather whose array streams back: its chunks go on to the client.
  struct StreamRelay {
    PeerId client = 0;
    int world = -1;
    std::vector<std::string> msg_ids;
    std::vector<int> targets;
    std::string function;
    std::uint64_t total = 0;
    std::uint64_t forwarded = 0;
  };

  /// An abort waiting for engines to say whether they gave its tasks back.
  struct PendingAbort {
    PeerId client = 0;
    wire::Header reply;
    std::vector<std::string> aborted, done, running;
    std::size_t open = 0;  ///< tasks not settled yet
  };

  /// The most balanced tasks in flight on one engine when --hwm is automatic.
  static constexpr int max_auto_depth = 1024;

  explicit Impl(ControllerConfig c);
  static int block_signals_then_context();

  // ---- controller.cpp: setup, the loop, sending, timers, stopping
  void refuse_if_running();
  transport::EndpointOptions router_options(const char* zap_domain) const;
  /// The controller's CURVE pair when cfg says CURVE (the profile's keys/), else none.
  static std::optional<transport::CurveKeyPair> curve_pair(const ControllerConfig& cfg, const fs::path& dir);
  /// With CURVE: the gatekeeper (before the sockets bind), and the profile's own client's and
  /// worlds' keys for the connection files.
  void start_curve(CurveFields& client, CurveFields& world);
  std::string bind(transport::Endpoint& s, int port);
  void setup();
  void open_task_db();
  void teardown();
  void run();
  std::chrono::milliseconds next_timeout() const;
  bool drain(transport::Endpoint& socket, bool from_clients, std::size_t limit = 4096);
  void on_received(transport::Received&& received, bool from_clients);
  void flush();
  /// Retires the oldest finished records beyond --max-records, and frees forgotten records' slots
  /// (controller/retirement.cpp).
  void retire_records();
  /// Records retire in steps of this many past the limit at least (each step has a fixed cost: a
  /// look at what the controller's queues point at).
  std::uint64_t retire_step() const { return std::max<std::uint64_t>(cfg.max_records / 8, 256); }
  bool refuse_oversized(PeerId client, const wire::Packet& p, std::uint64_t bytes);
  void answer_failure(bool to_client, PeerId peer, wire::MsgKind kind, std::uint64_t request_id,
                      const std::exception& e);
  void on_signal();
  void on_timers();
  void send_to_client(PeerId client, const wire::Header& h, const Value& body = Value());
  void to_client(PeerId client, const Buffer& header_bytes, std::span<const Buffer> payload,
                 const Buffer& signature = {});
  void to_bridge(PeerId bridge, const wire::Outgoing& m, const Buffer& signature = {});
  /// A result (or an answer that depends on records) for a client: at once, or, with a task
  /// database, once what was recorded so far is committed (durable before the client knows).
  void tell(PeerId client, const Buffer& header_bytes, std::span<const Buffer> payload, const Buffer& signature = {});
  /// Sends the told messages whose records are committed now.
  void release_held();
  /// A new record (nullptr if the id is taken), written to the task database if there is one.
  TaskRecord* add_task(const std::string& msg_id, TaskRecord record);
  /// A record just marked done: written to the task database if there is one.
  void record_final(const TaskRecord& t, const wire::Header* reply = nullptr);
  static wire::Header reply_to(const wire::Header& request, wire::MsgKind kind);
  void begin_stop();
  void finish_stop(bool timed_out);

  // ---- hub_requests.cpp
  void on_client(PeerId client, wire::Packet&& p);
  void on_engines_request(PeerId client, const wire::Packet& p);
  void send_engines(PeerId client, std::uint64_t request_id);
  void answer_waiters();
  Value stats_value() const;
  wire::QueueReply queue_now();
  void on_result_request(PeerId client, const wire::Packet& p);
  void on_abort_request(PeerId client, const wire::Packet& p);
  void on_history_request(PeerId client, const wire::Packet& p);
  void on_purge_request(PeerId client, const wire::Packet& p);
  /// A finished task's reply read back from the task database, told to `client` (a failure
  /// naming why, if the result was not stored).
  void tell_stored(PeerId client, const store::StoredReply& r);
  /// A finished record's reply, again (or, if its data was dropped, why it cannot be).
  void resend_record(PeerId client, const TaskRecord& t);
  /// Tasks on engines that the abort asks back; answers the client now if there are none.
  void abort_on_engines(PendingAbort pending, const std::vector<TaskRecord*>& on_engines);
  /// An abort waiting for `t` learns what became of it; answered once nothing is left open.
  void settle_abort(const TaskRecord& t, bool aborted);
  void answer_abort(const PendingAbort& a);

  // ---- direct.cpp
  bool pairs_targets(PeerId client, const wire::Header& h);
  void dispatch(PeerId client, const wire::Packet& p);
  void reject(PeerId client, const wire::Header& request, const std::string& msg_id, int engine_id, errc code,
              const std::string& message, bool record = true);
  void store_failure(TaskRecord& t, const std::string& msg_id, const std::string& function,
                     const wire::ErrorInfo& error);
  void fail_task(TaskRecord& t, const std::string& function, const wire::ErrorInfo& error);
  /// Records a task's reply as final and sends it to whoever waits for it.
  /// `reply`: its header, decoded (if at hand: the task database need not decode it again).
  void complete(TaskRecord& t, bool failed, const wire::Header* reply = nullptr);
  void deliver(const TaskRecord& t);
  /// Puts `t` on `e`'s tasks in flight, sent at `now_ns`; true if it queues behind nothing.
  bool onto_engine(EngineRecord& e, TaskRecord* t, std::int64_t now_ns);
  /// Takes `t` off `e`'s tasks in flight; false if it was not there (answered already).
  bool off_engine(EngineRecord& e, const TaskRecord* t);
  /// off_engine, for a task its engine finished.
  bool take_in_flight(TaskRecord* t, int engine_id);
  void on_reply(const WorldRecord& w, wire::Packet& p);

  // ---- collective_dispatch.cpp
  void dispatch_collective(PeerId client, const wire::Packet& p);
  /// `signature`: m came signed with it and goes on unchanged (not signed again).
  void send_to_world(int world_id, const wire::Outgoing& m, const Buffer& signature = {});
  /// A chunk of a streamed scatter: on to the worlds its bytes belong to, as it came.
  void route_chunk(PeerId client, const wire::Packet& p);
  /// A chunk of a gather's streamed answer: on to the client.
  void relay_chunk(const WorldRecord& w, const wire::Packet& p);
  /// A world ended while its answer streamed: the client hears that the rest will not come.
  void fail_relays(int world_id, const std::string& reason);
  void join_part(const std::string& record, int world_id, const wire::Packet* reply, const std::string& failure);
  void finish_join(std::unordered_map<std::string, CollectiveRecord>::iterator it, const wire::Packet* as_is);
  void turn_progress(const std::string& record, const TaskRecord& t);

  // ---- bridges.cpp
  void on_engine(PeerId bridge, wire::Packet&& p);
  void on_heartbeat_connection(PeerId bridge, const wire::Packet& p);
  void on_register(PeerId bridge, const wire::Packet& p);
  /// Where a world is and what its bridge must know (register_reply, reattach_reply).
  wire::RegisterReply placement(const WorldRecord& w) const;
  void check_heartbeats(clock::time_point now);
  void check_drains();
  void start_drain(WorldRecord& w);
  /// A balanced task its engine gave back before it started (its world drains, or we asked): it
  /// goes back to the queue, to the idle engine it was taken back for, or (aborted) ends.
  void take_back(TaskRecord& t, EngineRecord& e);
  void end_world(WorldRecord& w, EngineState state, const std::string& reason);
  void heard_from(WorldRecord& w);
  void revive_world(WorldRecord& w);

  // ---- restore.cpp: taking over from a controller that died (--restore), and what makes it possible
  /// The run before's key and addresses, read before the sockets exist.
  static store::RestorePoint read_restore_point(const ControllerConfig& c);
  /// Writes (with a task database) the key, the addresses and the worlds: what a restore needs.
  void record_restore_point();
  /// The worlds' places, as the task database keeps them.
  void record_worlds();
  /// The run before's worlds (absent until they reattach) and clients' sessions.
  void restore_places();
  void on_reattach(PeerId bridge, const wire::Packet& p);
  void finish_reattach(PeerId bridge, wire::Header reply, const wire::ReattachRequest& ask,
                       const std::vector<bool>& finished);
  /// The client whose session made `msg_id`, if known (no_peer if not).
  PeerId client_of(const std::string& msg_id) const;
  /// Every world of the run before is back, or the wait is over: what they did not bring back failed.
  void check_restore(clock::time_point now);
  /// A message from `w`'s bridge was taken in: acknowledged once its effects are on record.
  void count_from(WorldRecord& w);
  /// The acknowledgements due this turn wait for its commit (release_held sends them).
  void queue_acks();
  /// What the run before took and no world brought back (`open`): those whose client is known
  /// wait for it to send them again (resume); the rest fail.
  void settle_open_tasks(const std::vector<store::OpenTask>& open);
  /// A client of the run before says which tasks it still waits for (after a `restored` notice).
  void on_resume_request(PeerId client, wire::Packet&& p);
  /// Tells the run before's clients that have not resumed yet that the controller is back.
  void tell_restored();
  /// Tasks whose client did not send them again in time fail.
  void expire_awaiting(clock::time_point now);
  void fail_restarted(const std::string& msg_id, PeerId client, const std::string& function, std::int64_t submitted_us,
                      const std::string& why);

  // ---- live_output.cpp: engines' output while their tasks run, and their status, to followers
  /// A client following live output (output_subscribe).
  struct Follower {
    std::vector<wire::OutputTerm> terms;
    std::uint64_t sent = 0, acked = 0;  ///< output bytes sent to it, and acknowledged (output_ack)
    std::uint64_t dropped = 0;          ///< bytes it lost since the last piece it got
    std::string key;                    ///< with CURVE: the public key it connected with
  };
  /// Output a follower may have sent and unacknowledged; beyond it, its output is dropped.
  static constexpr std::uint64_t follower_window = std::uint64_t{8} << 20;
  void on_output_subscribe(PeerId client, const wire::Packet& p);
  void on_output_ack(PeerId client, const wire::Packet& p);
  /// A client that cannot be reached any more follows nothing.
  void forget_follower(PeerId client);
  /// Tells the worlds whether anybody follows output (on a change; or `only` that world, now).
  void tell_output_wanted(const WorldRecord* only = nullptr);
  /// Counts `bytes` into `f`'s window; false (and counted as dropped, with `lost_before`, the
  /// bytes the dropped message said were lost before it) if they do not fit.
  bool room_for(Follower& f, std::uint64_t bytes, std::uint64_t lost_before = 0);
  /// A piece of a task's output from `w`: to every follower one of whose terms matches.
  void on_output(const WorldRecord& w, const wire::Packet& p);
  /// What became of `w`'s engines (registered, dead, back, stopped, reattached), and why.
  void tell_status(const WorldRecord& w, const std::string& what, const std::string& why);
  /// `e` became busy or idle (onto_engine, off_engine): to followers of its activity, if any.
  void tell_activity(const EngineRecord& e, const char* what) {
    if (activity_followers != 0) send_change({e.id}, what, {});
  }
  /// An engine_status (`what` became of the `changed` engines, and why) to every follower one of whose terms
  /// matches it.
  void send_change(wire::EngineIds changed, std::string what, std::string why);
  /// Followers and activity_followers, after a change of who follows what.
  void count_followers();

  // ---- balanced.cpp
  void submit_balanced(PeerId client, wire::Packet&& p);
  /// Re-evaluates a waiting task's dependencies: ready, still waiting, or failed.
  void check_dependencies(TaskRecord& t);
  /// A ready task either joins the queue or, if no alive engine could ever take it, fails.
  void make_ready(TaskRecord& t);
  /// Hands queued tasks to engines with room, by the scheme.
  void schedule();
  int depth(const EngineRecord& e) const;
  /// The task `e` runs has run longer than its tasks take, by more than the slack.
  bool running_long(const EngineRecord& e, std::int64_t now_ns) const;
  std::int64_t long_after_ns(const EngineRecord& e) const;
  double slack_us(const EngineRecord& e) const;
  /// How long until the last task `e` holds starts, as expected (infinite once its task runs long).
  double last_start_us(const EngineRecord& e, std::int64_t now_ns) const;
  bool eligible(const BalancedTask& bt, const EngineRecord& e) const;
  /// Why no alive engine can ever take `bt` (errc::none if one can, or if none is alive at all:
  /// then it waits for engines to register).
  std::pair<errc, std::string> never_runnable(const BalancedTask& bt) const;
  void dispatch_balanced(TaskRecord& t, EngineRecord& e);
  void note_timing(const TaskRecord& t, const wire::Header& reply, EngineRecord& e);
  /// A balanced task failed on engine `e`: runs it again if it has retries left (true).
  bool retry(TaskRecord& t, int engine, const wire::ErrorInfo& error);
  void fail_balanced(TaskRecord& t, errc code, const std::string& message);
  /// Tasks finished this turn: their dependents are re-evaluated.
  void resolve_dependents();
  void check_timeouts(Deadline now);
  /// What this controller knows of a prerequisite of `bt`: its record, else what the task
  /// database said of it.
  Prerequisite prerequisite(const std::string& msg_id, const BalancedTask& bt);
  /// With a task database: asks it once for `t`'s prerequisites that no record here holds
  /// (retired, or of an earlier run on the file); true while the answer is awaited (the task then
  /// waits, and its dependencies are checked again once it comes).
  bool ask_file_for_prerequisites(TaskRecord& t);

  // ---- rebalance.cpp
  /// Engines that fell idle take unstarted tasks from engines busy with a long one.
  void rebalance();
  /// Asks `t`'s engine to give it back unless it has started.
  void request_withdraw(TaskRecord& t, BalancedTask::Withdraw why);
  /// Its engine keeps `t`: it started, or that engine cannot give tasks back.
  void on_withdraw_refused(const WorldRecord& w, const wire::Packet& p);
  /// `t` is no longer taken back for an idle engine.
  void end_steal(TaskRecord& t);

  // ---- state
  ControllerConfig cfg;
  fs::path dir;
  std::optional<store::RestorePoint> restored;  ///< --restore: what the run before left (its key first)
  std::string key_hex;
  std::string key;
  std::optional<transport::CurveKeyPair> curve;  ///< the controller's CURVE pair; none: plaintext
  zmq::context_t ctx;
  /// Both sockets': a message admitted at one is a replay at the other.
  std::shared_ptr<transport::ReplayGuard> replay_guard = std::make_shared<transport::ReplayGuard>();
  transport::Endpoint clients;
  transport::Endpoint engines;
  std::unique_ptr<transport::ZapHandler> zap;  ///< with CURVE
  std::string received_key;                    ///< with CURVE: the key of the message being handled
  std::uint64_t revocations_seen = 0;          ///< zap->revocations() when followers were last checked
  /// Followers whose key was revoked since the last look are followed no more.
  void drop_revoked_followers();
  int signal_fd = -1;
  std::string client_url;
  std::string engine_url;
  /// This run (random, never 0): heartbeat echoes carry it, so bridges notice a restored controller.
  std::uint64_t incarnation = 0;
  bool restoring = false;  ///< waiting for the run before's worlds
  clock::time_point restore_deadline{};
  std::unordered_map<std::string, PeerId> session_clients;  ///< msg-id session -> its client
  std::vector<std::int64_t> adopted_rows;                   ///< task rows the reattached worlds brought back
  /// Until the run before's unfinished tasks are settled, resumes wait (deferred_resumes).
  bool restore_settled = true;
  std::vector<std::pair<PeerId, wire::Packet>> deferred_resumes;
  /// Tasks of the run before that no world brought back, waiting for their client to send them again.
  struct AwaitingResend {
    PeerId client;
    std::string function;
    std::int64_t submitted_us;
    clock::time_point until;
  };
  std::unordered_map<std::string, AwaitingResend> awaiting_resend;
  std::set<PeerId> to_notify;  ///< clients of the run before not heard from since the restore
  clock::time_point notify_until{};
  struct AckDue {
    std::uint64_t turn;
    int world;
    std::uint64_t count;
  };
  std::deque<AckDue> acks;
  std::vector<int> worlds_heard;  ///< this turn, with a task database

  std::unordered_map<PeerId, Follower> followers;
  std::size_t activity_followers = 0;  ///< followers with a term for engines' activity
  bool output_wanted = false;          ///< as the worlds were told

  Registry registry;
  TaskTable tasks;
  std::unique_ptr<TaskDb> db;  ///< --db sqlite
  /// Told, waiting for the task database to commit the turn that covers them.
  struct Held {
    std::uint64_t turn;
    PeerId client;
    Buffer header_bytes;
    boost::container::small_vector<Buffer, 1> payload;
    Buffer signature;
  };
  std::deque<Held> held;
  ControllerStats stats;
  std::vector<Waiter> waiters;
  std::unordered_map<std::string, CollectiveRecord> collectives;
  std::unordered_map<std::string, StreamRoute> streams;  ///< by the request's first msg id
  std::unordered_map<std::string, StreamRelay> relays;   ///< by the world's task (its first msg id)
  // What the handlers send waits here until the end of the loop's turn, then goes out per peer,
  // small messages batched (protocol/batch.hpp).
  PeerTable client_peers;
  PeerTable bridge_peers;
  PeerOutbox to_clients{client_peers};
  PeerOutbox to_engines{bridge_peers};

  // the load balancer
  std::mt19937_64 rng{std::random_device{}()};
  std::size_t balanced_pending = 0;  ///< balanced tasks not yet done
  std::deque<TaskRecord*> ready;     ///< waiting for an engine, in order (with finished ones not yet dropped)
  std::size_t unassigned = 0;        ///< the tasks in `ready` still waiting
  std::unordered_map<const TaskRecord*, std::vector<TaskRecord*>> dependents;  ///< prerequisite -> waiting tasks
  std::vector<const TaskRecord*> finished_this_turn;  ///< prerequisites whose dependents need a look
  std::priority_queue<std::pair<Deadline, TaskRecord*>, std::vector<std::pair<Deadline, TaskRecord*>>, std::greater<>>
      timeouts;
  std::unordered_map<std::uint64_t, PendingAbort> pending_aborts;                 ///< by ticket
  std::unordered_map<const TaskRecord*, std::vector<std::uint64_t>> abort_waits;  ///< task -> tickets
  std::uint64_t next_abort_ticket = 1;
  std::optional<std::int64_t> next_rebalance_ns;  ///< when an engine's task turns long while another idles
  bool rebalance_due = true;                      ///< something changed that may let an idle engine take over a task
  bool engines_idle = true;                       ///< the last look found an idle engine (or did not look)
  wire::Header task_header;                       ///< reused for every balanced dispatch
  std::uint64_t use_clock = 0;
  std::uint64_t next_session = 1;  ///< each client's hello gets the next: its msg ids' prefix
  std::uint64_t retried = 0;

  bool stopping = false;
  bool done = false;
  bool trim_pending = false;  ///< bulk messages came: give their memory back once they stop
  bool saw_bulk_this_period = false;
  bool traffic_since_trim = false;  ///< messages came since memory was last given back
  bool saw_traffic_this_period = false;
  /// Freed memory kept resident after a burst of small messages: about what a burst of 100,000
  /// tasks leaves free. Giving it back cost the next burst after a pause 3,000-6,500 page faults
  /// and 1.5x the controller's CPU per task, here.
  static constexpr std::size_t warm_for_bursts = std::size_t{64} << 20;
  Deadline stop_deadline{};
  std::vector<std::pair<PeerId, std::uint64_t>> stop_requesters;
  clock::time_point next_heartbeat_check{};
};

std::string printable(const std::string& id);
/// `function`: TaskTable::function_id of its function's name (0: none).
TaskRecord new_task(PeerId client, int engine_id, std::int64_t submitted_us, std::uint32_t function = 0,
                    std::string collective = {});

}  // namespace crew::controller
