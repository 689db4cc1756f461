// Whether this client's engines can copy straight from and into its memory (engine/peer_memory.hpp):
// asked of each engine once, by letting it read a random token here (crew.can_copy). Engines on
// another host, or not allowed to read this process (another user, ptrace limits, a seccomp
// filter), say no, and large arrays then stream through the controller instead.
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <random>

#include "client/client_core.hpp"
#include "common/clock.hpp"
#include "common/env.hpp"
#include "protocol/stream.hpp"

namespace crew::detail {

namespace {
bool single_copies_enabled() {
  static const bool enabled = env_integer("CREW_SINGLE_COPY", 0, 1, 1) != 0;
  return enabled;
}
}  // namespace

void ClientCore::take_copy_answers() {
  if (!copy_probe_ || !copy_probe_->ready()) return;
  for (std::size_t i = 0; i < copy_probe_targets_.size(); ++i) {
    bool yes = false;
    if (!copy_probe_->error(i)) {
      const Value v = copy_probe_->value(i);
      yes = v.is_bool() && v.as_bool();
    }
    can_copy_[copy_probe_targets_[i]] = yes;
  }
  copy_probe_.reset();
  copy_probe_targets_.clear();
}

Value::List ClientCore::copy_token_args() {
  if (copy_token_.empty()) {
    std::random_device rd;
    std::uniform_int_distribution<int> hex(0, 15);
    for (int i = 0; i < 32; ++i) copy_token_ += "0123456789abcdef"[hex(rd)];
  }
  return {static_cast<std::int64_t>(::getpid()),
          static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(copy_token_.data())), copy_token_};
}

Value::List ClientCore::with_copy_token(Value::List args) {
  std::lock_guard lock(copy_mutex_);
  for (auto& a : copy_token_args()) args.push_back(std::move(a));
  return args;
}

bool ClientCore::engines_may_copy(const std::vector<int>& targets) {
  if (!single_copies_enabled() || targets.empty()) return false;
  std::lock_guard lock(copy_mutex_);
  take_copy_answers();
  for (int t : targets)
    if (auto it = can_copy_.find(t); it != can_copy_.end() && !it->second) return false;
  return true;
}

bool ClientCore::engines_can_copy(const std::vector<int>& targets) {
  if (!single_copies_enabled() || targets.empty()) return false;
  std::lock_guard lock(copy_mutex_);
  const auto unknown = [&] {
    take_copy_answers();
    std::vector<int> out;
    for (int t : targets)
      if (!can_copy_.contains(t)) out.push_back(t);
    return out;
  };
  if (const auto ask = unknown(); !ask.empty() && !copy_probe_) {
    copy_probe_ = AsyncResult(submit("crew.can_copy", copy_token_args(), ask, false));
    copy_probe_targets_ = ask;
  }
  // A busy engine answers late: this transfer then streams, and a later one uses the answer.
  if (copy_probe_) (void)copy_probe_->wait(std::min(timeout_, std::chrono::milliseconds(1000)));
  if (!unknown().empty()) return false;
  for (int t : targets)
    if (!can_copy_.at(t)) return false;
  return true;
}

}  // namespace crew::detail

