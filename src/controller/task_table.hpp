#pragma once
// The hub's task records: who asked, which engine has it, and the reply once it came (kept,
// ready to resend, until purged). Replies' bytes are kept up to a budget: beyond it the oldest
// delivered replies give their data back (their records stay), so a stream of large results does
// not pile up in the controller. A purged record is forgotten: no id finds it, history skips it,
// and its reply's bytes go; its slot (about 100 bytes) stays, since the controller's queues may
// still point at it until they next look.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "controller/balanced_task.hpp"
#include "controller/msg_ids.hpp"
#include "controller/peer_table.hpp"
#include "crew/buffer.hpp"

namespace crew::controller {

/// What few records need (collectives, fetches by other clients, replies that came alone): kept
/// apart so that the common record stays small. Every record stays in memory, and on many
/// machines each new page costs more than the work of a task.
struct TaskExtras {
  std::string collective;        ///< key of its CollectiveRecord (gather, reduce, save_h5)
  std::vector<PeerId> watchers;  ///< other clients that asked for its reply (get_result)
  Buffer signature;              ///< the reply's, if it arrived alone (not in a batch)
};

struct TaskRecord {
  const std::string* msg_id = nullptr;  ///< its key in the table
  PeerId client = 0;                    ///< the submitting client
  int engine_id = -1;
  bool done = false;
  bool failed = false;
  bool evicted = false;        ///< the reply was delivered and its data dropped to stay in budget
  bool streamed = false;       ///< (evicted) its result streamed through to the client, never kept
  bool balanced = false;       ///< load-balanced: the controller chose (chooses) its engine
  bool purged = false;         ///< forgotten (TaskTable::purge): found by no id, listed by no history
  std::uint32_t function = 0;  ///< what it runs: TaskTable::function_name
  std::uint64_t seq = 0;       ///< the order the controller took it in (its row in the task database)
  std::int64_t submitted_us = 0;
  std::int64_t dispatched_ns = 0;                     ///< steady clock, when it went to its engine (0: not yet)
  std::uint64_t kept_bytes = 0;                       ///< bytes of the reply held here (0 once evicted)
  std::unique_ptr<BalancedTask> lb;                   ///< a balanced task's state, until it is done
  std::unique_ptr<TaskExtras> extras;                 ///< see TaskExtras; null for most records
  Buffer header_bytes;                                ///< the reply as it goes on the wire: header,
  boost::container::small_vector<Buffer, 1> payload;  ///< and body frames (most have one)

  const std::string& collective() const noexcept { return extras ? extras->collective : no_text(); }
  std::span<const PeerId> watchers() const noexcept {
    return extras ? std::span<const PeerId>(extras->watchers) : std::span<const PeerId>();
  }
  const Buffer& signature() const noexcept { return extras ? extras->signature : no_buffer(); }
  std::span<const Buffer> body() const noexcept { return {payload.data(), payload.size()}; }
  /// The extras, made on first use.
  TaskExtras& extra() {
    if (!extras) extras = std::make_unique<TaskExtras>();
    return *extras;
  }
  /// Keeps a reply: its signature (empty for a batch member), header and body frames.
  void set_reply(Buffer signature, Buffer header, std::span<const Buffer> body) {
    if (!signature.empty() || extras) extra().signature = std::move(signature);
    header_bytes = std::move(header);
    payload.assign(body.begin(), body.end());
  }

private:
  static const std::string& no_text() noexcept {
    static const std::string none;
    return none;
  }
  static const Buffer& no_buffer() noexcept {
    static const Buffer none;
    return none;
  }
};

struct TaskCounts {
  std::uint64_t submitted = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
};

/// The records by msg id. Records never move once added: they live in fixed chunks, and the rest
/// of the controller refers to them by pointer (engines' in-flight queues, the balancer's queue,
/// dependency lists). The ids crew clients make, "<session>-<n>" (the controller's base-36
/// number for the client, then the client's counter), are found by number, without hashing a
/// string: one vector of records per session, indexed by n. Any other id (or one far ahead of
/// its session's numbers) goes to a hash map.
class TaskTable {
public:
  bool contains(const std::string& msg_id) const { return find(msg_id) != nullptr; }
  /// A new record for `msg_id`; nullptr (and nothing added) if the id is taken.
  TaskRecord* add(const std::string& msg_id, TaskRecord record) {
    const auto key = numbered(msg_id);
    if (key ? find_numbered(*key) != nullptr || (!by_name_.empty() && by_name_.contains(msg_id))
            : by_name_.contains(msg_id))
      return nullptr;
    Entry& e = next_entry();
    e.id = msg_id;
    e.record = std::move(record);
    e.record.msg_id = &e.id;
    e.record.seq = first_seq_ + counts_.submitted;
    if (key && dense(*key)) {
      auto& numbers = by_session_[key->session];
      if (numbers.size() <= key->n) numbers.resize(key->n + 1, nullptr);
      numbers[key->n] = &e.record;
    } else {
      by_name_.emplace(msg_id, &e.record);
    }
    ++counts_.submitted;
    return &e.record;
  }
  TaskRecord* find(const std::string& msg_id) const {
    if (const auto key = numbered(msg_id))
      if (TaskRecord* t = find_numbered(*key)) return t;
    if (by_name_.empty()) return nullptr;
    auto it = by_name_.find(msg_id);
    return it == by_name_.end() ? nullptr : it->second;
  }
  void mark_done(TaskRecord& t, bool failed) {
    t.done = true;
    t.failed = failed;
    ++(failed ? counts_.failed : counts_.completed);
    t.kept_bytes = t.header_bytes.size() + t.signature().size();
    for (const auto& b : t.payload) t.kept_bytes += b.size();
    kept_bytes_ += t.kept_bytes;
    kept_.push_back(&t);
    evict(&t);  // never the reply just stored: it has yet to be sent
  }
  /// Drops the data of the oldest kept replies until the total is within budget (sparing one).
  void evict(const TaskRecord* spare = nullptr) {
    while (!kept_.empty() && (kept_.front()->purged || (kept_bytes_ > budget_ && kept_.front() != spare))) {
      TaskRecord* t = kept_.front();
      kept_.pop_front();
      if (t->purged) continue;  // its bytes were counted off when it was purged
      kept_bytes_ -= t->kept_bytes;
      t->kept_bytes = 0;
      t->evicted = true;
      t->payload.clear();
      t->payload.shrink_to_fit();
    }
  }
  /// Forgets a finished record: no id finds it any more and its reply's bytes go (returned).
  std::uint64_t purge(TaskRecord& t) {
    const std::uint64_t freed = t.kept_bytes;
    if (const auto key = numbered(*t.msg_id); key && find_numbered(*key) == &t)
      by_session_[key->session][key->n] = nullptr;
    else
      by_name_.erase(*t.msg_id);
    kept_bytes_ -= t.kept_bytes;  // (kept_ drops it when evict next reaches it)
    t.kept_bytes = 0;
    t.purged = true;
    t.header_bytes = Buffer();
    t.payload.clear();
    t.payload.shrink_to_fit();
    t.extras.reset();
    ++purged_;
    return freed;
  }
  /// Every record not purged, in the order added.
  template <class F>
  void for_each(F&& f) {
    for (std::size_t c = 0; c < chunks_.size(); ++c) {
      const std::size_t n = c + 1 == chunks_.size() ? used_in_last_ : chunk_entries;
      for (std::size_t i = 0; i < n; ++i)
        if (!chunks_[c][i].record.purged) f(chunks_[c][i].record);
    }
  }
  /// The number for a function's name in records (names are few: each is kept once).
  std::uint32_t function_id(std::string_view name) {
    if (name.empty()) return 0;
    if (auto it = function_ids_.find(name); it != function_ids_.end()) return it->second;  // no string made
    function_names_.emplace_back(name);
    return function_ids_.emplace(function_names_.back(), function_names_.size() - 1).first->second;
  }
  const std::string& function_name(const TaskRecord& t) const { return function_names_.at(t.function); }

