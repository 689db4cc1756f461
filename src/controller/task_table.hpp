#pragma once
// The hub's task records: who asked, which engine has it, and the reply once it came (kept,
// signed and ready to resend, until purged).

#include <cstdint>
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
  std::string collective;  ///< key of its CollectiveRecord (gather, reduce, save_h5), else empty
  // The reply as it goes on the wire.
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
  }
  std::size_t size() const noexcept { return tasks_.size(); }
  const TaskCounts& counts() const noexcept { return counts_; }

private:
  std::unordered_map<std::string, TaskRecord> tasks_;
  TaskCounts counts_;
};

}  // namespace crew::controller