namespace crew::detail {
namespace {

/// Room for what a gather (`joined`: alike arrays, their rows joined) or a reduce (arrays of one
/// dtype and shape) of the arrays `shapes` describe makes, and each target's rows; nullopt for
/// anything else (the usual call then says what is wrong), or for a small array.
std::optional<Array> room_for(const std::shared_ptr<ResultState>& shapes, bool joined, Value::List& rows) {
  const AsyncResult answers = ClientCore::result_of(shapes);
  std::vector<std::uint64_t> shape;
  std::int64_t type = -1;
  for (std::size_t i = 0; i < shapes->slots.size(); ++i) {
    if (answers.error(i)) return std::nullopt;
    const Value s = answers.value(i);
    if (!s.is_dict() || !s.contains("shape") || !s["can_copy"].as_bool()) return std::nullopt;
    auto dims = s["shape"].get<std::vector<std::uint64_t>>();
    if (dims.empty()) return std::nullopt;
    if (i == 0) {
      type = s["dtype"].as_int();
      shape = dims;
      if (joined) shape[0] = 0;
    } else if (s["dtype"].as_int() != type || !std::equal(dims.begin() + (joined ? 1 : 0), dims.end(),
                                                          shape.begin() + (joined ? 1 : 0), shape.end())) {
      return std::nullopt;
    }
    if (joined) shape[0] += dims[0];
    rows.emplace_back(static_cast<std::int64_t>(dims[0]));
  }
  if (type < 0 || !dtype_valid(static_cast<std::uint8_t>(type))) return std::nullopt;
  std::uint64_t bytes = dtype_size(static_cast<dtype>(type));
  for (auto d : shape) bytes *= d;
  if (bytes <= wire::stream_chunk_bytes()) return std::nullopt;
  std::shared_ptr<std::byte[]> owner;
  try {
    owner = std::make_shared_for_overwrite<std::byte[]>(static_cast<std::size_t>(bytes));
  } catch (const std::bad_alloc&) {
    return std::nullopt;  // the usual call says so, as a failed result
  }
  std::byte* data = owner.get();
  return Array(static_cast<dtype>(type), std::move(shape), Buffer::view(std::move(owner), data, bytes));
}

/// The answer `state` gets when its request cannot go: why.
wire::Packet failure_for(const ResultState& state, const std::string& function, errc code, std::string message) {
  wire::Packet failed;
  failed.header.kind = wire::MsgKind::apply_reply;
  failed.header.function = function;
  failed.header.msg_ids.assign(state.msg_ids.begin(), state.msg_ids.end());
  failed.header.error = {code, "crew." + std::string(errc_name(code)), std::move(message), function};
  return failed;
}

}  // namespace

std::shared_ptr<ResultState> ClientCore::collect_by_copy(wire::Collective what, const std::string& name,
                                                         const std::vector<int>& targets, const std::string& op) {
  auto call = new_state(targets.size(), wire::collective_function(what), now_us());
  call->targets.assign(targets.begin(), targets.end());
  call->joined = true;
  auto shapes = new_state(targets.size(), "crew.shape_of", now_us());
  shapes->targets.assign(targets.begin(), targets.end());
  wire::Outgoing ask = request_for(*shapes, "crew.shape_of", with_copy_token({Value(name)}), nullptr);
  shapes->then = [this, call, what, name, op](const std::shared_ptr<ResultState>& s) {
    collect_into_room(s, call, what, name, op);
  };
  {
    std::lock_guard lock(pending_mutex_);  // the call is awaited from now on (wait_all counts it)
    for (std::size_t i = 0; i < targets.size(); ++i) pending_.add(call->first_seq + i, Pending{call, i});
    for (std::size_t i = 0; i < targets.size(); ++i) pending_.add(shapes->first_seq + i, Pending{shapes, i});
  }
  send(std::move(ask));
  return call;
}

void ClientCore::collect_into_room(const std::shared_ptr<ResultState>& shapes, const std::shared_ptr<ResultState>& call,
                                   wire::Collective what, const std::string& name, const std::string& op) {
  const std::string function(wire::collective_function(what));
  // An engine that died or went away meanwhile fails the call as it would have failed it.
  const AsyncResult answers = ClientCore::result_of(shapes);
  for (std::size_t i = 0; i < shapes->slots.size(); ++i) {
    const auto e = answers.error(i);
    if (!e || (e->code() != errc::engine_died && e->code() != errc::engine_dead && e->code() != errc::aborted))
      continue;
    on_result(failure_for(*call, function, e->code(),
                          "engine " + std::to_string(shapes->targets[i]) + ": " + e->remote_message()));
    return;
  }
  // Whether each engine can copy came with its shape: kept for the calls after this one.
  {
    std::lock_guard lock(copy_mutex_);
    for (std::size_t i = 0; i < shapes->slots.size(); ++i)
      if (!answers.error(i))
        if (const Value s = answers.value(i); s.is_dict() && s.contains("can_copy"))
          can_copy_[shapes->targets[i]] = s["can_copy"].as_bool();
  }
  const bool gather = what == wire::Collective::gather;
  Value::List rows;
  const std::optional<Array> room = room_for(shapes, gather, rows);
  Value::List args;
  args.reserve(2);
  args.emplace_back(name);
  if (gather && room) args.emplace_back(std::move(rows));
  if (!gather) args.emplace_back(op);
  try {
    const Bulk bulk{nullptr, room ? &*room : nullptr, wire::Transfer::single_copy};
    send(request_for(*call, function, std::move(args), room ? &bulk : nullptr));
  } catch (const Error& e) {  // cannot be sent: the call fails with why
    on_result(failure_for(*call, function, e.code(), e.message()));
  }
}

namespace {

/// `from`'s one answer as answer `i` of `to` (a pull whose array was gathered by copy).
void hand_over(const ResultState& from, const std::shared_ptr<ResultState>& into, std::size_t i) {
  ResultState& to = *into;
  std::vector<std::function<void(const AsyncResult&)>> continuations;
  ResultSlot got;
  {
    std::lock_guard lock(from.mutex);
    const ResultSlot& f = from.slots.front();
    got.payload = f.payload;
    if (f.value) got.value = std::make_unique<Value>(*f.value);
    if (f.extras) got.extras = std::make_unique<SlotExtras>(*f.extras);
    got.started_us = f.started_us;
    got.completed_us = f.completed_us;
    got.received_us = f.received_us;
  }
  {
    std::lock_guard lock(to.mutex);
    ResultSlot& slot = to.slots[i];
    if (slot.done) return;
    got.submitted_us = slot.submitted_us;
    got.done = true;
    slot = std::move(got);
    to.arrivals.push_back(i);
    if (--to.remaining == 0) {
      to.finished_at = SteadyClock::now();
      continuations = std::move(to.continuations);
    }
  }
  to.cv.notify_all();
  ClientCore::run_continuations(into, std::move(continuations));
}

}  // namespace

std::shared_ptr<ResultState> ClientCore::pull_by_copy(const std::string& name, const std::vector<int>& targets,
                                                      bool single) {
  auto state = new_state(targets.size(), "pull", now_us());
  state->targets.assign(targets.begin(), targets.end());
  state->single = single;
  // An engine whose array is too large to answer inline says so; it then writes the array here.
  state->intercept = [this, name](const std::shared_ptr<ResultState>& s, std::size_t slot, const wire::Packet& p) {
    if (p.header.error.code != errc::copy_instead) return false;
    auto copied = collect_by_copy(wire::Collective::gather, name, {s->targets[slot]});
    // (set before its answer can come: that needs this thread, the I/O thread, to go on)
    copied->then = [s, slot](const std::shared_ptr<ResultState>& done) { hand_over(*done, s, slot); };
    return true;
  };
  wire::Outgoing m = request_for(*state, "crew.pull_inline",
                                 {Value(name), static_cast<std::int64_t>(wire::stream_chunk_bytes())}, nullptr);
  {
    std::lock_guard lock(pending_mutex_);
    for (std::size_t i = 0; i < targets.size(); ++i) pending_.add(state->first_seq + i, Pending{state, i});
  }
  send(std::move(m));
  return state;
}

}  // namespace crew::detail