  void set_budget(std::uint64_t bytes) noexcept { budget_ = bytes; }
  /// The seq of the first record (a task database's earlier runs hold those below).
  void set_first_seq(std::uint64_t seq) noexcept { first_seq_ = seq; }
  std::uint64_t first_seq() const noexcept { return first_seq_; }
  std::uint64_t kept_bytes() const noexcept { return kept_bytes_; }
  /// Records held (not purged).
  std::size_t size() const noexcept { return counts_.submitted - purged_; }
  std::uint64_t purged() const noexcept { return purged_; }
  const TaskCounts& counts() const noexcept { return counts_; }

private:
  struct Entry {
    std::string id;
    TaskRecord record;
  };
  struct Number {
    std::size_t session = 0;
    std::size_t n = 0;
  };
  static constexpr std::size_t chunk_entries = 1024;
  /// How far past a session's highest number (or past the sessions seen) an id may be and still
  /// be indexed by number: beyond, a stray id would make the vectors huge.
  static constexpr std::size_t max_gap = std::size_t{1} << 20;

  static std::optional<Number> numbered(std::string_view id) {
    const auto k = numbered_id(id);
    if (!k) return std::nullopt;
    return Number{static_cast<std::size_t>(k->session), static_cast<std::size_t>(k->n)};
  }
  TaskRecord* find_numbered(const Number& k) const {
    if (k.session >= by_session_.size()) return nullptr;
    const auto& numbers = by_session_[k.session];
    return k.n < numbers.size() ? numbers[k.n] : nullptr;
  }
  /// May `k` be indexed by number? (Grows the session list if so.)
  bool dense(const Number& k) {
    if (k.session >= by_session_.size() + max_gap) return false;
    if (k.session >= by_session_.size()) by_session_.resize(k.session + 1);
    return k.n < by_session_[k.session].size() + max_gap;
  }
  Entry& next_entry() {
    if (used_in_last_ == chunk_entries || chunks_.empty()) {
      chunks_.push_back(std::make_unique<Entry[]>(chunk_entries));
      used_in_last_ = 0;
    }
    return chunks_.back()[used_in_last_++];
  }

  std::vector<std::unique_ptr<Entry[]>> chunks_;  ///< every record, in the order added
  std::size_t used_in_last_ = 0;
  std::vector<std::vector<TaskRecord*>> by_session_;
  std::unordered_map<std::string, TaskRecord*> by_name_;
  TaskCounts counts_;
  std::uint64_t purged_ = 0;
  std::uint64_t first_seq_ = 1;
  std::deque<TaskRecord*> kept_;  ///< records holding reply data, oldest first (and purged ones, until evict)
  std::deque<std::string> function_names_{""};  ///< by TaskRecord::function (0: unnamed)
  struct NameHash {                             // finds a std::string key by a string_view
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::uint32_t, NameHash, std::equal_to<>> function_ids_;
  std::uint64_t kept_bytes_ = 0;
  std::uint64_t budget_ = std::uint64_t{64} << 20;
};

}  // namespace crew::controller
