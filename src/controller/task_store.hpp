#pragma once
// The task database's rows: the schema, and the reads that the controller's writer thread and
// the offline `crew history` share. One row per task, keyed by the controller's receipt order
// (`seq`), with who, what, where, when, status and the reply as it went on the wire.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "controller/sqlite.hpp"
#include "crew/buffer.hpp"
#include "protocol/hub_queries.hpp"

namespace crew::controller::store {

/// Where a finished task's result bytes are.
enum class Kept : std::uint8_t {
  here = 0,       ///< in the row (`result`)
  streamed = 1,   ///< its array streamed (or was copied) to its client and was never kept
  too_large = 2,  ///< above --db-max-result: only its client got it
};

/// The file of a profile's task database unless --db-path says otherwise.
std::filesystem::path default_file(const std::string& profile);
/// The task database the profile's last controller kept (remember_file), wherever --db-path put
/// it; else default_file. What `crew results` and `crew history` read when no controller runs.
std::filesystem::path profile_file(const std::string& profile);
/// Notes in the profile (records.json, kept after the cluster stops) that its records are in `file`.
void remember_file(const std::string& profile, const std::filesystem::path& file);

/// A task's row: its crew msg id as a number (controller/msg_ids.hpp id_key), or -seq for an id
/// of another form. Rows of one client's tasks follow each other.
std::int64_t row_of(std::string_view msg_id, std::uint64_t seq);

/// Creates the tables if the file is new; refuses a file of another schema, naming it.
void create_schema(sqlite::Db& db);
/// Refuses a file that is not a crew task database (opened read-only).
void check_schema(sqlite::Db& db);

std::optional<std::string> meta(sqlite::Db& db, const std::string& key);
void set_meta(sqlite::Db& db, const std::string& key, const std::string& value);

/// The frames of a reply, as one blob: one frame as it is; several as their sizes (u64 each)
/// then their bytes. `frames` is their count (a column of its own).
std::vector<std::byte> join_frames(std::span<const Buffer> frames);
std::vector<Buffer> split_frames(std::span<const std::byte> blob, std::int64_t frames);

/// A finished task's reply as stored.
struct StoredReply {
  std::uint64_t seq = 0;
  std::string msg_id;
  wire::TaskState state = wire::TaskState::pending;
  int engine = -1;
  Kept kept = Kept::here;
  std::uint64_t bytes = 0;  ///< the result's size, stored or not
  Buffer header;            ///< the reply's header as it went on the wire
  std::vector<Buffer> payload;
};

/// The newest finished row of that id (an id other than crew's "<session>-<n>" may be on record
/// twice, from two runs).
std::optional<StoredReply> read_reply(sqlite::Db& db, const std::string& msg_id);

/// How a finished task ended, as on record: what a dependency on it needs.
struct Outcome {
  std::uint64_t seq = 0;
  bool failed = false;
  int engine = -1;
};
/// The newest finished row of that id's outcome (its result is not read).
std::optional<Outcome> read_outcome(sqlite::Db& db, const std::string& msg_id);

/// Rows that match `ask`, oldest first, among those with seq below `before_seq` but `except`'s;
/// with ask.last, only the newest that many (`matched` counts them all).
struct HistoryRows {
  std::vector<wire::HistoryEntry> tasks;
  std::uint64_t matched = 0;
};
HistoryRows read_history(sqlite::Db& db, const wire::HistoryRequest& ask, std::uint64_t before_seq,
                         std::span<const std::uint64_t> except = {});

/// Deletes finished rows below `before_seq` submitted before `submitted_before_us` (0: any);
/// returns how many and their results' bytes.
struct Deleted {
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
};
Deleted delete_finished(sqlite::Db& db, std::uint64_t before_seq, std::int64_t submitted_before_us);
/// Deletes one finished row by id (below `before_seq`); nullopt if there is none.
std::optional<Deleted> delete_finished(sqlite::Db& db, const std::string& msg_id, std::uint64_t before_seq);

/// What a restore (crew controller --restore) takes over from the run before: the key and the
/// addresses (clients and worlds reconnect to them by themselves), the worlds' places, and which
/// client each msg-id session was.
struct RestorePoint {
  std::string key_hex, client_url, engine_url;
  struct World {
    int id = -1;
    std::string routing_id;
    int first_engine = 0;
    int size = 0;
    bool alive = false;  ///< when the last run last wrote it
  };
  std::vector<World> worlds;
  std::vector<std::pair<std::string, std::string>> sessions;  ///< session name -> client routing id
};
/// Throws [crew.hub.db_failed] naming the file if no controller ever ran on it.
RestorePoint read_restore_point(sqlite::Db& db);
/// The meta values of RestorePoint::worlds.
std::string worlds_text(const std::vector<RestorePoint::World>& worlds);
inline std::string session_key(const std::string& session) { return "session:" + session; }

/// Rows an earlier run left taken and unfinished (status 0, seq below `before_seq`) are marked
/// failed: [crew.connection.controller_restarted]. Returns how many.
std::uint64_t abandon_open(sqlite::Db& db, std::uint64_t before_seq);

/// A task an earlier run took and did not finish.
struct OpenTask {
  std::string msg_id;
  std::string function;
  std::int64_t submitted_us = 0;
};
/// Those rows but `keep`'s, for a restored controller to fail (and tell their clients) or rerun.
std::vector<OpenTask> read_open(sqlite::Db& db, std::uint64_t before_seq, const std::vector<std::int64_t>& keep);

}  // namespace crew::controller::store
