#include "controller/task_db.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "controller/msg_ids.hpp"
#include "controller/task_store.hpp"
#include "protocol/header.hpp"

namespace crew::controller {

TaskDb::TaskDb(TaskDbConfig config) : config_(std::move(config)), db_(config_.file, sqlite::Db::Mode::read_write) {
  open();
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw_error(errc::internal, "eventfd failed for the task database's writer");
  writer_ = std::thread([this] { write_loop(); });
}

TaskDb::~TaskDb() {
  end_turn();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
  if (event_fd_ >= 0) ::close(event_fd_);
}

void TaskDb::open() {
  // The controller holds the file for its whole run: no lock taken and given back around each
  // commit (6 fcntl calls each), and no shared-memory index beside it, which network file
  // systems do not support. Other processes read it once the controller has stopped.
  if (config_.exclusive) db_.exec("PRAGMA locking_mode=EXCLUSIVE");
  db_.exec("PRAGMA journal_mode=WAL");
  db_.exec(config_.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  db_.exec("PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384; PRAGMA wal_autocheckpoint=4096");
  store::create_schema(db_);
  sqlite::Statement last(db_, "SELECT max(seq), count(*) FROM tasks");
  if (last.step()) {
    start_.next_seq = static_cast<std::uint64_t>(last.integer(0)) + 1;
    start_.records = static_cast<std::uint64_t>(last.integer(1));
  }
  if (const auto s = store::meta(db_, "next_session"))
    start_.next_session = std::max<std::uint64_t>(1, std::stoull(*s));
  // Tasks a controller took and never finished before it died: their outcome went with it,
  // unless (a restore) their worlds come back with them.
  if (config_.keep_unfinished) {
    sqlite::Statement open(db_, "SELECT count(*) FROM tasks WHERE status = 0");
    if (open.step()) start_.unfinished = static_cast<std::uint64_t>(open.integer(0));
  } else {
    start_.abandoned = store::abandon_open(db_, start_.next_seq);
  }
}

void TaskDb::taken(std::uint64_t seq, const std::string& msg_id, const std::string* function, int engine,
                   std::int64_t submitted_us) {
  turn_.taken.push_back({seq, store::row_of(msg_id, seq), msg_id, function, engine, submitted_us});
}

void TaskDb::finished(std::uint64_t seq, const std::string& msg_id, int engine, bool failed, bool streamed,
                      const Buffer& header, std::span<const Buffer> payload, const wire::Header* decoded) {
  Finished& f = turn_.finished.emplace_back(
      Finished{seq, store::row_of(msg_id, seq), engine, failed, streamed, header, {payload.begin(), payload.end()}});
  if (decoded != nullptr) {
    f.decoded = true;
    f.started_us = decoded->started_us;
    f.completed_us = decoded->completed_us;
    if (decoded->error.failed()) f.error = decoded->error.type;
  }
}

void TaskDb::forgotten(std::uint64_t seq, const std::string& msg_id) {
  turn_.forgotten.push_back(store::row_of(msg_id, seq));
}

void TaskDb::set_meta(std::string key, std::string value) { turn_.meta.emplace_back(std::move(key), std::move(value)); }

void TaskDb::ask(std::function<void(sqlite::Db&)> job, std::function<void()> then) {
  turn_.asks.push_back({std::move(job), std::move(then)});
  ++asks_open_;
}

void TaskDb::end_turn() {
  if (turn_.empty()) return;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(turn_));
  }
  if (reusable_.empty()) {
    turn_ = Turn();
  } else {
    turn_ = std::move(reusable_.back());
    reusable_.pop_back();
  }
  ++handed_;
  wake_.notify_one();
}

