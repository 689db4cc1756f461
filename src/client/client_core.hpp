#pragma once
// The client's engine room: the DEALER socket to the controller, moved by an I/O thread (or by a
// user thread that sends after a quiet spell or waits for its result: client_io.cpp); user
// threads hand it encoded messages through a Mailbox and wait on per-call ResultStates.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <zmq.hpp>

#include "common/internal_api.hpp"
#include "transport/endpoint.hpp"

#include "client/output_feeds.hpp"
#include "client/pending_table.hpp"
#include "client/ssh_tunnel.hpp"
#include "common/clock.hpp"
#include "crew/async_result.hpp"
#include "crew/load_balanced_view.hpp"
#include "protocol/header.hpp"
#include "protocol/typed_body.hpp"
#include "protocol/wire.hpp"
#include "transport/mailbox.hpp"

namespace crew::detail {

/// What few answers carry: an error, or output. Kept apart so a plain answer stays small (a
/// client may hold 10^5 of them, and on some machines each new page costs more than its use).
struct SlotExtras {
  wire::ErrorInfo error;
  std::string stdout_text, stderr_text;
};

/// One task's answer. Its msg id, engine and function are the state's (ResultState::msg_ids,
/// ::targets, ::function).
struct CREW_INTERNAL_API ResultSlot {
  bool done = false;
  std::int64_t submitted_us = 0, started_us = 0, completed_us = 0, received_us = 0;
  wire::Payload payload;               ///< the reply body, decoded on first use
  std::unique_ptr<Value> value;        ///< decoded body
  std::unique_ptr<SlotExtras> extras;  ///< set when the answer has an error or output

  bool failed() const noexcept { return extras && extras->error.failed(); }
  const wire::ErrorInfo& error() const noexcept;  ///< an empty ErrorInfo when it did not fail
  void set_error(wire::ErrorInfo error);
};

/// A request's array that goes outside its body, and how (wire::Transfer, protocol/collective.hpp).
struct Bulk {
  const Array* send = nullptr;                         ///< scatter, push: the array the engines get
  const Array* receive = nullptr;                      ///< gather, reduce: room for the result, which the engines write
  wire::Transfer transfer = wire::Transfer::streamed;  ///< streamed (chunks after the request) or
                                                       ///< single_copy (the engines copy with this process)
  bool copied() const noexcept { return transfer == wire::Transfer::single_copy; }
};

class ClientCore;

struct ResultState {
  std::weak_ptr<ClientCore> core;  ///< whose socket a waiting thread may watch itself (client_io.cpp)
  mutable std::mutex mutex;
  std::condition_variable cv;
  wire::MsgIds msg_ids;  ///< one per slot (most states are one task: no allocation)
  /// msg_ids as AsyncResult::msg_ids() returns them, made on its first call (few ask).
  std::vector<std::string> msg_id_list;
  std::string function;  ///< empty until known (a result fetched by id learns it from its answer)
  wire::EngineIds targets;
  bool single = false;
  bool joined = false;                                  ///< one result for all targets (gather, reduce): slots share it
  boost::container::small_vector<ResultSlot, 1> slots;  ///< most calls are one task
  boost::container::small_vector<std::size_t, 1> arrivals;  ///< slots in the order their answers came
  std::uint64_t first_seq = 0;                              ///< the sequence number in slot 0's msg id (slot i: + i)
  std::size_t remaining = 0;
  SteadyClock::time_point submitted_at;
  SteadyClock::time_point finished_at;
  Buffer lent;                    ///< single copy: the array the engines read, kept until they answer
  std::unique_ptr<Value> landed;  ///< single copy: the array the engines write, the answer's value
  /// Run by the I/O thread once every answer came (a request that needs another after it).
  std::function<void(const std::shared_ptr<ResultState>&)> then;
  /// Run by the I/O thread on each answer before it counts; true: it does not count yet (the
  /// hook arranged for the slot to be answered otherwise).
  std::function<bool(const std::shared_ptr<ResultState>&, std::size_t slot, const wire::Packet&)> intercept;
  /// AsyncResult::then callbacks: run once every answer came, by the thread that delivered the
  /// last one (finish_state), after the waiting threads have been woken.
  std::vector<std::function<void(const AsyncResult&)>> continuations;

