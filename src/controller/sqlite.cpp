#include "controller/sqlite.hpp"

#include <mutex>

#include "controller/sqlite_memory.hpp"

namespace crew::sqlite {

namespace {
/// Before SQLite starts: no counting of its memory, which takes a lock around every allocation
/// of every connection (a third of the writer thread's time went to that lock).
void configure_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    use_thread_caching_allocator();
  });
}
}  // namespace

Db::Db(const std::filesystem::path& file, Mode mode) : file_(file) {
  configure_once();
  const int flags = (mode == Mode::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;  // one thread uses a connection at a time
  if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw_error(errc::db_failed, "cannot open the task database " + file.string() + ": " + why);
  }
  sqlite3_busy_timeout(db_, mode == Mode::read_only ? 1000 : 5000);
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() { sqlite3_close(db_); }

void Db::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) == SQLITE_OK) return;
  const std::string why = message ? message : sqlite3_errmsg(db_);
  sqlite3_free(message);
  throw_error(errc::db_failed, "task database " + file_.string() + ": `" + sql.substr(0, 60) + "` failed: " + why);
}

void Db::fail(std::string_view what) const {
  const int code = sqlite3_extended_errcode(db_);
  const bool held = (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED;
  throw_error(errc::db_failed, "task database " + file_.string() + ": " + std::string(what) +
                                   " failed: " + sqlite3_errmsg(db_) + " (error " + std::to_string(code) + ")" +
                                   (held ? "; a running controller keeps its task database to itself: ask it "
                                           "(without --db-path), or read the file once it has stopped"
                                         : ""));
}

Statement::Statement(Db& db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_,
                         nullptr) != SQLITE_OK)
    db.fail("preparing `" + std::string(sql.substr(0, 60)) + "`");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int i, std::int64_t v) {
  if (sqlite3_bind_int64(stmt_, i, v) != SQLITE_OK) db_.fail("binding an integer");
  return *this;
}

Statement& Statement::bind(int i, std::string_view text) {
  if (sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    db_.fail("binding text");
  return *this;
}

Statement& Statement::bind_static(int i, std::string_view text) {
  if (sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC) != SQLITE_OK)
    db_.fail("binding text");
  return *this;
}

Statement& Statement::bind_blob(int i, std::span<const std::byte> bytes) {
  if (sqlite3_bind_blob64(stmt_, i, bytes.data(), bytes.size(), SQLITE_STATIC) != SQLITE_OK)
    db_.fail("binding " + std::to_string(bytes.size()) + " bytes");
  return *this;
}

Statement& Statement::bind_null(int i) {
  if (sqlite3_bind_null(stmt_, i) != SQLITE_OK) db_.fail("binding null");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(stmt_) ? sqlite3_sql(stmt_) : "";
  sqlite3_reset(stmt_);
  db_.fail("`" + sql.substr(0, 60) + "`");
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int c) const {
  const auto* p = sqlite3_column_text(stmt_, c);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c)))
           : std::string();
}

std::span<const std::byte> Statement::blob(int c) const {
  const void* p = sqlite3_column_blob(stmt_, c);
  return {static_cast<const std::byte*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))};
}

}  // namespace crew::sqlite