void TaskDb::answered() {
  std::uint64_t count = 0;
  (void)!::read(event_fd_, &count, sizeof count);
  std::vector<std::function<void()>> thens;
  std::vector<Turn> spent;
  {
    std::lock_guard lock(mutex_);
    thens.swap(thens_);
    spent.swap(spent_);
  }
  // Written turns come back to be emptied here: their buffers were made on this thread, and
  // freeing them on the writer's made the two threads fight over the allocator's lock. Their
  // vectors' room is reused by the next turns (new room each turn cost page faults).
  for (Turn& t : spent) {
    t.taken.clear();
    t.finished.clear();
    t.forgotten.clear();
    t.meta.clear();
    t.asks.clear();
    if (reusable_.size() < 16) reusable_.push_back(std::move(t));
  }
  spent.clear();
  asks_open_ -= thens.size();
  for (auto& then : thens) then();
}

std::string TaskDb::broken() const {
  std::lock_guard lock(mutex_);
  return broken_;
}

void TaskDb::signal() {
  const std::uint64_t one = 1;
  (void)!::write(event_fd_, &one, sizeof one);
}

void TaskDb::write_loop() {
  std::uint64_t written = 0;
  for (;;) {
    std::vector<Turn> turns;
    bool last = false;
    {
      std::unique_lock lock(mutex_);
      const auto ready = [&] { return !queue_.empty() || stopping_; };
      if (open_.empty())
        wake_.wait(lock, ready);
      else  // tasks taken and not finished are written alone once the window has passed
        wake_.wait_until(lock, open_.front().at + config_.write_taken_after, ready);
      turns.swap(queue_);
      last = stopping_;
    }
    bool ok = true;
    {
      std::lock_guard lock(mutex_);
      ok = broken_.empty();
    }
    if (ok) {
      try {
        write(turns, last);
      } catch (const std::exception& e) {
        // The controller goes on without it: results are told at once, kept in memory only.
        spdlog::error("the task database stopped being written: {}; tasks go on, kept in memory only", e.what());
        std::lock_guard lock(mutex_);
        broken_ = e.what();
        open_.clear();
      }
    }
    if (!turns.empty()) {
      written += turns.size();
      committed_.store(written, std::memory_order_release);
      std::vector<std::function<void()>> thens;
      for (auto& turn : turns) {
        for (auto& a : turn.asks) {
          try {
            if (ok) a.job(db_);
          } catch (const std::exception& e) {
            spdlog::error("reading the task database: {}", e.what());
          }
          thens.push_back(std::move(a.then));
        }
      }
      {
        std::lock_guard lock(mutex_);
        for (auto& t : thens) thens_.push_back(std::move(t));
        for (auto& turn : turns) spent_.push_back(std::move(turn));
      }
      signal();
    }
    if (last) return;
  }
}

