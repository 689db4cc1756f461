#pragma once
// crew::AsyncResult: the handle every remote operation returns.
//
//   auto ar = rc.view().apply("mul", 5, 6);   // returns at once
//   ar.wait(2s);                              // true once every engine has answered
//   crew::Value v = ar.get();                 // waits; throws RemoteError / CompositeError / TimeoutError
//   auto by_engine = ar.get_dict();           // {engine id: value}
//   ar.metadata(0).completed;                 // timestamps, stdout/stderr, status
//   auto twice = ar.then([](const crew::AsyncResult& r) { return 2 * r.get_as<double>(); });
//   twice.get();                              // a std::future: 60, or what the callback threw

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "crew/error.hpp"
#include "crew/export.hpp"
#include "crew/output.hpp"
#include "crew/value.hpp"

namespace crew {

/// A timeout that never expires.
inline constexpr std::chrono::milliseconds forever{-1};

/// Where a result stands: a state to read, never an exception (AsyncResult::status, wait_for).
enum class result_state {
  pending,    ///< some answers have not arrived
  succeeded,  ///< every answer arrived, none an error
  failed,     ///< every answer arrived, at least one an error
};

namespace detail {
struct ResultState;
class ClientCore;
struct ResultAccess;  // crew's own code (and its tests) making results from states
}  // namespace detail

struct ResultMetadata {
  std::string msg_id;
  int engine_id = -1;
  std::string function;
  std::string status = "pending";                   ///< "pending", "ok" or "error"
  std::chrono::system_clock::time_point submitted;  ///< client clock
  std::chrono::system_clock::time_point started;    ///< engine clock
  std::chrono::system_clock::time_point completed;  ///< engine clock
  std::chrono::system_clock::time_point received;   ///< client clock
  std::string stdout_text;                          ///< what the task wrote to std::cout / ctx.out()
  std::string stderr_text;                          ///< what the task wrote to std::cerr / ctx.err()
};

/// Every member but the constructors throws InputError [crew.input.empty_result] on an empty
/// AsyncResult (default-constructed or moved-from): there is no task to ask about.
class CREW_API AsyncResult {
public:
  /// An empty handle (every call but assignment throws); remote operations return real ones.
  AsyncResult() = default;

  /// One msg id per target engine, in target order.
  const std::vector<std::string>& msg_ids() const;
  /// The engine of each task, in order: a load-balanced task's is -1 until an engine has run it.
  std::vector<int> targets() const;
  std::size_t size() const;

  /// True once every engine has answered.
  bool ready() const;
  /// Waits until ready or `timeout` passes; true if ready.
  bool wait(std::chrono::milliseconds timeout = forever) const;
  /// Waits until ready or `timeout` passes, then says where the result stands (pending if the
  /// timeout passed first). Never throws for a result that is late or failed.
  result_state wait_for(std::chrono::milliseconds timeout) const;
  /// Where the result stands now: pending, succeeded or failed.
  result_state status() const;
  /// Where the i-th target's answer stands now.
  result_state status(std::size_t i) const;
  /// True if every engine answered without error; false while any answer is pending (status()
  /// tells pending from failed).
  bool successful() const;
  /// How many engines have answered.
  std::size_t progress() const;
  /// Time from submission until now, or until the last answer.
  std::chrono::duration<double> elapsed() const;

  /// Waits, then returns the result: one value for a single-engine view (rc[3]), a list in target
  /// order otherwise. Throws TimeoutError if `timeout` passes (the task goes on); for a
  /// single-engine failure a RemoteError of the type its code calls for: EngineError (the engine
  /// died), TaskAborted (aborted before it ran), TaskTimeout (not started within its own
  /// timeout), DependencyError (a dependency failed or can never be met); CompositeError if any
  /// of several engines failed (raise_first() throws the first as its own type).
  Value get(std::chrono::milliseconds timeout = forever) const;
  /// get(), converted: ar.get_as<double>(), ar.get_as<std::vector<double>>().
  template <class T>
  T get_as(std::chrono::milliseconds timeout = forever) const {
    return from_value<T>(get(timeout));
  }
  /// Waits, then returns {engine id: value}; throws like get().
  std::map<int, Value> get_dict(std::chrono::milliseconds timeout = forever) const;

  /// The i-th target's error, without throwing it; nullopt while it is pending or if it
  /// succeeded (status(i) tells which).
  std::optional<RemoteError> error(std::size_t i) const;
  /// The i-th target's value, waiting for it like get(): throws its error (as get() would for a
  /// single engine) if it failed, TimeoutError if `timeout` passes first.
  Value value(std::size_t i, std::chrono::milliseconds timeout = forever) const;
  ResultMetadata metadata(std::size_t i = 0) const;

  /// Runs `callback(result)` once every engine has answered, with this result (ready: its get()
  /// returns or throws at once), and returns a std::future of what the callback returns or
  /// throws. If the result is ready now, the callback runs at once on this thread; otherwise on
  /// the thread that receives the last answer: the client's I/O thread, or a thread of yours
  /// that is waiting on a result of the same client. Like a std::future continuation, it is
  /// meant to be short: it may read results and submit new work, but it must not wait for
  /// another result that has not arrived (that throws Error [crew.input.bad_option]; chain
  /// another then() instead). If the client closes first, the callback sees the results failed
  /// with [crew.connection.client_closed]. Throws Error for an empty handle.
  template <class F>
  auto then(F&& callback) const -> std::future<std::invoke_result_t<std::decay_t<F>&, const AsyncResult&>> {
    using R = std::invoke_result_t<std::decay_t<F>&, const AsyncResult&>;
    auto task = std::make_shared<std::packaged_task<R(const AsyncResult&)>>(std::forward<F>(callback));
    std::future<R> done = task->get_future();
    when_ready([task](const AsyncResult& r) { (*task)(r); });
    return done;
  }

  /// Calls `callback` with each piece of output its tasks write from now until they are done, as
  /// they write it (crew/output.hpp); output written before this call is not repeated (the whole
  /// of it comes in metadata().stdout_text). Like then(), it runs on the thread that reads the
  /// socket, and must be short and must not throw. Nothing happens if the result is ready already.
  void on_output(std::function<void(const OutputEvent&)> callback) const;

private:
  // Made by the client library only: the views, the Client (get_result), AsyncMap.
  friend class Client;
  friend class DirectView;
  friend class LoadBalancedView;
  friend class AsyncMap;
  friend class detail::ClientCore;
  friend struct detail::ResultAccess;
  explicit AsyncResult(std::shared_ptr<detail::ResultState> state) : state_(std::move(state)) {}

  /// then()'s engine: `callback` runs once ready (now, if it is); it must not throw.
  void when_ready(std::function<void(const AsyncResult&)> callback) const;
  void check_valid() const;
  std::shared_ptr<detail::ResultState> state_;
};

}  // namespace crew
