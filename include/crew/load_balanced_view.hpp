#pragma once
// crew::LoadBalancedView: work that runs on whichever engine is free.
//
//   auto lb = rc.load_balanced_view();                    // or rc.load_balanced_view({0, 1})
//   auto r  = lb.apply("price_option", 100.0, 0.2, 1.0);  // one task, on one engine the controller picks
//   auto m  = lb.map("f", crew::range(1'000'000));         // chunked automatically; results in order
//   auto u  = lb.map("f", items, {.chunksize = 100, .ordered = false});
//   auto t  = lb.with({.after = {r}, .timeout = 5s, .retries = 2, .require = {{"gpu", true}}}).apply("g");
//   lb.abort(t);
//
// The controller queues balanced tasks and hands each to an engine below its high-water mark, by
// its scheme (`crew controller --scheme`: leastload, lru, weighted, random, twobin), among the
// engines that meet the task's constraints. A view captures its targets when created; with none
// it may use every engine, also those that register later.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crew/async_map.hpp"
#include "crew/async_result.hpp"
#include "crew/export.hpp"
#include "crew/value.hpp"

namespace crew {

namespace detail {
class ClientCore;
}

/// Tasks another task depends on. `{r1, r2}`: after both succeeded. Flags as in the seeds:
/// `crew::Dependency{r1, r2}.any()` is met by either; `.allow_failure()` counts failed ones
/// too; `.only_failure()` counts only failed ones.
struct CREW_API Dependency {
  std::vector<std::string> msg_ids;
  bool all = true;       ///< every one of them (false: any one)
  bool success = true;   ///< met by those that succeeded
  bool failure = false;  ///< met by those that failed

  Dependency() = default;
  Dependency(std::initializer_list<AsyncResult> results);
  Dependency(const AsyncResult& result);
  Dependency(const AsyncMap& map);
  Dependency(std::vector<std::string> ids) : msg_ids(std::move(ids)) {}

  Dependency& any() noexcept {
    all = false;
    return *this;
  }
  Dependency& allow_failure() noexcept {
    failure = true;
    return *this;
  }
  Dependency& only_failure() noexcept {
    success = false;
    failure = true;
    return *this;
  }
  bool empty() const noexcept { return msg_ids.empty(); }
};

/// How the load balancer treats a task (LoadBalancedView::with).
struct TaskOptions {
  Dependency after{};   ///< run only once these have finished (time dependency)
  Dependency follow{};  ///< run only on an engine where these ran (location dependency)
  /// Fail with [crew.remote.task_timeout] if it has not been handed to an engine by then (0: no
  /// limit). A task that reached its engine runs to completion.
  std::chrono::milliseconds timeout{0};
  /// After a failure, run it again this many times at most, on another engine where possible;
  /// if every try fails, the last error is reported once.
  int retries = 0;
  /// Engine properties the task needs (`crew cluster start --property gpu=true`), matched by
  /// equality; every engine also has "host". (`require`: C++20 reserves `requires`.)
  Value::Dict require{};
};

/// Load-balanced map: how the sequence is cut and how results come back.
struct MapOptions {
  std::size_t chunksize = 0;  ///< items per task; 0: from the length and the engine count
  bool ordered = true;        ///< results in item order (false: as the chunks finish)
};

/// 0, 1, ..., stop-1 (or start, start+step, ... before stop), cut into chunks by map() without
/// being materialized whole. As a Value it is an int64 Array.
struct CREW_API Range {
  std::int64_t start = 0;
  std::int64_t stop = 0;
  std::int64_t step = 1;
  std::size_t size() const noexcept;
  std::int64_t operator[](std::size_t i) const noexcept { return start + static_cast<std::int64_t>(i) * step; }
};
CREW_API Range range(std::int64_t stop);
CREW_API Range range(std::int64_t start, std::int64_t stop, std::int64_t step = 1);

template <>
struct CREW_API ValueTraits<Range> {
  static Value to(const Range& r);
  static Range from(const Value& v);
  static std::string name() { return "range"; }
};

/// What abort() did: tasks aborted before they started, tasks already finished, and tasks
/// already running (they run to completion).
struct AbortReport {
  std::vector<std::string> aborted;
  std::vector<std::string> done;
  std::vector<std::string> running;
};

class CREW_API LoadBalancedView {
public:
  /// The engines it may use; empty: any engine, also those that register later.
  const std::vector<int>& targets() const noexcept { return targets_; }
  const TaskOptions& options() const noexcept { return options_; }

  /// The same view with these task options (dependencies, timeout, retries, require).
  LoadBalancedView with(TaskOptions options) const;

  template <class... A>
  AsyncResult apply(std::string_view function, const A&... args) const {
    return apply_list(function, Value::List{to_value(args)...});
  }
  AsyncResult apply_list(std::string_view function, Value::List args) const;

  /// `function` on every item of `sequence` (an array along its first axis, or a list), in
  /// chunks of `chunksize` items per task; results joined in item order unless not `ordered`.
  template <class T>
  AsyncMap map(std::string_view function, T&& sequence, MapOptions o = {}) const {
    return map_value(function, to_value(std::forward<T>(sequence)), o);
  }
  AsyncMap map(std::string_view function, const Range& r, MapOptions o = {}) const;
  AsyncMap map_value(std::string_view function, Value sequence, MapOptions o = {}) const;
  /// `function(a[i], b[i], ...)` for every i: several sequences of one length, cut alike (as
  /// Python's map(f, xs, ys)). Throws InputError [crew.input.bad_option] if their lengths differ.
  AsyncMap map_values(std::string_view function, std::vector<Value> sequences, MapOptions o = {}) const;

  /// Aborts the tasks that have not started: those waiting at the controller, and those queued on
  /// an engine behind another task (the engine gives them back first). Throws InputError
  /// [crew.input.already_done] if all had finished, [crew.input.unknown_task] for ids the
  /// controller does not know (then nothing is aborted).
  AbortReport abort(const AsyncResult& r) const;
  AbortReport abort(const AsyncMap& m) const;
  AbortReport abort(const std::vector<std::string>& msg_ids) const;

private:
  friend class Client;
  LoadBalancedView(std::shared_ptr<detail::ClientCore> core, std::vector<int> targets, std::size_t engines_hint)
      : core_(std::move(core)), targets_(std::move(targets)), engines_hint_(engines_hint) {}
  /// Items per chunk for `items` items when the caller did not say.
  std::size_t default_chunksize(std::size_t items) const;

  std::shared_ptr<detail::ClientCore> core_;
  std::vector<int> targets_;
  std::size_t engines_hint_ = 1;  ///< engines it may use, counted when the view was made
  TaskOptions options_;
};

}  // namespace crew
