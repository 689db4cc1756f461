#pragma once
// The hub's task records: who asked, which engine has it, and the reply once it came (kept,
// ready to resend, until purged). Replies' bytes are kept up to a budget: beyond it the oldest
// delivered replies give their data back (their records stay), so a stream of large results does
// not pile up in the controller.
//
// Records never move once added (a node-based map), so the rest of the controller refers to them
// by pointer: engines' in-flight queues, the balancer's queue, dependency lists.

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "controller/balanced_task.hpp"
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
  bool evicted = false;   ///< the reply was delivered and its data dropped to stay in budget
  bool balanced = false;  ///< load-balanced: the controller chose (chooses) its engine
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

class TaskTable {
public:
  void reserve(std::size_t n) { tasks_.reserve(n); }
  bool contains(const std::string& msg_id) const { return tasks_.find(msg_id) != tasks_.end(); }
  /// A new record for `msg_id`; nullptr (and nothing added) if the id is taken.
  TaskRecord* add(const std::string& msg_id, TaskRecord record) {
    auto [it, fresh] = tasks_.try_emplace(msg_id, std::move(record));
    if (!fresh) return nullptr;
    ++counts_.submitted;
    it->second.msg_id = &it->first;
    return &it->second;
  }
  TaskRecord* find(const std::string& msg_id) {
    auto it = tasks_.find(msg_id);
    return it == tasks_.end() ? nullptr : &it->second;
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
    while (kept_bytes_ > budget_ && !kept_.empty() && kept_.front() != spare) {
      TaskRecord* t = kept_.front();
      kept_.pop_front();
      kept_bytes_ -= t->kept_bytes;
      t->kept_bytes = 0;
      t->evicted = true;
      t->payload.clear();
      t->payload.shrink_to_fit();
    }
  }
  void set_budget(std::uint64_t bytes) noexcept { budget_ = bytes; }
  std::uint64_t kept_bytes() const noexcept { return kept_bytes_; }
  std::size_t size() const noexcept { return tasks_.size(); }
  const TaskCounts& counts() const noexcept { return counts_; }

private:
  std::unordered_map<std::string, TaskRecord> tasks_;  // node-based: records never move
  TaskCounts counts_;
  std::deque<TaskRecord*> kept_;  ///< records holding reply data, oldest first
  std::uint64_t kept_bytes_ = 0;
  std::uint64_t budget_ = std::uint64_t{64} << 20;
};

}  // namespace crew::controller