  ResultMetadata metadata(std::size_t i) const;  ///< caller holds the mutex
  /// The requests, kept until answered when the controller may be restored (a restored one may
  /// not have them): one per slot, or one for all of them; empty once answered, or if not kept.
  boost::container::small_vector<wire::Outgoing, 1> kept;
};

class ClientCore : public std::enable_shared_from_this<ClientCore> {
public:
  /// `ssh`: reach the controller through ssh to this host (client/ssh_tunnel.hpp); "" for what
  /// the file says.
  ClientCore(std::filesystem::path controller_file, std::string profile_hint, std::chrono::milliseconds timeout,
             const std::string& ssh = {});
  ~ClientCore();

  /// Sends a direct_task (or, for a collective's name, a collective_request) to `targets`; results arrive in the
  /// returned state. `bulk`: an array that goes outside the request (in chunks after it, or copied by the engines);
  /// `args` hold null where it goes.
  std::shared_ptr<ResultState> submit(std::string_view function, Value::List args, const std::vector<int>& targets,
                                      bool single, bool joined = false, const Bulk* bulk = nullptr);
  /// Whether every one of `targets` can copy from and into this process's memory itself (same
  /// host, allowed to: engine/peer_memory.hpp). Asked of each engine once (client/single_copy.cpp);
  /// CREW_SINGLE_COPY=0 says no without asking. An answer not known yet is waited for up to a
  /// second (a busy engine: no, this time; its answer is kept for later calls).
  bool engines_can_copy(const std::vector<int>& targets);
  /// Whether none of `targets` is known not to copy: gather, pull and reduce then try, asking
  /// along with their first step (crew.shape_of carries the same question).
  bool engines_may_copy(const std::vector<int>& targets);
  /// crew.gather(name) or crew.reduce(name, op) (`what`) over `targets` (ascending), the engines writing
  /// the result into this process: first each engine's shape, then the call with room made for
  /// its result (or, for anything but alike arrays, the usual call). The state is the call's.
  std::shared_ptr<ResultState> collect_by_copy(wire::Collective what, const std::string& name,
                                               const std::vector<int>& targets, const std::string& op = {});
  /// pull(name) from `targets`, which can copy (engines_can_copy): values come inline as usual,
  /// except arrays above a chunk, which each engine then writes into this process (collect_by_copy).
  std::shared_ptr<ResultState> pull_by_copy(const std::string& name, const std::vector<int>& targets, bool single);
  /// One call per target, each with its own arguments (a direct map): one slot per call.
  std::shared_ptr<ResultState> submit_each(std::string_view function, std::vector<Value::List> calls,
                                           const std::vector<int>& targets);
  /// Load-balanced tasks, one per call, each allowed on `targets` (empty: any engine). One slot
  /// per call; `single` for one task whose get() is its value.
  std::shared_ptr<ResultState> submit_balanced(std::string_view function, std::span<Value::List> calls,
                                               const std::vector<int>& targets, const wire::BalanceSpec& spec,
                                               bool single);
  /// A state waiting for the replies of tasks submitted elsewhere (get_result): the caller asks
  /// the controller to send them. `forget` undoes it.
  std::shared_ptr<ResultState> watch(const std::vector<std::string>& msg_ids);
  void forget(const std::shared_ptr<ResultState>& state);
  /// Asks the controller to abort these tasks (throws InputError as LoadBalancedView::abort says).
  AbortReport abort(const std::vector<std::string>& msg_ids);
  /// A blocking request/reply with the controller. Throws ConnectionError (connection.lost) if
  /// no reply comes within `timeout`.
  wire::Packet request(wire::MsgKind kind, const Value& body, std::chrono::milliseconds timeout);
  /// A request and its reply with typed bodies (protocol/hub_queries.hpp). A reply that carries
  /// an error (and no body) throws it.
  template <class Reply, class Body>
  Reply ask(wire::MsgKind kind, const Body& body, std::chrono::milliseconds timeout) {
    const wire::Packet p = request_with(
        kind, [&](const wire::Header& h) { return wire::make_typed_message(h, body); }, timeout);
    if (p.header.error.failed()) throw_error(p.header.error.code, p.header.error.message);
    return wire::read_typed_body<Reply>(p);
  }
  wire::Packet request_with(wire::MsgKind kind, const std::function<wire::Outgoing(const wire::Header&)>& message,
                            std::chrono::milliseconds timeout);

