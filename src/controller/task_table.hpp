#pragma once
// The hub's task records: who asked, which engine has it, and the reply once it came (kept,
// ready to resend). Two bounds keep the controller's memory in check however long it runs:
// replies' bytes are kept up to a budget (beyond it the oldest delivered replies give their data
// back, their records stay), and finished records up to a number (beyond it the oldest are
// retired: forgotten here, and read back from the task database if there is one). A forgotten
// record (purged or retired) is found by no id and walked by no history; its slot is used again
// once the controller's queues no longer point at it (TaskTable::retire).

#include <algorithm>
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
#include <boost/intrusive/list.hpp>

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
  bool forgotten = false;      ///< purged or retired: found by no id, listed by no history
  std::uint8_t queued = 0;     ///< entries in the balancer's queue and deadlines that point at it
  std::uint32_t function = 0;  ///< what it runs: TaskTable::function_name
  std::uint64_t seq = 0;       ///< the order the controller took it in (its row in the task database)
  std::int64_t submitted_us = 0;
  std::int64_t dispatched_ns = 0;                     ///< steady clock, when it went to its engine (0: not yet)
  std::uint64_t kept_bytes = 0;                       ///< bytes of the reply held here (0 once evicted)
  std::unique_ptr<BalancedTask> lb;                   ///< a balanced task's state, until it is done
  std::unique_ptr<TaskExtras> extras;                 ///< see TaskExtras; null for most records
  Buffer header_bytes;                                ///< the reply as it goes on the wire: header,
  boost::container::small_vector<Buffer, 1> payload;  ///< and body frames (most have one)
  boost::intrusive::list_member_hook<> kept_hook;     ///< in TaskTable's replies kept, oldest first

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
/// dependency lists); a forgotten record's slot takes a new one only once nothing points at it.
/// The ids crew clients make, "<session>-<n>" (the controller's base-36 number for the client,
/// then the client's counter), are found by number, without hashing a string: one vector of
/// records per session, indexed by n from the first number still held. Any other id (or one far
/// ahead of its session's numbers, or behind them) goes to a hash map.
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
    by_age_.push_back(&e);
    if (key && dense(*key)) {
      Numbers& numbers = by_session_[key->session];
      const std::size_t at = key->n - numbers.first;
      if (numbers.records.size() <= at) numbers.records.resize(at + 1, nullptr);
      numbers.records[at] = &e.record;
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
    kept_.push_back(t);
    evict(&t);  // never the reply just stored: it has yet to be sent
  }
  /// Drops the data of the oldest kept replies until the total is within budget (sparing one).
  void evict(const TaskRecord* spare = nullptr) {
    while (!kept_.empty() && kept_bytes_ > budget_ && &kept_.front() != spare) {
      TaskRecord& t = kept_.front();
      kept_.pop_front();
      kept_bytes_ -= t.kept_bytes;
      t.kept_bytes = 0;
      t.evicted = true;
      t.payload.clear();
      t.payload.shrink_to_fit();
    }
  }
  /// Forgets a finished record (a client asked): no id finds it any more and its reply's bytes go
  /// (returned).
  std::uint64_t purge(TaskRecord& t) {
    ++purged_;
    return forget(t);
  }
  /// Retires the oldest finished records until `keep` finished ones are held (forgets them, as
  /// purge does), and gives the slots of forgotten ones to new records; but a record that
  /// something outside points at (its `queued` count, or `pinned(record)`) stays as it is. The
  /// work is in proportion to the records that go (and to the few left behind, oldest of all).
  /// Returns how many were retired.
  template <class Pinned>
  std::uint64_t retire(std::uint64_t keep, Pinned&& pinned) {
    const std::uint64_t before = retired_;
    const auto take = [&](Entry* e) {  // true: its slot is free now
      TaskRecord& t = e->record;
      if (t.queued > 0 || pinned(t)) return false;
      if (!t.forgotten) {
        if (!t.done || finished_held() <= keep) return false;
        forget(t);
        ++retired_;
        retired_below_ = std::max(retired_below_, t.seq + 1);
      }
      e->id = std::string();
      e->record = TaskRecord();
      free_.push_back(e);
      return true;
    };
    std::erase_if(behind_, take);
    while (!by_age_.empty() && (finished_held() > keep || by_age_.front()->record.forgotten)) {
      Entry* e = by_age_.front();
      by_age_.pop_front();
      if (!take(e)) behind_.push_back(e);  // unfinished, or pointed at: it waits apart
    }
    for (Numbers& numbers : by_session_) compact(numbers);
    return retired_ - before;
  }
  /// Forgotten records whose slots are not free yet.
  std::uint64_t forgotten_held() const noexcept { return by_age_.size() + behind_.size() - size(); }
  /// Every record held, oldest first.
  template <class F>
  void for_each(F&& f) {
    for (Entry* e : behind_)
      if (!e->record.forgotten) f(e->record);
    for (Entry* e : by_age_)
      if (!e->record.forgotten) f(e->record);
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
  /// Records held (not forgotten).
  std::size_t size() const noexcept { return counts_.submitted - purged_ - retired_; }
  /// Finished records held.
  std::uint64_t finished_held() const noexcept { return counts_.completed + counts_.failed - purged_ - retired_; }
  std::uint64_t purged() const noexcept { return purged_; }
  std::uint64_t retired() const noexcept { return retired_; }
  /// Records of seq below this are not held here but the ones of `held_below()`: earlier runs' and
  /// retired ones, which a task database keeps.
  std::uint64_t retired_below() const noexcept { return std::max(first_seq_, retired_below_); }
  /// The seqs of the records held that are below retired_below() (unfinished, or pointed at,
  /// when those around them were retired).
  std::vector<std::uint64_t> held_below() const {
    std::vector<std::uint64_t> seqs;
    for (const Entry* e : behind_)
      if (!e->record.forgotten && e->record.seq < retired_below_) seqs.push_back(e->record.seq);
    return seqs;
  }
  const TaskCounts& counts() const noexcept { return counts_; }
  /// Places in the by-number index (held records' and gaps'): stays near size() as records go.
  std::size_t numbered_places() const noexcept {
    std::size_t n = 0;
    for (const Numbers& numbers : by_session_) n += numbers.records.size();
    return n;
  }

private:
  struct Entry {
    std::string id;
    TaskRecord record;
  };
  struct Number {
    std::size_t session = 0;
    std::size_t n = 0;
  };
  /// One session's records by number, from `first`.
  struct Numbers {
    std::size_t first = 0;
    std::vector<TaskRecord*> records;
  };
  /// The most records a session's index hands to the hash map to drop its front half.
  static constexpr std::size_t max_moved = 64;
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
    const Numbers& numbers = by_session_[k.session];
    if (k.n < numbers.first || k.n - numbers.first >= numbers.records.size()) return nullptr;
    return numbers.records[k.n - numbers.first];
  }
  /// May `k` be indexed by number? (Grows the session list if so.)
  bool dense(const Number& k) {
    if (k.session >= by_session_.size() + max_gap) return false;
    if (k.session >= by_session_.size()) by_session_.resize(k.session + 1);
    const Numbers& numbers = by_session_[k.session];
    return k.n >= numbers.first && k.n - numbers.first < numbers.records.size() + max_gap;
  }
  /// Forgets a finished record: found by no id, its reply's bytes given back (returned).
  std::uint64_t forget(TaskRecord& t) {
    const std::uint64_t freed = t.kept_bytes;
    if (const auto key = numbered(*t.msg_id); key && find_numbered(*key) == &t)
      by_session_[key->session].records[key->n - by_session_[key->session].first] = nullptr;
    else
      by_name_.erase(*t.msg_id);
    kept_bytes_ -= t.kept_bytes;
    if (t.kept_hook.is_linked()) kept_.erase(kept_.iterator_to(t));
    t.kept_bytes = 0;
    t.forgotten = true;
    t.header_bytes = Buffer();
    t.payload.clear();
    t.payload.shrink_to_fit();
    t.extras.reset();
    return freed;
  }
  /// Drops the front half of a session's index once at most a few records are held there (they
  /// move to the hash map), so that the index stays about as long as what the session holds.
  void compact(Numbers& numbers) {
    auto& records = numbers.records;
    const std::size_t half = (records.size() + 1) / 2;
    std::size_t held = 0;
    for (std::size_t i = 0; i < half && held <= max_moved; ++i) held += records[i] != nullptr ? 1 : 0;
    if (half == 0 || held > max_moved) return;
    for (std::size_t i = 0; i < half; ++i)
      if (records[i] != nullptr) by_name_.emplace(*records[i]->msg_id, records[i]);
    records.erase(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(half));
    numbers.first += half;
    if (records.capacity() > 2 * records.size()) records.shrink_to_fit();
  }
  Entry& next_entry() {
    if (!free_.empty()) {
      Entry* e = free_.back();
      free_.pop_back();
      return *e;
    }
    if (used_in_last_ == chunk_entries || chunks_.empty()) {
      chunks_.push_back(std::make_unique<Entry[]>(chunk_entries));
      used_in_last_ = 0;
    }
    return chunks_.back()[used_in_last_++];
  }

  std::vector<std::unique_ptr<Entry[]>> chunks_;  ///< every slot
  std::size_t used_in_last_ = 0;
  std::vector<Entry*> free_;    ///< slots to use again
  std::deque<Entry*> by_age_;   ///< records held, and forgotten ones not yet freed, oldest first
  std::vector<Entry*> behind_;  ///< older than by_age_'s, left when those around them retired
  std::vector<Numbers> by_session_;
  std::unordered_map<std::string, TaskRecord*> by_name_;
  TaskCounts counts_;
  std::uint64_t purged_ = 0;
  std::uint64_t retired_ = 0;
  std::uint64_t retired_below_ = 0;  ///< one past the newest retired record's seq
  std::uint64_t first_seq_ = 1;
  /// Records holding reply data, oldest first.
  boost::intrusive::list<TaskRecord, boost::intrusive::member_hook<TaskRecord, boost::intrusive::list_member_hook<>,
                                                                   &TaskRecord::kept_hook>>
      kept_;
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
