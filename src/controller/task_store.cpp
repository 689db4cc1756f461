#include "controller/task_store.hpp"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/profile.hpp"
#include "controller/msg_ids.hpp"

namespace crew::controller::store {

namespace {

constexpr int schema_version = 1;

constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks(
  id            INTEGER PRIMARY KEY,  -- the msg id as a number (store::row_of)
  seq           INTEGER NOT NULL,     -- the controller's receipt order, over all its runs
  msg_id        TEXT NOT NULL,
  named         INTEGER,              -- 1: an id other than crew's "<session>-<n>" (id is -seq)
  function      TEXT,
  engine        INTEGER,              -- where it ran (-1: no engine)
  status        INTEGER,              -- 0 pending, 1 ok, 2 failed
  error         TEXT,                 -- failed: the error's type, e.g. crew.remote.exception
  submitted_us  INTEGER,              -- Unix microseconds, the client's clock
  started_us    INTEGER,              -- the engine's clock
  completed_us  INTEGER,
  result_header BLOB,                 -- the reply's header as it went on the wire
  result        BLOB,                 -- its frames (see join_frames)
  frames        INTEGER,
  result_bytes  INTEGER,
  kept          INTEGER               -- store::Kept
);
-- Found by id: crew's ids are the rows' keys (no index to keep: an index on them cost 40% of the
-- writer's time); other ids by text, indexed alone.
CREATE INDEX IF NOT EXISTS tasks_by_other_id ON tasks(msg_id) WHERE named = 1;
)sql";

const char* const reply_columns =
    "SELECT seq, msg_id, status, engine, kept, result_bytes, result_header, result, frames FROM tasks ";

StoredReply reply_of(sqlite::Statement& s) {
  StoredReply r;
  r.seq = static_cast<std::uint64_t>(s.integer(0));
  r.msg_id = s.text(1);
  r.state = static_cast<wire::TaskState>(s.integer(2));
  r.engine = static_cast<int>(s.integer(3));
  r.kept = static_cast<Kept>(s.integer(4));
  r.bytes = static_cast<std::uint64_t>(s.integer(5));
  const auto header = s.blob(6);
  r.header = Buffer::copy(header.data(), header.size());
  if (!s.is_null(7)) r.payload = split_frames(s.blob(7), s.integer(8));
  return r;
}

}  // namespace

std::filesystem::path default_file(const std::string& profile) { return profile_dir(profile) / "tasks.db"; }

namespace {
constexpr const char* remembered_name = "records.json";
}

std::filesystem::path profile_file(const std::string& profile) {
  try {
    const auto j = read_json_file(profile_dir(profile) / remembered_name);
    if (const std::string file = j.value("db_path", ""); !file.empty()) return file;
  } catch (const std::exception&) {
    // none (or unreadable): the default place
  }
  return default_file(profile);
}

void remember_file(const std::string& profile, const std::filesystem::path& file) {
  write_private_json(profile_dir(profile) / remembered_name, nlohmann::json{{"db_path", file.string()}});
}

std::int64_t row_of(std::string_view msg_id, std::uint64_t seq) {
  if (const auto key = id_key(msg_id)) return *key;
  return -static_cast<std::int64_t>(seq);
}

void create_schema(sqlite::Db& db) {
  db.exec(schema_sql);
  const auto version = meta(db, "schema");
  if (!version) {
    set_meta(db, "schema", std::to_string(schema_version));
  } else if (*version != std::to_string(schema_version)) {
    throw_error(errc::db_failed, db.file().string() + " holds crew task records of schema " + *version +
                                     ", and this crew writes schema " + std::to_string(schema_version) +
                                     "; give this cluster another --db-path (or move the file away)");
  }
}

void check_schema(sqlite::Db& db) {
  std::optional<std::string> version;
  try {
    version = meta(db, "schema");
  } catch (const Error&) {
  }
  if (version != std::to_string(schema_version))
    throw_error(errc::db_failed,
                db.file().string() + " is not a crew task database of schema " + std::to_string(schema_version));
}

std::optional<std::string> meta(sqlite::Db& db, const std::string& key) {
  sqlite::Statement s(db, "SELECT value FROM meta WHERE key = ?1");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

void set_meta(sqlite::Db& db, const std::string& key, const std::string& value) {
  sqlite::Statement s(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)");
  s.bind(1, key).bind(2, value).run();
}

std::vector<std::byte> join_frames(std::span<const Buffer> frames) {
  std::size_t total = frames.size() * sizeof(std::uint64_t);
  for (const auto& f : frames) total += f.size();
  std::vector<std::byte> out(total);
  std::byte* p = out.data();
  for (const auto& f : frames) {
    const std::uint64_t n = f.size();
    std::memcpy(p, &n, sizeof n);
    p += sizeof n;
  }
  for (const auto& f : frames) {
    if (f.size() > 0) std::memcpy(p, f.data(), f.size());
    p += f.size();
  }
  return out;
}

std::vector<Buffer> split_frames(std::span<const std::byte> blob, std::int64_t frames) {
  if (frames == 1) return {Buffer::copy(blob.data(), blob.size())};
  std::vector<Buffer> out;
  const std::size_t n = frames < 0 ? 0 : static_cast<std::size_t>(frames);
  if (blob.size() < n * sizeof(std::uint64_t)) throw_error(errc::db_failed, "a stored result's frames are cut short");
  std::size_t at = n * sizeof(std::uint64_t);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t size = 0;
    std::memcpy(&size, blob.data() + i * sizeof size, sizeof size);
    if (size > blob.size() - at) throw_error(errc::db_failed, "a stored result's frames are cut short");
    out.push_back(Buffer::copy(blob.data() + at, size));
    at += size;
  }
  return out;
}

namespace {
/// Which rows hold `msg_id`: ?1 is the id, ?2 its number (bind_id).
std::string where_id(const std::string& msg_id) {
  return id_key(msg_id) ? "id = ?2 AND msg_id = ?1" : "named = 1 AND msg_id = ?1";
}

void bind_id(sqlite::Statement& s, const std::string& msg_id) {
  s.bind(1, msg_id);
  if (const auto key = id_key(msg_id)) s.bind(2, *key);
}
}  // namespace

std::optional<StoredReply> read_reply(sqlite::Db& db, const std::string& msg_id) {
  // (an id other than crew's may be on record twice, from two runs: the newest counts)
  sqlite::Statement s(db, std::string(reply_columns) + "WHERE " + where_id(msg_id) +
                              " AND status != 0 ORDER BY seq DESC LIMIT 1");
  bind_id(s, msg_id);
  if (!s.step()) return std::nullopt;
  return reply_of(s);
}

std::optional<Outcome> read_outcome(sqlite::Db& db, const std::string& msg_id) {
  sqlite::Statement s(db, "SELECT seq, status, engine FROM tasks WHERE " + where_id(msg_id) +
                              " AND status != 0 ORDER BY seq DESC LIMIT 1");
  bind_id(s, msg_id);
  if (!s.step()) return std::nullopt;
  return Outcome{static_cast<std::uint64_t>(s.integer(0)),
                 static_cast<wire::TaskState>(s.integer(1)) == wire::TaskState::failed, static_cast<int>(s.integer(2))};
}

HistoryRows read_history(sqlite::Db& db, const wire::HistoryRequest& ask, std::uint64_t before_seq,
                         std::span<const std::uint64_t> except) {
  std::string where = " WHERE seq < ?1 AND submitted_us >= ?2";
  if (!except.empty()) {
    where += " AND seq NOT IN (";
    for (std::size_t i = 0; i < except.size(); ++i) where += (i ? "," : "") + std::to_string(except[i]);
    where += ")";
  }
  if (!ask.only.empty()) {
    where += " AND status IN (";
    for (std::size_t i = 0; i < ask.only.size(); ++i) where += (i ? "," : "") + std::to_string(ask.only[i]);
    where += ")";
  }
  if (!ask.engines.empty()) {
    where += " AND engine IN (";
    for (std::size_t i = 0; i < ask.engines.size(); ++i) where += (i ? "," : "") + std::to_string(ask.engines[i]);
    where += ")";
  }
  const auto bind = [&](sqlite::Statement& s) {
    s.bind(1, static_cast<std::int64_t>(std::min<std::uint64_t>(before_seq, INT64_MAX))).bind(2, ask.since_us);
  };
  HistoryRows out;
  sqlite::Statement count(db, "SELECT count(*) FROM tasks" + where);
  bind(count);
  if (count.step()) out.matched = static_cast<std::uint64_t>(count.integer(0));
  // The newest `last` (all if 0), read newest first and turned round.
  sqlite::Statement rows(db, "SELECT msg_id, function, engine, status, error, submitted_us, started_us, completed_us "
                             "FROM tasks" +
                                 where + " ORDER BY seq DESC" +
                                 (ask.last > 0 ? " LIMIT " + std::to_string(ask.last) : ""));
  bind(rows);
  while (rows.step()) {
    wire::HistoryEntry e;
    e.msg_id = rows.text(0);
    e.function = rows.text(1);
    e.engine = static_cast<std::int32_t>(rows.integer(2));
    e.state = static_cast<std::uint8_t>(rows.integer(3));
    e.error = rows.text(4);
    e.submitted_us = rows.integer(5);
    e.started_us = rows.integer(6);
    e.completed_us = rows.integer(7);
    out.tasks.push_back(std::move(e));
  }
  std::reverse(out.tasks.begin(), out.tasks.end());
  return out;
}

Deleted delete_finished(sqlite::Db& db, std::uint64_t before_seq, std::int64_t submitted_before_us) {
  const std::string where =
      " WHERE seq < ?1 AND status != 0" + std::string(submitted_before_us > 0 ? " AND submitted_us < ?2" : "");
  const auto bind = [&](sqlite::Statement& s) {
    s.bind(1, static_cast<std::int64_t>(std::min<std::uint64_t>(before_seq, INT64_MAX)));
    if (submitted_before_us > 0) s.bind(2, submitted_before_us);
  };
  Deleted d;
  sqlite::Transaction tx(db);
  sqlite::Statement sum(db, "SELECT count(*), total(result_bytes) FROM tasks" + where);
  bind(sum);
  if (sum.step()) {
    d.rows = static_cast<std::uint64_t>(sum.integer(0));
    d.bytes = static_cast<std::uint64_t>(sum.integer(1));
  }
  sqlite::Statement del(db, "DELETE FROM tasks" + where);
  bind(del);
  del.run();
  tx.commit();
  return d;
}

std::optional<Deleted> delete_finished(sqlite::Db& db, const std::string& msg_id, std::uint64_t before_seq) {
  sqlite::Statement find(db, "SELECT id, result_bytes FROM tasks WHERE " + where_id(msg_id) +
                                 " AND seq < ?3 AND status != 0 ORDER BY seq DESC LIMIT 1");
  bind_id(find, msg_id);
  find.bind(3, static_cast<std::int64_t>(std::min<std::uint64_t>(before_seq, INT64_MAX)));
  if (!find.step()) return std::nullopt;
  const std::int64_t id = find.integer(0);
  Deleted d{1, static_cast<std::uint64_t>(find.integer(1))};
  find.reset();
  sqlite::Statement del(db, "DELETE FROM tasks WHERE id = ?1");
  del.bind(1, id).run();
  return d;
}

RestorePoint read_restore_point(sqlite::Db& db) {
  RestorePoint r;
  const auto key = meta(db, "key_hex");
  if (!key)
    throw_error(errc::db_failed, db.file().string() +
                                     " holds no controller's key: no controller with --db sqlite ran on it, so "
                                     "there is nothing to restore; start one without --restore");
  r.key_hex = *key;
  r.client_url = meta(db, "client_url").value_or("");
  r.engine_url = meta(db, "engine_url").value_or("");
  if (const auto worlds = meta(db, "worlds")) {
    try {
      for (const auto& w : nlohmann::json::parse(*worlds))
        r.worlds.push_back({w.at("id").get<int>(), w.at("routing_id").get<std::string>(),
                            w.at("first_engine").get<int>(), w.at("size").get<int>(), w.at("alive").get<bool>()});
    } catch (const nlohmann::json::exception& e) {
      throw_error(errc::db_failed, db.file().string() + ": its list of worlds does not read (" + e.what() + ")");
    }
  }
  sqlite::Statement s(db, "SELECT substr(key, 9), value FROM meta WHERE key >= 'session:' AND key < 'session;'");
  while (s.step()) r.sessions.emplace_back(s.text(0), s.text(1));
  return r;
}

std::string worlds_text(const std::vector<RestorePoint::World>& worlds) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& w : worlds)
    out.push_back({{"id", w.id},
                   {"routing_id", w.routing_id},
                   {"first_engine", w.first_engine},
                   {"size", w.size},
                   {"alive", w.alive}});
  return out.dump();
}

std::vector<OpenTask> read_open(sqlite::Db& db, std::uint64_t before_seq, const std::vector<std::int64_t>& keep) {
  std::vector<std::int64_t> kept(keep.begin(), keep.end());
  std::sort(kept.begin(), kept.end());
  std::vector<OpenTask> out;
  sqlite::Statement open(db, "SELECT id, msg_id, coalesce(function, ''), submitted_us FROM tasks "
                             "WHERE status = 0 AND seq < ?1 ORDER BY seq");
  open.bind(1, static_cast<std::int64_t>(before_seq));
  while (open.step())
    if (!std::binary_search(kept.begin(), kept.end(), open.integer(0)))
      out.push_back({open.text(1), open.text(2), open.integer(3)});
  return out;
}

std::uint64_t abandon_open(sqlite::Db& db, std::uint64_t before_seq) {
  sqlite::Statement fail(db, "UPDATE tasks SET status = 2, error = 'crew.connection.controller_restarted' "
                             "WHERE status = 0 AND seq < ?1");
  fail.bind(1, static_cast<std::int64_t>(before_seq)).run();
  return static_cast<std::uint64_t>(db.changes());
}

}  // namespace crew::controller::store