  /// Waits until `done` (asked under state.mutex) holds or `deadline` passes; true if it holds.
  /// The waiting thread watches the socket itself when it can (client_io.cpp). Callers go
  /// through detail::wait_on, which also covers a closed client.
  bool await_until(ResultState& state, Deadline deadline, const std::function<bool()>& done);
  /// Before waiting on something only a thread reading the socket can fulfil (a request's
  /// reply, wait_all): calls the I/O thread back if it has left the socket to a waiting thread.
  void need_io();

  std::size_t outstanding() const;
  /// Whether any answer is still due: a task's, or a request's.
  bool answers_due() const;
  bool wait_all(std::chrono::milliseconds timeout);

  /// The handle users get for `state` (AsyncResult's constructor is the client library's).
  static AsyncResult result_of(std::shared_ptr<ResultState> state) { return AsyncResult(std::move(state)); }
  /// Runs the AsyncResult::then callbacks taken from `state` (under its mutex, as its last answer
  /// came), with no lock held; waits inside them are refused (wait_on).
  static void run_continuations(const std::shared_ptr<ResultState>& state,
                                std::vector<std::function<void(const AsyncResult&)>> callbacks);

  /// Follows live output as `term` says (crew/output.hpp): events go to `callback` if set, else
  /// to the feed's queue. Returns once the controller has the subscription (throws like request).
  std::shared_ptr<OutputFeedState> follow(wire::OutputTerm term, std::function<void(const OutputEvent&)> callback = {});
  /// Stops following what only `feed` followed (without waiting for the controller).
  void unfollow(const OutputFeedState* feed);

  std::chrono::milliseconds timeout() const noexcept { return timeout_; }
  const std::filesystem::path& controller_file() const noexcept { return file_; }

private:
  // The socket (client_io.cpp): whoever holds io_mutex_ moves messages.
  void io_loop();
  /// Sends what is queued (then `last`, if given) and receives every answer waiting (io_mutex_ held).
  void move_io(wire::Outgoing* last = nullptr);
  /// Waits up to `timeout` (-1: no limit) for the socket or the outbox to have something.
  void poll_io(std::chrono::milliseconds timeout);
  void stop_io();  ///< the I/O thread sends what is queued and ends
  void on_packet(wire::Packet&& p);
  /// A reply; `value`, when given, is its result already decoded (a streamed array).
  void on_result(wire::Packet&& p, const Value* value = nullptr);
  /// One answer taken from pending_ is visible now: outstanding() drops it.
  void delivered_one();
  /// A streamed answer (protocol/stream.hpp): its head, then its chunks, joined into one array.
  void on_stream_head(wire::Packet&& p);
  void on_stream_chunk(const wire::Packet& p);
  /// A request went unanswered: the controller stopped answering (ConnectionError, connection.lost).
  [[noreturn]] void throw_connection_lost(std::string_view what, std::chrono::milliseconds timeout) const;
  /// A state with one slot per task, their msg ids fresh from this session.
  std::shared_ptr<ResultState> new_state(std::size_t tasks, std::string_view function, std::int64_t submitted_us);
  /// Throws InputError [crew.input.oversized] if `m` (plus `streamed` bytes sent after it) is
  /// above the controller's limit.
  void check_size(const wire::Outgoing& m, const std::string& function, std::uint64_t streamed = 0) const;
  /// The direct_task or collective_request of `state`'s tasks (its targets, msg ids), with `bulk` described; sets
  /// what the state keeps for it. Throws InputError [crew.input.oversized].
  wire::Outgoing request_for(ResultState& state, std::string_view function, Value::List args, const Bulk* bulk);
  /// The second step of collect_by_copy, once `shapes` came (the I/O thread).
  void collect_into_room(const std::shared_ptr<ResultState>& shapes, const std::shared_ptr<ResultState>& call,
                         wire::Collective what, const std::string& name, const std::string& op);
  /// Registers every task of `state` as awaiting its answer, then sends `messages`.
  void post(const std::shared_ptr<ResultState>& state, std::span<wire::Outgoing> messages);
  void send(wire::Outgoing&& m);

  std::filesystem::path file_;
  std::string profile_hint_;
  std::string url_;
  std::string via_;                           ///< " (through ssh to HOST)", for messages; "" when direct
  std::unique_ptr<SshForwardKeeper> tunnel_;  ///< with ssh: the forward url_ names, kept up
  /// The tunnel was made again: results sent while it was down are asked for again.
  void ask_again_after_reconnect();
  std::chrono::milliseconds timeout_;
  std::uint64_t max_message_bytes_ = 0;  ///< the controller's limit (0: unknown)
  std::string session_;                  ///< routing id suffix (random)
  std::string own_prefix_;               ///< what this client's msg ids start with: the controller's
                                         ///< number for it, and "-"
  std::string key_;

