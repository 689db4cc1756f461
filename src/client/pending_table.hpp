#pragma once
// The answers a client is still owed: for its own tasks, found by the sequence number in their
// msg id (no string hashing on the hot path), and for other clients' tasks it asked about
// (get_result), found by msg id.
//
// A client numbers its tasks in order and most answers come back roughly in order, so its own
// tasks sit in a window indexed by sequence number (no heap block per task). A task that stays
// unanswered while the window runs on past `window_limit` later ones moves to a map, so one long
// task does not hold the window open.

#include <charconv>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/container/small_vector.hpp>

namespace crew::detail {

struct ResultState;

struct Pending {
  std::shared_ptr<ResultState> state;
  std::size_t slot = 0;
};
/// Who waits for one answer: its call, and a get_result now and then.
using Hearers = boost::container::small_vector<Pending, 2>;

class PendingTable {
public:
  /// `prefix`: what this client's msg ids start with ("<session>-").
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }
  const std::string& prefix() const noexcept { return prefix_; }

  void add(std::uint64_t seq, Pending p) {
    if (window_.empty()) base_ = seq;
    if (seq < base_) {  // another thread's earlier numbers, added after later ones
      window_.insert(window_.begin(), base_ - seq, Pending{});
      base_ = seq;
    }
    const auto at = static_cast<std::size_t>(seq - base_);
    if (at >= window_.size()) window_.resize(at + 1);
    window_[at] = std::move(p);
    ++in_window_;
    while (window_.size() > window_limit) {  // a straggler: to the map
      if (window_.front().state) {
        overflow_.emplace(base_, std::move(window_.front()));
        --in_window_;
      }
      window_.pop_front();
      ++base_;
    }
  }
  void watch(const std::string& msg_id, Pending p) { watched_.emplace(msg_id, std::move(p)); }

  /// Moves every Pending waiting for `msg_id` to `out` (appending) and forgets them.
  void take(std::string_view msg_id, Hearers& out) {
    if (msg_id.size() > prefix_.size() && msg_id.compare(0, prefix_.size(), prefix_) == 0) {
      std::uint64_t seq = 0;
      const char* first = msg_id.data() + prefix_.size();
      const char* last = msg_id.data() + msg_id.size();
      if (auto [end, ec] = std::from_chars(first, last, seq); ec == std::errc() && end == last) take_own(seq, out);
    }
    if (watched_.empty()) return;
    auto [a, b] = watched_.equal_range(std::string(msg_id));
    for (auto it = a; it != b; ++it) out.push_back(std::move(it->second));
    watched_.erase(a, b);
  }

  /// Forgets the watches of `state` (a get_result that failed before it began).
  void forget(const std::shared_ptr<ResultState>& state) {
    for (auto it = watched_.begin(); it != watched_.end();)
      it = it->second.state == state ? watched_.erase(it) : std::next(it);
  }

  /// Every Pending, taken out (the client is closing).
  std::vector<Pending> take_all() {
    std::vector<Pending> out;
    for (auto& p : window_)
      if (p.state) out.push_back(std::move(p));
    for (auto& [seq, p] : overflow_) out.push_back(std::move(p));
    for (auto& [id, p] : watched_) out.push_back(std::move(p));
    window_.clear();
    in_window_ = 0;
    overflow_.clear();
    watched_.clear();
    return out;
  }

  /// The numbers of this client's own tasks still unanswered, appended to `out`.
  void own_pending(std::vector<std::uint64_t>& out) const {
    for (std::size_t i = 0; i < window_.size(); ++i)
      if (window_[i].state) out.push_back(base_ + i);
    for (const auto& [seq, p] : overflow_) out.push_back(seq);
  }
  /// Who waits for this client's own task number `seq` (no state if nobody).
  Pending find_own(std::uint64_t seq) const {
    if (seq >= base_ && seq - base_ < window_.size()) return window_[static_cast<std::size_t>(seq - base_)];
    const auto it = overflow_.find(seq);
    return it == overflow_.end() ? Pending{} : it->second;
  }

  /// Other clients' tasks it waits for (get_result), each once, appended to `out`.
  void watched_ids(std::vector<std::string>& out) const {
    for (auto it = watched_.begin(); it != watched_.end(); it = watched_.equal_range(it->first).second)
      out.push_back(it->first);
  }

  std::size_t size() const noexcept { return in_window_ + overflow_.size() + watched_.size(); }
  bool empty() const noexcept { return size() == 0; }

private:
  static constexpr std::size_t window_limit = std::size_t{1} << 18;  // 6 MiB of Pending at most

  void take_own(std::uint64_t seq, Hearers& out) {
    if (seq >= base_ && seq - base_ < window_.size()) {
      Pending& p = window_[static_cast<std::size_t>(seq - base_)];
      if (!p.state) return;
      out.push_back(std::move(p));
      p = Pending{};
      --in_window_;
      while (!window_.empty() && !window_.front().state) {
        window_.pop_front();
        ++base_;
      }
      return;
    }
    if (auto node = overflow_.extract(seq); !node.empty()) out.push_back(std::move(node.mapped()));
  }

  std::string prefix_;
  std::deque<Pending> window_;  ///< window_[i] awaits the answer to task number base_ + i (or is empty)
  std::uint64_t base_ = 0;
  std::size_t in_window_ = 0;
  std::unordered_map<std::uint64_t, Pending> overflow_;
  std::unordered_multimap<std::string, Pending> watched_;
};

}  // namespace crew::detail
