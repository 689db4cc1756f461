#pragma once
// The answers a client is still owed: for its own tasks, found by the sequence number in their
// msg id (no string hashing on the hot path), and for other clients' tasks it asked about
// (get_result), found by msg id.

#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace crew::detail {

struct ResultState;

struct Pending {
  std::shared_ptr<ResultState> state;
  std::size_t slot = 0;
};

class PendingTable {
public:
  /// `prefix`: what this client's msg ids start with ("<session>-").
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }
  const std::string& prefix() const noexcept { return prefix_; }

  void reserve(std::size_t n) { own_.reserve(n); }
  void add(std::uint64_t seq, Pending p) { own_.emplace(seq, std::move(p)); }
  void watch(const std::string& msg_id, Pending p) { watched_.emplace(msg_id, std::move(p)); }

  /// Moves every Pending waiting for `msg_id` to `out` (appending) and forgets them.
  void take(std::string_view msg_id, std::vector<Pending>& out) {
    if (msg_id.size() > prefix_.size() && msg_id.compare(0, prefix_.size(), prefix_) == 0) {
      std::uint64_t seq = 0;
      const char* first = msg_id.data() + prefix_.size();
      const char* last = msg_id.data() + msg_id.size();
      if (auto [end, ec] = std::from_chars(first, last, seq); ec == std::errc() && end == last) {
        if (auto node = own_.extract(seq); !node.empty()) out.push_back(std::move(node.mapped()));
      }
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
    for (auto& [seq, p] : own_) out.push_back(std::move(p));
    for (auto& [id, p] : watched_) out.push_back(std::move(p));
    own_.clear();
    watched_.clear();
    return out;
  }

  std::size_t size() const noexcept { return own_.size() + watched_.size(); }
  bool empty() const noexcept { return own_.empty() && watched_.empty(); }

private:
  std::string prefix_;
  std::unordered_map<std::uint64_t, Pending> own_;
  std::unordered_multimap<std::string, Pending> watched_;
};

}  // namespace crew::detail