void TaskDb::write(std::vector<Turn>& turns, bool flush_all) {
  const auto now = std::chrono::steady_clock::now();
  bool any = false;
  for (auto& turn : turns) {
    any |= !turn.taken.empty() || !turn.finished.empty() || !turn.forgotten.empty() || !turn.meta.empty();
    for (auto& t : turn.taken) open_.push_back({std::move(t), now, false});
  }
  const bool due = !open_.empty() && (flush_all || now - open_.front().at >= config_.write_taken_after);
  if (!any && !due) return;
  sqlite::Transaction tx(db_);
  static constexpr const char* insert_sql =
      "INSERT OR REPLACE INTO tasks(id, msg_id, function, engine, status, error, submitted_us, started_us, "
      "completed_us, result_header, result, frames, result_bytes, kept, seq, named) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";
  static constexpr const char* update_sql =
      "UPDATE tasks SET engine = ?4, status = ?5, error = ?6, started_us = ?8, completed_us = ?9, "
      "result_header = ?10, result = ?11, frames = ?12, result_bytes = ?13, kept = ?14, "
      "function = coalesce(nullif(function, ''), ?3) WHERE id = ?1";
  if (!insert_) insert_ = std::make_unique<sqlite::Statement>(db_, insert_sql);
  if (!update_) update_ = std::make_unique<sqlite::Statement>(db_, update_sql);
  if (!forget_) forget_ = std::make_unique<sqlite::Statement>(db_, "DELETE FROM tasks WHERE id = ?1");
  sqlite::Statement& insert = *insert_;
  sqlite::Statement& update = *update_;

  std::vector<std::byte> joined;  // a reply of several frames, as one blob
  wire::Header h;                 // the reply being written
  // Binds a finished task's columns 4..14 (and its function, 3, if the reply names one).
  const auto bind_final = [&](sqlite::Statement& s, const Finished& f) {
    // (most come decoded by the loop, which read them; h is kept until the row is written)
    if (!f.decoded) h = wire::decode_header(f.header.bytes());
    const std::string& error = f.decoded ? f.error : h.error.type;
    std::uint64_t bytes = 0;
    for (const auto& b : f.payload) bytes += b.size();
    s.bind(4, std::int64_t{f.engine}).bind(5, std::int64_t{f.failed ? 2 : 1});
    if (!error.empty())
      s.bind_static(6, error);
    else
      s.bind_null(6);
    s.bind(8, f.decoded ? f.started_us : h.started_us)
        .bind(9, f.decoded ? f.completed_us : h.completed_us)
        .bind_blob(10, f.header.bytes());
    const store::Kept kept = f.streamed                         ? store::Kept::streamed
                             : bytes > config_.max_result_bytes ? store::Kept::too_large
                                                                : store::Kept::here;
    if (kept != store::Kept::here) {
      s.bind_null(11).bind(12, std::int64_t{0});
    } else if (f.payload.size() == 1) {
      s.bind_blob(11, f.payload.front().bytes()).bind(12, std::int64_t{1});
    } else {
      joined = store::join_frames({f.payload.data(), f.payload.size()});
      s.bind_blob(11, joined).bind(12, static_cast<std::int64_t>(f.payload.size()));
    }
    s.bind(13, static_cast<std::int64_t>(bytes)).bind(14, static_cast<std::int64_t>(kept));
    if (!f.decoded && !h.function.empty()) s.bind_static(3, h.function);
  };
  const auto insert_taken = [&](const Taken& t, const Finished* f) {
    insert.bind(1, t.row).bind_static(2, t.msg_id).bind(15, static_cast<std::int64_t>(t.seq));
    if (t.row < 0) insert.bind(16, std::int64_t{1});
    insert.bind_static(3, t.function ? std::string_view(*t.function) : std::string_view());
    insert.bind(7, t.submitted_us);
    if (f != nullptr) {
      bind_final(insert, *f);
      if (t.function && !t.function->empty()) insert.bind_static(3, *t.function);
    } else {
      insert.bind(4, std::int64_t{t.engine}).bind(5, std::int64_t{0});
    }
    insert.run();
  };

  // A task taken and finished within the window is one INSERT. Seqs grow with each task taken,
  // so the open ones are in order, and each finished one is found by a binary search.
  for (const auto& turn : turns) {
    for (const auto& f : turn.finished) {
      auto it = std::lower_bound(open_.begin(), open_.end(), f.seq,
                                 [](const Open& o, std::uint64_t s) { return o.taken.seq < s; });
      if (it != open_.end() && it->taken.seq == f.seq && !it->written) {
        insert_taken(it->taken, &f);
        it->written = true;
      } else {
        update.bind(1, f.row).bind_null(3);
        bind_final(update, f);
        update.run();
      }
    }
  }
  // Those still running when the window passed are written as taken (finished: an UPDATE later).
  while (!open_.empty() &&
         (open_.front().written || flush_all || now - open_.front().at >= config_.write_taken_after)) {
    if (!open_.front().written) insert_taken(open_.front().taken, nullptr);
    open_.pop_front();
  }
  for (auto& turn : turns) {
    for (const std::int64_t row : turn.forgotten) forget_->bind(1, row).run();
    for (const auto& [key, value] : turn.meta) store::set_meta(db_, key, value);
  }
  tx.commit();
  commits_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace crew::controller
