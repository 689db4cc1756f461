// crew::AsyncResult.
#include "crew/async_result.hpp"

#include "client/client_core.hpp"
#include "protocol/value_codec.hpp"

namespace crew {
namespace {

/// Slot i's error, for `engine` (-1: one answer for all engines).
RemoteError to_remote_error(const detail::ResultState& s, std::size_t i, int engine) {
  const auto& e = s.slots[i].error();
  return RemoteError(e.code, engine, e.type, e.message, e.context);
}

/// Throws slot i's error as the type its code calls for (EngineError, TaskAborted, ...).
[[noreturn]] void throw_slot_error(const detail::ResultState& s, std::size_t i, int engine) {
  throw_remote_error(to_remote_error(s, i, engine));
}

result_state slot_state(const detail::ResultSlot& slot) {
  if (!slot.done) return result_state::pending;
  return slot.failed() ? result_state::failed : result_state::succeeded;
}

/// Caller holds the state's mutex.
result_state state_of(const detail::ResultState& s) {
  if (s.remaining != 0) return result_state::pending;
  for (const auto& slot : s.slots)
    if (slot.failed()) return result_state::failed;
  return result_state::succeeded;
}

[[noreturn]] void throw_late(std::size_t arrived, std::size_t of, std::chrono::milliseconds timeout) {
  throw_error(errc::wait_timeout,
              std::to_string(arrived) + " of " + std::to_string(of) + " results arrived within " +
                  std::to_string(timeout.count()) + " ms",
              "wait longer with get(timeout) or check the engines with `crew engines`");
}

/// Decodes a slot's value once (caller holds the state's mutex).
const Value& slot_value(detail::ResultSlot& slot) {
  if (!slot.value) slot.value = std::make_unique<Value>(wire::decode_value(slot.payload));
  return *slot.value;
}

bool wait_ready(detail::ResultState& s, std::unique_lock<std::mutex>& lock, std::chrono::milliseconds timeout) {
  const Deadline deadline = timeout < std::chrono::milliseconds::zero() ? Deadline::max() : deadline_after(timeout);
  return detail::wait_on(s, lock, deadline, [&] { return s.remaining == 0; });
}

}  // namespace

namespace detail {

thread_local bool running_continuations = false;

void ClientCore::run_continuations(const std::shared_ptr<ResultState>& state,
                                   std::vector<std::function<void(const AsyncResult&)>> callbacks) {
  if (callbacks.empty()) return;
  const AsyncResult result(state);
  const bool outer = running_continuations;
  running_continuations = true;
  for (auto& callback : callbacks) {
    try {
      callback(result);
    } catch (...) {
      // then() hands the callback's exceptions to its future; nothing else reaches here.
    }
  }
  running_continuations = outer;
}

}  // namespace detail

void AsyncResult::when_ready(std::function<void(const AsyncResult&)> callback) const {
  check_valid();
  {
    std::lock_guard lock(state_->mutex);
    if (state_->remaining != 0) {
      state_->continuations.push_back(std::move(callback));
      return;
    }
  }
  callback(*this);  // ready already: here, on the caller's thread
}

void AsyncResult::check_valid() const {
  if (!state_)
    throw_error(errc::empty_result, "this AsyncResult holds no task (it was default-constructed or moved from)",
                "use one that a view's call returned");
}

const std::vector<std::string>& AsyncResult::msg_ids() const {
  check_valid();
  std::lock_guard lock(state_->mutex);
  if (state_->msg_id_list.size() != state_->msg_ids.size())
    state_->msg_id_list.assign(state_->msg_ids.begin(), state_->msg_ids.end());
  return state_->msg_id_list;
}

std::vector<int> AsyncResult::targets() const {
  check_valid();
  std::lock_guard lock(state_->mutex);
  return {state_->targets.begin(), state_->targets.end()};
}

std::size_t AsyncResult::size() const {
  check_valid();
  return state_->slots.size();
}

bool AsyncResult::ready() const {
  check_valid();
  std::lock_guard lock(state_->mutex);
  return state_->remaining == 0;
}

bool AsyncResult::wait(std::chrono::milliseconds timeout) const {
  check_valid();
  std::unique_lock lock(state_->mutex);
  return wait_ready(*state_, lock, timeout);
}

result_state AsyncResult::wait_for(std::chrono::milliseconds timeout) const {
  check_valid();
  std::unique_lock lock(state_->mutex);
  wait_ready(*state_, lock, timeout);
  return state_of(*state_);
}

result_state AsyncResult::status() const {
  check_valid();
  std::lock_guard lock(state_->mutex);
  return state_of(*state_);
}

result_state AsyncResult::status(std::size_t i) const {
  check_valid();
  std::lock_guard lock(state_->mutex);
  return slot_state(state_->slots.at(i));
}

bool AsyncResult::successful() const { return status() == result_state::succeeded; }

std::size_t AsyncResult::progress() const {
  check_valid();
  std::lock_guard lock(state_->mutex);
  return state_->slots.size() - state_->remaining;
}

std::chrono::duration<double> AsyncResult::elapsed() const {
  check_valid();
  std::lock_guard lock(state_->mutex);
  const auto end = state_->remaining == 0 ? state_->finished_at : SteadyClock::now();
  return end - state_->submitted_at;
}

Value AsyncResult::get(std::chrono::milliseconds timeout) const {
  check_valid();
  std::unique_lock lock(state_->mutex);
  if (!wait_ready(*state_, lock, timeout))
    throw_late(state_->slots.size() - state_->remaining, state_->slots.size(), timeout);
  if (state_->joined && !state_->slots.empty()) {
    // One answer for all targets (gather, reduce).
    auto& slot = state_->slots.front();
    if (slot.failed()) throw_slot_error(*state_, 0, -1);
    return slot_value(slot);
  }
  std::vector<RemoteError> errors;
  for (std::size_t i = 0; i < state_->slots.size(); ++i) {
    if (!state_->slots[i].failed()) continue;
    if (state_->single) throw_slot_error(*state_, i, state_->targets[i]);
    errors.push_back(to_remote_error(*state_, i, state_->targets[i]));
  }
  if (!errors.empty()) throw CompositeError(std::move(errors));
  if (state_->single && state_->slots.size() == 1) return slot_value(state_->slots.front());
  Value::List out;
  out.reserve(state_->slots.size());
  for (auto& slot : state_->slots) out.push_back(slot_value(slot));
  return Value(std::move(out));
}

std::map<int, Value> AsyncResult::get_dict(std::chrono::milliseconds timeout) const {
  const Value all = get(timeout);
  std::map<int, Value> out;
  std::lock_guard lock(state_->mutex);
  if (state_->joined) {  // one answer for all: every engine maps to it (shared, not copied)
    for (int t : state_->targets) out.insert_or_assign(t, all);
    return out;
  }
  for (std::size_t i = 0; i < state_->slots.size(); ++i)
    out.insert_or_assign(state_->targets[i], slot_value(state_->slots[i]));
  return out;
}

std::optional<RemoteError> AsyncResult::error(std::size_t i) const {
  check_valid();
  std::lock_guard lock(state_->mutex);
  const auto& slot = state_->slots.at(i);
  if (!slot.done || !slot.failed()) return std::nullopt;
  return to_remote_error(*state_, i, state_->targets[i]);
}

Value AsyncResult::value(std::size_t i, std::chrono::milliseconds timeout) const {
  check_valid();
  std::unique_lock lock(state_->mutex);
  auto& slot = state_->slots.at(i);
  const Deadline deadline = timeout < std::chrono::milliseconds::zero() ? Deadline::max() : deadline_after(timeout);
  if (!detail::wait_on(*state_, lock, deadline, [&] { return slot.done; })) throw_late(0, 1, timeout);
  if (slot.failed()) throw_slot_error(*state_, i, state_->targets[i]);
  return slot_value(slot);
}

ResultMetadata AsyncResult::metadata(std::size_t i) const {
  check_valid();
  std::lock_guard lock(state_->mutex);
  return state_->metadata(i);
}

}  // namespace crew
