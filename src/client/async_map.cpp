// crew::AsyncMap.
#include "crew/async_map.hpp"

#include "client/client_core.hpp"
#include "protocol/value_codec.hpp"
#include "values/sequence.hpp"

namespace crew {
namespace {

/// Chunks' results as one value: one array when they are arrays of one dtype, else a list.
Value join_chunks(const std::vector<Value>& parts) {
  if (parts.empty()) return Value(Value::List{});
  try {
    return seq::concat(parts);
  } catch (const Error&) {
    // Mixed results (ints in one chunk, doubles in another, or lists): a list of all items.
    Value::List all;
    for (const auto& p : parts) {
      const std::uint64_t n = seq::length(p, "map");
      for (std::uint64_t i = 0; i < n; ++i) all.push_back(seq::item(p, i));
    }
    return Value(std::move(all));
  }
}

}  // namespace

AsyncMap::AsyncMap(std::shared_ptr<detail::ResultState> state, std::vector<std::size_t> chunk_sizes, bool ordered)
    : result_(state), state_(std::move(state)),
      sizes_(std::make_shared<const std::vector<std::size_t>>(std::move(chunk_sizes))), ordered_(ordered) {
  for (const auto n : *sizes_) items_ += n;
}

std::size_t AsyncMap::progress() const {
  if (!state_) return 0;
  std::lock_guard lock(state_->mutex);
  std::size_t n = 0;
  for (const auto slot : state_->arrivals) n += (*sizes_)[slot];
  return n;
}

std::size_t AsyncMap::chunk_at(std::size_t position) const {
  if (ordered_) return position;
  std::unique_lock lock(state_->mutex);
  detail::wait_on(*state_, lock, Deadline::max(), [&] { return state_->arrivals.size() > position; });
  return state_->arrivals[position];
}

std::optional<std::size_t> AsyncMap::finished_chunk(std::size_t position, std::chrono::milliseconds timeout) const {
  if (!state_ || position >= chunks())
    throw_error(errc::bad_option, "finished_chunk: position " + std::to_string(position) + " of a map of " +
                                      std::to_string(chunks()) + " chunks");
  const Deadline deadline = timeout < std::chrono::milliseconds::zero() ? Deadline::max() : deadline_after(timeout);
  std::unique_lock lock(state_->mutex);
  const bool finished = detail::wait_on(*state_, lock, deadline, [&] {
    return ordered_ ? state_->slots[position].done : state_->arrivals.size() > position;
  });
  if (!finished) return std::nullopt;
  return ordered_ ? position : state_->arrivals[position];
}

void AsyncMap::wait_chunk(std::size_t k) const {
  std::unique_lock lock(state_->mutex);
  detail::wait_on(*state_, lock, Deadline::max(), [&] { return state_->slots[k].done; });
}

Value AsyncMap::get(std::chrono::milliseconds timeout) const {
  if (!state_) return Value(Value::List{});
  result_.get(timeout);  // waits; throws for failed chunks (CompositeError) or the timeout
  std::vector<Value> parts;
  parts.reserve(chunks());
  for (std::size_t k = 0; k < chunks(); ++k) parts.push_back(result_.value(chunk_at(k)));
  return join_chunks(parts);
}

AsyncMap::iterator::iterator(const AsyncMap* map, std::size_t chunk) : map_(map), chunk_(chunk) {
  if (map_ != nullptr && chunk_ < map_->chunks()) load();
}

void AsyncMap::iterator::load() {
  const std::size_t k = map_->chunk_at(chunk_);
  map_->wait_chunk(k);
  chunk_values_ = map_->result_.value(k);
  current_ = seq::item(chunk_values_, 0);
}

AsyncMap::iterator& AsyncMap::iterator::operator++() {
  const std::size_t k = map_->ordered_ ? chunk_ : map_->chunk_at(chunk_);
  if (++item_ < (*map_->sizes_)[k]) {
    current_ = seq::item(chunk_values_, item_);
    return *this;
  }
  item_ = 0;
  ++chunk_;
  if (chunk_ < map_->chunks())
    load();
  else
    chunk_values_ = current_ = Value();
  return *this;
}

}  // namespace crew
