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
#include "crew/value.hpp"

namespace crew {

/// A timeout that never expires.
inline constexpr std::chrono::milliseconds forever{-1};

namespace detail {
struct ResultState;
class ClientCore;
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
  /// True if every engine answered without error. Throws Error if not ready yet.
  bool successful() const;
  /// How many engines have answered.
  std::size_t progress() const;
  /// Time from submission until now, or until the last answer.
  std::chrono::duration<double> elapsed() const;

  /// Waits, then returns the result: one value for a single-engine view (rc[3]), a list in target
  /// order otherwise. Throws TimeoutError if `timeout` passes; RemoteError (EngineError if the
  /// engine died) for a single-engine failure; CompositeError if any of several engines failed.
  Value get(std::chrono::milliseconds timeout = forever) const;
  /// get(), converted: ar.get_as<double>(), ar.get_as<std::vector<double>>().
  template <class T>
  T get_as(std::chrono::milliseconds timeout = forever) const {
    return from_value<T>(get(timeout));
  }
  /// Waits, then returns {engine id: value}; throws like get().
  std::map<int, Value> get_dict(std::chrono::milliseconds timeout = forever) const;

  /// The i-th target's outcome without throwing for remote errors (after waiting).
  std::optional<RemoteError> error(std::size_t i) const;
  /// The i-th target's value (throws its RemoteError if it failed, Error if not ready).
  Value value(std::size_t i) const;
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

private:
  // Made by the client library only: the views, the Client (get_result), AsyncMap.
  friend class Client;
  friend class DirectView;
  friend class LoadBalancedView;
  friend class AsyncMap;
  friend class detail::ClientCore;
  explicit AsyncResult(std::shared_ptr<detail::ResultState> state) : state_(std::move(state)) {}

  /// then()'s engine: `callback` runs once ready (now, if it is); it must not throw.
  void when_ready(std::function<void(const AsyncResult&)> callback) const;
  void check_valid() const;
  std::shared_ptr<detail::ResultState> state_;
};

}  // namespace crew
