#pragma once
// crew::AsyncMap: the handle of a map, one task per chunk of items.
//
//   auto m = lb.map("f", crew::range(1000));
//   for (const crew::Value& y : m) use(y);       // as results arrive (in item order)
//   crew::Value all = m.get();                    // every result, joined (an array when they are numbers)
//   m.result().metadata(3).engine_id;             // where chunk 3 ran

#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crew/async_result.hpp"
#include "crew/export.hpp"
#include "crew/value.hpp"

namespace crew {

class CREW_API AsyncMap {
public:
  /// An empty handle; maps return real ones.
  AsyncMap() = default;

  /// The chunks as tasks: their msg ids, errors and metadata, one per chunk.
  const AsyncResult& result() const noexcept { return result_; }
  const std::vector<std::string>& msg_ids() const { return result_.msg_ids(); }
  /// Items mapped.
  std::size_t size() const noexcept { return items_; }
  std::size_t chunks() const noexcept { return sizes_ ? sizes_->size() : 0; }
  /// Items in chunk `i` (in submission order).
  std::size_t chunk_size(std::size_t i) const { return sizes_->at(i); }
  bool ordered() const noexcept { return ordered_; }

  bool ready() const { return result_.ready(); }
  bool wait(std::chrono::milliseconds timeout = forever) const { return result_.wait(timeout); }
  bool successful() const { return result_.successful(); }
  result_state status() const { return result_.status(); }
  result_state wait_for(std::chrono::milliseconds timeout) const { return result_.wait_for(timeout); }
  /// Items whose results have arrived.
  std::size_t progress() const;
  std::chrono::duration<double> elapsed() const { return result_.elapsed(); }

  /// Waits, then every item's result joined: in item order, or (unordered) chunk by chunk as
  /// they finished. An array when the function returns numbers, else a list. Throws like
  /// AsyncResult::get (a CompositeError names each failed chunk and its engine).
  Value get(std::chrono::milliseconds timeout = forever) const;
  template <class T>
  T get_as(std::chrono::milliseconds timeout = forever) const {
    return from_value<T>(get(timeout));
  }

  /// The chunk read `position`-th (item order: chunk `position`; unordered: the `position`-th to
  /// finish), once it has finished; nullopt if `timeout` passes first. For readers that wait in
  /// slices (a Python client that must see Ctrl-C): result().value(*chunk) is then ready.
  std::optional<std::size_t> finished_chunk(std::size_t position, std::chrono::milliseconds timeout) const;

  /// Items one at a time, each waited for as it is reached (a failed chunk throws there).
  class CREW_API iterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Value;
    using difference_type = std::ptrdiff_t;
    using pointer = const Value*;
    using reference = const Value&;

    iterator() = default;
    reference operator*() const { return current_; }
    pointer operator->() const { return &current_; }
    iterator& operator++();
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.chunk_ == b.chunk_ && a.item_ == b.item_;
    }

  private:
    friend class AsyncMap;
    iterator(const AsyncMap* map, std::size_t chunk);
    void load();
    const AsyncMap* map_ = nullptr;
    std::size_t chunk_ = 0;  ///< position in the order results are read
    std::size_t item_ = 0;
    Value chunk_values_;
    Value current_;
  };
  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(nullptr, chunks()); }

private:
  friend class DirectView;
  friend class LoadBalancedView;
  AsyncMap(std::shared_ptr<detail::ResultState> state, std::vector<std::size_t> chunk_sizes, bool ordered);

  /// The chunk read `position`-th: chunk `position` if ordered, else the `position`-th to finish
  /// (waits until it has).
  std::size_t chunk_at(std::size_t position) const;
  void wait_chunk(std::size_t chunk) const;

  AsyncResult result_;
  std::shared_ptr<detail::ResultState> state_;
  std::shared_ptr<const std::vector<std::size_t>> sizes_;
  std::size_t items_ = 0;
  bool ordered_ = true;
};

}  // namespace crew
