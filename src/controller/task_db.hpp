#pragma once
// The controller's task database (--db sqlite): every task's record written to SQLite by a
// thread of its own, so the event loop never waits on the disk.
//
// The loop records what happened during its turn (a task taken, a task finished, records
// forgotten) in plain structs, and hands the turn over at its end. The writer takes every turn
// handed over since its last commit and writes them in one transaction, so a burst commits in
// few transactions and a lone task at once. A task taken is written when it finishes (one
// INSERT), or alone once write_taken_after has passed. A result is told to its client only once
// the turn that recorded it is committed (committed()), which makes it durable against a crash
// of the controller: WAL mode writes the commit to the file before returning (with --db-sync
// full, also to the disk). The written turns go back to the loop, to be emptied and reused there.
//
// Reads (and purges) run on the writer thread too, after everything recorded before them is
// committed; their answers come back to the loop through fd(), with the commits.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "controller/sqlite.hpp"
#include "crew/buffer.hpp"
#include "protocol/header.hpp"

namespace crew::controller {

struct TaskDbConfig {
  std::filesystem::path file;
  bool sync_full = false;  ///< fsync each commit (survives a power cut, not only a crash)
  /// Results above this many bytes are not stored: only their client gets them.
  std::uint64_t max_result_bytes = std::uint64_t{512} << 20;
  /// A task taken is written once it finishes (one INSERT), or alone after this long if it has not.
  std::chrono::milliseconds write_taken_after{200};
  /// Hold the file for the whole run (no other process reads it meanwhile).
  bool exclusive = true;
  /// A restore: rows an earlier run left unfinished stay so until the worlds that may still run
  /// them are back (the controller then fails the rest, store::read_open); else they fail when it opens.
  bool keep_unfinished = false;
};

/// What the file held when it was opened.
struct TaskDbStart {
  std::uint64_t next_seq = 1;      ///< the first seq of this run's tasks
  std::uint64_t next_session = 1;  ///< the first client session number free
  std::uint64_t records = 0;       ///< rows of earlier runs
  std::uint64_t abandoned = 0;     ///< rows left pending by a controller that died: now failed
  std::uint64_t unfinished = 0;    ///< (keep_unfinished) rows left pending, kept so for now
};

class TaskDb {
public:
  /// Opens (creates) the file and starts the writer. Throws [crew.hub.db_failed].
  explicit TaskDb(TaskDbConfig config);
  /// Commits what was handed over, then stops the writer.
  ~TaskDb();
  TaskDb(const TaskDb&) = delete;
  TaskDb& operator=(const TaskDb&) = delete;

  const TaskDbStart& start() const noexcept { return start_; }
  const std::filesystem::path& file() const noexcept { return config_.file; }

  // ---- the loop's side: record during a turn, then end_turn()
  /// `function` must outlive the writer's use of it (the TaskTable's names do).
  void taken(std::uint64_t seq, const std::string& msg_id, const std::string* function, int engine,
             std::int64_t submitted_us);
  /// `decoded`: the reply's header, if the loop has it decoded (else the writer decodes it).
  void finished(std::uint64_t seq, const std::string& msg_id, int engine, bool failed, bool streamed,
                const Buffer& header, std::span<const Buffer> payload, const wire::Header* decoded = nullptr);
  void forgotten(std::uint64_t seq, const std::string& msg_id);
  void set_meta(std::string key, std::string value);
  /// Runs `job` on the writer thread once everything recorded so far is committed, then `then`
  /// on the loop thread (in answered()). A job that throws is logged; `then` still runs.
  void ask(std::function<void(sqlite::Db&)> job, std::function<void()> then);
  /// Asks whose `then` has not run yet.
  std::size_t asks_open() const noexcept { return asks_open_; }
  /// Hands this turn's records to the writer (nothing if there are none).
  void end_turn();
  /// The turn that, once committed, covers everything recorded so far.
  std::uint64_t durable_after() const noexcept { return turn_.empty() ? handed_ : handed_ + 1; }
  std::uint64_t committed() const noexcept { return committed_.load(std::memory_order_acquire); }
  /// Readable when a commit or an answer came; answered() clears it.
  int fd() const noexcept { return event_fd_; }
  /// Runs the `then`s of the answered jobs.
  void answered();
  /// Why the database stopped being written ("" while it works): the controller goes on in memory.
  std::string broken() const;
  std::uint64_t commits() const noexcept { return commits_.load(std::memory_order_relaxed); }

private:
  struct Finished {
    std::uint64_t seq;
    std::int64_t row;  ///< store::row_of
    int engine;
    bool failed;
    bool streamed;
    Buffer header;
    boost::container::small_vector<Buffer, 1> payload;
    bool decoded = false;  ///< the times and error below are the header's (not decoded again)
    std::int64_t started_us = 0, completed_us = 0;
    std::string error{};  ///< the error's type
  };
  struct Taken {
    std::uint64_t seq;
    std::int64_t row;
    std::string msg_id;
    const std::string* function;
    int engine;
    std::int64_t submitted_us;
  };
  /// (writer) A task taken, its row not yet written: most finish within the window, and then
  /// are one INSERT.
  struct Open {
    Taken taken;
    std::chrono::steady_clock::time_point at;
    bool written;
  };
  struct Ask {
    std::function<void(sqlite::Db&)> job;
    std::function<void()> then;
  };
  struct Turn {
    std::vector<Taken> taken;
    std::vector<Finished> finished;
    std::vector<std::int64_t> forgotten;  ///< rows
    std::vector<std::pair<std::string, std::string>> meta;
    std::vector<Ask> asks;
    bool empty() const noexcept {
      return taken.empty() && finished.empty() && forgotten.empty() && meta.empty() && asks.empty();
    }
  };

  void open();
  void write_loop();
  void write(std::vector<Turn>& turns, bool flush_all);
  void signal();

  TaskDbConfig config_;
  sqlite::Db db_;
  TaskDbStart start_;
  int event_fd_ = -1;

  Turn turn_;                   // the loop's, being recorded
  std::vector<Turn> reusable_;  // the loop's: written and emptied, their room kept
  std::uint64_t handed_ = 0;    // turns handed over
  std::size_t asks_open_ = 0;   // asked, not yet answered

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Turn> queue_;                   // handed over, not yet written
  std::vector<std::function<void()>> thens_;  // answered, for the loop
  std::vector<Turn> spent_;                   // written, for the loop to free (or reuse)
  bool stopping_ = false;
  std::string broken_;
  std::atomic<std::uint64_t> committed_{0};
  std::atomic<std::uint64_t> commits_{0};
  // the writer's
  std::deque<Open> open_;
  std::unique_ptr<sqlite::Statement> insert_, update_, forget_;
  std::thread writer_;
};

}  // namespace crew::controller
