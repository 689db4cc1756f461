#pragma once
// What the load balancer keeps of a balanced task from submission until it is done.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "controller/dependency.hpp"
#include "crew/buffer.hpp"
#include "crew/value.hpp"
#include "protocol/header.hpp"
#include "protocol/payload.hpp"

namespace crew::controller {

struct BalancedTask {
  enum class Stage : std::uint8_t { waiting, ready, running };
  /// Why it is being taken back from its engine (a withdraw_request is out).
  enum class Withdraw : std::uint8_t { none, steal, abort };
  Stage stage = Stage::waiting;
  bool watching = false;  ///< registered with its unfinished prerequisites
  Withdraw withdrawing = Withdraw::none;
  bool pinned = false;  ///< its engine refused to give it back (it started): never asked again
  bool sole = false;    ///< sent to an engine with nothing in flight: it queued behind nothing there
  int retries_left = 0;
  std::uint32_t seq = 0;  ///< its number on its engine (0: none), for taking it back
  std::int64_t timeout_ms = 0;
  std::optional<Deadline> deadline;
  std::string function;
  wire::Payload payload;     ///< the arguments, kept for retries
  std::vector<int> allowed;  ///< the view's engines (empty: any)

  /// No constraint beyond the view: any engine with room will do.
  bool unconstrained() const noexcept {
    return allowed.empty() && (!rare_ || (rare_->require.empty() && rare_->follow_engines.empty()));
  }

  // What few tasks have lives apart, made on first use: a controller holds every task of a burst
  // at once, and most are plain (a plain one takes 152 bytes here, where it took 432).
  const Value::Dict& require() const noexcept { return rare_ ? rare_->require : none().require; }
  const wire::DependencySpec& after() const noexcept { return rare_ ? rare_->after : none().after; }
  const wire::DependencySpec& follow() const noexcept { return rare_ ? rare_->follow : none().follow; }
  /// Once `follow` is met: where it may run (empty: anywhere).
  const std::vector<int>& follow_engines() const noexcept {
    return rare_ ? rare_->follow_engines : none().follow_engines;
  }
  /// Engines it failed on (retries go elsewhere where possible).
  const std::vector<int>& tried() const noexcept { return rare_ ? rare_->tried : none().tried; }
  /// Prerequisites the controller no longer holds, as the task database has them (retired beyond
  /// --max-records, or of an earlier run on the file).
  const std::vector<std::pair<std::string, Prerequisite>>& on_file() const noexcept {
    return rare_ ? rare_->on_file : none().on_file;
  }
  /// The task database was asked for them (once, when the dependencies are first checked).
  bool file_asked() const noexcept { return rare_ && rare_->file_asked; }
  void set_file_asked() { rare().file_asked = true; }
  void set_on_file(std::vector<std::pair<std::string, Prerequisite>> found) { rare().on_file = std::move(found); }
  /// Its last failure, reported if it never succeeds (null: none yet).
  const wire::ErrorInfo* last_error() const noexcept { return rare_ && rare_->failed ? &rare_->last_error : nullptr; }

  void set_require(Value::Dict require) {
    if (!require.empty()) rare().require = std::move(require);
  }
  void set_dependencies(wire::DependencySpec after, wire::DependencySpec follow) {
    if (after.empty() && follow.empty()) return;
    rare().after = std::move(after);
    rare().follow = std::move(follow);
  }
  void set_follow_engines(std::vector<int> engines) {
    if (!engines.empty() || rare_) rare().follow_engines = std::move(engines);
  }
  /// The idle engine it is being taken back for (-1: none).
  int steal_for() const noexcept { return rare_ ? rare_->steal_for : -1; }
  void set_steal_for(int engine) {
    if (engine >= 0 || rare_) rare().steal_for = engine;
  }
  void failed_on(int engine, const wire::ErrorInfo& error) {
    Rare& r = rare();
    r.tried.push_back(engine);
    r.last_error = error;
    r.failed = true;
  }

private:
  struct Rare {
    Value::Dict require;
    wire::DependencySpec after, follow;
    std::vector<int> follow_engines;
    std::vector<int> tried;
    wire::ErrorInfo last_error;
    bool failed = false;
    int steal_for = -1;
    std::vector<std::pair<std::string, Prerequisite>> on_file;
    bool file_asked = false;
  };
  static const Rare& none() noexcept {
    static const Rare empty;
    return empty;
  }
  Rare& rare() {
    if (!rare_) rare_ = std::make_unique<Rare>();
    return *rare_;
  }
  std::unique_ptr<Rare> rare_;
};

}  // namespace crew::controller
