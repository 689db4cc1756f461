#pragma once
// The hub's task records: who asked, which engine has it, and the reply once it came (kept,
// signed and ready to resend, until purged). Replies' bytes are kept up to a budget: beyond it
// the oldest delivered replies give their data back (their records stay), so a stream of large
// results does not pile up in the controller.

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "crew/buffer.hpp"

namespace crew::controller {

struct TaskRecord {
  std::string client;  ///< the submitting client's ZeroMQ identity
  int engine_id = -1;
  bool done = false;
  bool failed = false;
  std::int64_t submitted_us = 0;
  std::string collective;             ///< key of its CollectiveRecord (gather, reduce, save_h5), else empty
  std::uint64_t kept_bytes = 0;       ///< bytes of the reply held here (0 once evicted)
  bool evicted = false;               ///< the reply was delivered and its data dropped to stay in budget
  bool balanced = false;              ///< load-balanced: the controller chose (chooses) its engine
  std::int64_t dispatched_ns = 0;     ///< steady clock, when it went to its engine (0: not yet)
  std::vector<std::string> watchers;  ///< other clients that asked for its reply (get_result)
  // The reply as it goes on the wire (the signature only if it arrived alone, not in a batch).
  Buffer signature;
  Buffer header_bytes;
  std::vector<Buffer> payload;
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
  TaskRecord& add(const std::string& msg_id, TaskRecord record) {
    ++counts_.submitted;
    return tasks_.insert_or_assign(msg_id, std::move(record)).first->second;
  }
  TaskRecord* find(const std::string& msg_id) {
    auto it = tasks_.find(msg_id);
    return it == tasks_.end() ? nullptr : &it->second;
  }
  void mark_done(TaskRecord& t, bool failed) {
    t.done = true;
    t.failed = failed;
    ++(failed ? counts_.failed : counts_.completed);
    t.kept_bytes = t.header_bytes.size() + t.signature.size();
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
