#pragma once
// A thin RAII layer over SQLite's C API, for the controller's task database: a connection, a
// prepared statement, a transaction. Failures throw Error [crew.hub.db_failed] with the file and
// SQLite's own words. Blobs are bound without a copy (SQLITE_STATIC): the caller keeps the bytes
// alive until the statement is stepped and reset, which every use here does at once.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "crew/error.hpp"

namespace crew::sqlite {

class Db {
public:
  enum class Mode { read_write, read_only };
  /// Opens (read_write: creates) the database file.
  Db(const std::filesystem::path& file, Mode mode);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  /// Runs SQL that returns no rows (several statements allowed).
  void exec(const std::string& sql);
  /// Rows the last INSERT / UPDATE / DELETE changed.
  std::int64_t changes() const noexcept { return sqlite3_changes64(db_); }
  sqlite3* handle() const noexcept { return db_; }
  const std::filesystem::path& file() const noexcept { return file_; }
  /// Throws [crew.hub.db_failed]: what failed, in this file, and SQLite's message.
  [[noreturn]] void fail(std::string_view what) const;

private:
  sqlite3* db_ = nullptr;
  std::filesystem::path file_;
};

class Statement {
public:
  Statement(Db& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters count from 1, as in SQL (?1, ?2, ...).
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, std::string_view text);                  ///< copied by SQLite (short)
  Statement& bind_static(int i, std::string_view text);           ///< not copied: keep it alive until reset
  Statement& bind_blob(int i, std::span<const std::byte> bytes);  ///< not copied: keep it alive until reset
  Statement& bind_null(int i);
  /// Next row: true if there is one, false when done.
  bool step();
  /// Steps a statement that returns no rows.
  void run() {
    (void)step();
    reset();
  }
  void reset();

  // Columns count from 0.
  bool is_null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  std::int64_t integer(int c) const { return sqlite3_column_int64(stmt_, c); }
  std::string text(int c) const;
  /// Valid until the next step or reset.
  std::span<const std::byte> blob(int c) const;

private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// BEGIN IMMEDIATE ... COMMIT; rolled back if left without commit().
class Transaction {
public:
  explicit Transaction(Db& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    db_.exec("COMMIT");
    done_ = true;
  }

private:
  Db& db_;
  bool done_ = false;
};

}  // namespace crew::sqlite