  zmq::context_t ctx_;
  std::mutex io_mutex_;                        ///< held by whoever moves messages (client_io.cpp)
  std::optional<transport::Endpoint> socket_;  ///< io_mutex_ after construction (fd() any time)
  wire::Batcher queue_;                        ///< io_mutex_: messages about to go out
  Fifo<wire::Outgoing> batch_;                 ///< io_mutex_: the outbox, drained
  /// Messages from threads that did not take the socket (one without a header only wakes the
  /// I/O thread).
  Mailbox<wire::Outgoing> outbox_;
  std::atomic<std::int64_t> last_send_ns_{0};
  /// Threads that hold the socket in await_until: the I/O thread then leaves it to them (parked).
  std::atomic<int> awaiting_{0};
  std::atomic<bool> io_parked_{false};  ///< the I/O thread is not watching the socket now
  std::atomic<bool> stopping_{false};
  std::thread io_;

  mutable std::mutex pending_mutex_;
  std::condition_variable all_done_;
  PendingTable pending_;
  std::size_t delivering_ = 0;  ///< answers taken from pending_ and not yet visible in their states
  std::unordered_map<std::uint64_t, std::promise<wire::Packet>> requests_;
  /// Streamed answers being joined, by their first msg id (the I/O thread's own).
  struct Incoming {
    wire::Packet head;
    Buffer array;
    std::byte* data = nullptr;
    std::uint64_t received = 0;
  };
  std::unordered_map<std::string, Incoming> incoming_;
  /// Keeps the answers of a crew.can_copy question that came (copy_mutex_ held).
  void take_copy_answers();
  /// (pid, address, token): what crew.can_copy reads (copy_mutex_ held), and `args` with it.
  Value::List copy_token_args();
  Value::List with_copy_token(Value::List args);
  std::mutex copy_mutex_;
  std::unordered_map<int, bool> can_copy_;  ///< by engine id: the answer to crew.can_copy
  std::string copy_token_;                  ///< what the engines read to show they can
  std::optional<AsyncResult> copy_probe_;   ///< the question in flight, for these engines:
  std::vector<int> copy_probe_targets_;
  std::atomic<std::uint64_t> next_seq_{0};
  std::atomic<std::uint64_t> dropped_{0};

  // ---- live output (crew/output.hpp)
  OutputFeeds feeds_;
  std::uint64_t output_received_ = 0;  ///< (io_mutex_) bytes of live output taken in
  std::uint64_t output_acked_ = 0;     ///< (io_mutex_) ... and acknowledged (output_ack)
  /// An output or engine_status message: to the feeds, acknowledged now and then.
  void on_output(const wire::Packet& p);
  /// The subscription to what every feed follows, to the controller (not waiting for its reply).
  void send_subscription();

  // ---- a controller that keeps task records (HelloReply::restorable) may die and be restored:
  // each task's request is kept until it is answered, and sent again if the restored controller
  // never took it (resume).
  bool restorable_ = false;
  /// (io_mutex_) A resume_request is on its way: a second `restored` notice (the controller
  /// repeats it until it hears) is not answered again, or the tasks would be sent twice.
  bool resuming_ = false;
  /// (before the state is shared) Keeps `messages` in `state` (ResultState::kept).
  void keep(ResultState& state, std::span<const wire::Outgoing> messages) const;
  /// The controller was restored: say which tasks this client still waits for.
  void on_restored();
  /// Sends again the requests the restored controller never took.
  void on_resume_reply(const wire::Packet& p);
};

/// Waits, holding `lock` (on state.mutex) except while it waits, until `done` (asked under the
/// lock) or `deadline`: through the client's socket while the client is open
/// (ClientCore::await_until), else on the state's condition variable. True if done.
bool wait_on(ResultState& state, std::unique_lock<std::mutex>& lock, Deadline deadline,
             const std::function<bool()>& done);

/// True while this thread runs AsyncResult::then callbacks (ClientCore::run_continuations).
extern thread_local bool running_continuations;

}  // namespace crew::detail
