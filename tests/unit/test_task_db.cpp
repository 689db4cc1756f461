// The task database on a real SQLite file: what the writer thread writes, when it is committed,
// what reading it back gives, and what a new run finds in it.
#include <doctest/doctest.h>

#include <poll.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>

#include "controller/msg_ids.hpp"
#include "controller/task_db.hpp"
#include "controller/task_store.hpp"
#include "protocol/header.hpp"
#include "protocol/wire.hpp"
#include "test_support.hpp"

using namespace crew;
using namespace crew::controller;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// A reply as an engine sends it: a header (times, error) and body frames.
struct Reply {
  Buffer header;
  std::vector<Buffer> payload;
};
Reply reply(const std::string& msg_id, std::int64_t started_us, const std::string& error_type = {},
            std::vector<Buffer> payload = {Buffer::copy("result")}) {
  wire::Header h;
  h.kind = wire::MsgKind::apply_reply;
  h.msg_ids = {msg_id};
  h.function = "fn";
  h.started_us = started_us;
  h.completed_us = started_us + 10;
  if (!error_type.empty()) h.error = {errc::exception, error_type, "it threw", {}};
  return {wire::encode_header(h), std::move(payload)};
}

/// Waits (with a deadline) until everything recorded so far is committed, running the answers.
void settle(TaskDb& db) {
  db.end_turn();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (db.committed() < db.durable_after() && std::chrono::steady_clock::now() < until) {
    pollfd fd{db.fd(), POLLIN, 0};
    (void)::poll(&fd, 1, 100);
  }
  db.answered();
  REQUIRE(db.committed() >= db.durable_after());
}

std::string text(const Buffer& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

}  // namespace

TEST_SUITE("unit.task_db") {

  TEST_CASE("a task taken and finished in one commit, and one finished later, read back as they were sent") {
    crew::testing::TempDir dir("crew-task-db");
    const std::string fn = "square";
    TaskDb db({.file = dir.path() / "tasks.db", .exclusive = false});
    CHECK(db.start().next_seq == 1);
    CHECK(db.start().records == 0);
    db.taken(1, "1-1", &fn, 0, 1000);
    const Reply r1 = reply("1-1", 2000);
    db.finished(1, "1-1", 0, false, false, r1.header, r1.payload);
    db.taken(2, "1-2", &fn, -1, 1100);
    CHECK(db.durable_after() == 1);
    settle(db);
    // A result is durable once committed(): the turn is counted then, not before.
    CHECK(db.committed() == 1);
    const Reply r2 = reply("1-2", 3000, "crew.remote.exception",
                           {Buffer::copy("first frame"), Buffer::copy(""), Buffer::copy("third")});
    db.finished(2, "1-2", 3, true, false, r2.header, r2.payload);
    CHECK(db.durable_after() == 2);
    settle(db);

    sqlite::Db file(dir.path() / "tasks.db", sqlite::Db::Mode::read_only);
    const auto one = store::read_reply(file, std::string("1-1"));
    REQUIRE(one);
    CHECK(one->seq == 1);
    CHECK(one->state == wire::TaskState::ok);
    CHECK(one->engine == 0);
    CHECK(one->header.size() == r1.header.size());
    REQUIRE(one->payload.size() == 1);
    CHECK(text(one->payload[0]) == "result");
    const auto two = store::read_reply(file, std::string("1-2"));
    REQUIRE(two);
    CHECK(two->msg_id == "1-2");
    CHECK(two->state == wire::TaskState::failed);
    CHECK(two->engine == 3);
    REQUIRE(two->payload.size() == 3);
    CHECK(text(two->payload[0]) == "first frame");
    CHECK(two->payload[1].size() == 0);
    CHECK(text(two->payload[2]) == "third");
    CHECK(wire::decode_header(two->header.bytes()).error.type == "crew.remote.exception");
    CHECK_FALSE(store::read_reply(file, std::string("1-3")));
  }

  TEST_CASE("history filters by time, status and engine, oldest first, and --last keeps the newest") {
    crew::testing::TempDir dir("crew-task-db");
    const std::string fn = "f";
    TaskDb db({.file = dir.path() / "tasks.db", .write_taken_after = 0ms, .exclusive = false});
    for (std::uint64_t i = 1; i <= 6; ++i) {
      const std::string id = "1-" + std::to_string(i);
      db.taken(i, id, &fn, static_cast<int>(i % 2), static_cast<std::int64_t>(i) * 100);
      if (i <= 5) {
        const Reply r = reply(id, 0, i == 3 ? "crew.remote.exception" : "");
        db.finished(i, id, static_cast<int>(i % 2), i == 3, false, r.header, r.payload);
      }
    }
    settle(db);
    sqlite::Db file(dir.path() / "tasks.db", sqlite::Db::Mode::read_only);
    const auto ids = [](const store::HistoryRows& rows) {
      std::vector<std::string> out;
      for (const auto& e : rows.tasks) out.push_back(e.msg_id);
      return out;
    };
    CHECK(ids(store::read_history(file, {}, UINT64_MAX)) ==
          std::vector<std::string>{"1-1", "1-2", "1-3", "1-4", "1-5", "1-6"});
    CHECK(ids(store::read_history(file, {.since_us = 300}, UINT64_MAX)) ==
          std::vector<std::string>{"1-3", "1-4", "1-5", "1-6"});
    CHECK(ids(store::read_history(file, {.only = {2}}, UINT64_MAX)) == std::vector<std::string>{"1-3"});
    CHECK(ids(store::read_history(file, {.only = {0}}, UINT64_MAX)) == std::vector<std::string>{"1-6"});
    CHECK(ids(store::read_history(file, {.engines = {0}}, UINT64_MAX)) ==
          std::vector<std::string>{"1-2", "1-4", "1-6"});
    const auto last = store::read_history(file, {.last = 2}, UINT64_MAX);
    CHECK(ids(last) == std::vector<std::string>{"1-5", "1-6"});
    CHECK(last.matched == 6);
    CHECK(ids(store::read_history(file, {}, 4)) == std::vector<std::string>{"1-1", "1-2", "1-3"});
    const auto failed = store::read_history(file, {.only = {2}}, UINT64_MAX).tasks.front();
    CHECK(failed.error == "crew.remote.exception");
    CHECK(failed.function == "f");
  }

  TEST_CASE("forgotten rows go; a new run continues the seqs and sessions and fails what a dead one left") {
    crew::testing::TempDir dir("crew-task-db");
    const std::string fn = "f";
    {
      TaskDb db({.file = dir.path() / "tasks.db", .exclusive = false});
      for (std::uint64_t i = 1; i <= 3; ++i) db.taken(i, "5-" + std::to_string(i), &fn, 0, 1);
      const Reply r = reply("5-1", 0);
      db.finished(1, "5-1", 0, false, false, r.header, r.payload);
      db.set_meta("next_session", "9");
      settle(db);
      db.forgotten(1, "5-1");
      settle(db);
    }
    TaskDb again({.file = dir.path() / "tasks.db", .exclusive = false});
    CHECK(again.start().next_seq == 4);
    CHECK(again.start().next_session == 9);
    CHECK(again.start().records == 2);
    CHECK(again.start().abandoned == 2);  // 5-2 and 5-3 never finished
    sqlite::Db file(dir.path() / "tasks.db", sqlite::Db::Mode::read_only);
    CHECK_FALSE(store::read_reply(file, std::string("5-1")));
    const auto left = store::read_reply(file, std::string("5-2"));
    REQUIRE(left);
    CHECK(left->state == wire::TaskState::failed);
    CHECK(left->header.empty());  // no reply ever came: the controller says why when asked
  }

  TEST_CASE("a restore keeps a dead run's unfinished rows open, and reads its key, worlds and sessions back") {
    crew::testing::TempDir dir("crew-task-db");
    const std::string fn = "f";
    {
      TaskDb db({.file = dir.path() / "tasks.db", .exclusive = false});
      for (std::uint64_t i = 1; i <= 3; ++i) db.taken(i, "7-" + std::to_string(i), &fn, i == 3 ? 1 : 0, 100 + i);
      const Reply r = reply("7-1", 0);
      db.finished(1, "7-1", 0, false, false, r.header, r.payload);
      db.set_meta("key_hex", "00ff");
      db.set_meta("client_url", "tcp://h:1234");
      db.set_meta("worlds", store::worlds_text({{0, "world-a", 0, 2, true}, {1, "world-b", 2, 1, false}}));
      db.set_meta(store::session_key("7"), "client-x");
      settle(db);
    }
    TaskDb restored({.file = dir.path() / "tasks.db", .exclusive = false, .keep_unfinished = true});
    CHECK(restored.start().abandoned == 0);
    CHECK(restored.start().unfinished == 2);
    sqlite::Db file(dir.path() / "tasks.db", sqlite::Db::Mode::read_only);
    const auto point = store::read_restore_point(file);
    CHECK(point.key_hex == "00ff");
    CHECK(point.client_url == "tcp://h:1234");
    CHECK(point.engine_url.empty());
    REQUIRE(point.worlds.size() == 2);
    CHECK(point.worlds[0].routing_id == "world-a");
    CHECK(point.worlds[0].alive);
    CHECK(point.worlds[1].first_engine == 2);
    CHECK_FALSE(point.worlds[1].alive);
    REQUIRE(point.sessions.size() == 1);
    CHECK(point.sessions[0] == std::pair<std::string, std::string>("7", "client-x"));
    // What no world brought back: 7-2 (7-3 came back, kept by its row), oldest first, with what it was.
    const auto open = store::read_open(file, 4, {*id_key("7-3")});
    REQUIRE(open.size() == 1);
    CHECK(open[0].msg_id == "7-2");
    CHECK(open[0].function == "f");
    CHECK(open[0].submitted_us == 102);
  }

  TEST_CASE("there is nothing to restore from a file no controller with --db sqlite ran on, and it says so") {
    crew::testing::TempDir dir("crew-task-db");
    { TaskDb db({.file = dir.path() / "tasks.db", .exclusive = false}); }
    sqlite::Db file(dir.path() / "tasks.db", sqlite::Db::Mode::read_only);
    try {
      (void)store::read_restore_point(file);
      FAIL("read_restore_point accepted a file with no key");
    } catch (const Error& e) {
      CHECK(e.code() == errc::db_failed);
      CHECK(std::string(e.what()).find("nothing to restore") != std::string::npos);
    }
  }

  TEST_CASE("purging finished rows counts them and their bytes, spares pending ones and this run's") {
    crew::testing::TempDir dir("crew-task-db");
    const std::string fn = "f";
    TaskDb db({.file = dir.path() / "tasks.db", .write_taken_after = 0ms, .exclusive = false});
    for (std::uint64_t i = 1; i <= 4; ++i) {
      const std::string id = "1-" + std::to_string(i);
      db.taken(i, id, &fn, 0, static_cast<std::int64_t>(i) * 100);
      if (i != 2) {
        const Reply r = reply(id, 0, "", {Buffer::copy(std::string(10 * i, 'x'))});
        db.finished(i, id, 0, false, false, r.header, r.payload);
      }
    }
    settle(db);
    sqlite::Db file(dir.path() / "tasks.db", sqlite::Db::Mode::read_write);
    const auto before = store::delete_finished(file, 4, 250);  // 1-1 (2 is pending; 3, 4 too new)
    CHECK(before.rows == 1);
    CHECK(before.bytes == 10);
    CHECK_FALSE(store::delete_finished(file, std::string("1-2"), 4));  // pending
    CHECK_FALSE(store::delete_finished(file, std::string("1-4"), 4));  // seq 4 is not below 4
    const auto one = store::delete_finished(file, std::string("1-3"), 4);
    REQUIRE(one);
    CHECK(one->bytes == 30);
    const auto all = store::delete_finished(file, UINT64_MAX, 0);
    CHECK(all.rows == 1);  // 1-4; 1-2 stays pending
    CHECK(store::read_history(file, {}, UINT64_MAX).tasks.size() == 1);
  }

  TEST_CASE("a file that is not a task database, or cannot be opened, is refused naming it") {
    crew::testing::TempDir dir("crew-task-db");
    const fs::path other = dir.path() / "other.db";
    {
      sqlite::Db db(other, sqlite::Db::Mode::read_write);
      db.exec("CREATE TABLE t(x); INSERT INTO t VALUES(1)");
    }
    sqlite::Db db(other, sqlite::Db::Mode::read_only);
    try {
      store::check_schema(db);
      FAIL("check_schema accepted another file");
    } catch (const Error& e) {
      CHECK(e.code() == errc::db_failed);
      CHECK(std::string(e.what()).find(other.string()) != std::string::npos);
    }
    try {
      TaskDb bad({dir.path() / "no-such-dir" / "tasks.db"});
      FAIL("opened a file in a missing directory");
    } catch (const Error& e) {
      CHECK(e.code() == errc::db_failed);
      CHECK(std::string(e.what()).find("no-such-dir") != std::string::npos);
    }
  }

  TEST_CASE("a task taken is written when it finishes, or alone once the window has passed") {
    crew::testing::TempDir dir("crew-task-db");
    const std::string fn = "f";
    TaskDb db({.file = dir.path() / "tasks.db", .write_taken_after = 2s, .exclusive = false});
    db.taken(1, "1-1", &fn, 0, 100);
    db.taken(2, "1-2", &fn, 0, 200);
    const Reply r = reply("1-1", 0);
    db.finished(1, "1-1", 0, false, false, r.header, r.payload);
    settle(db);
    sqlite::Db file(dir.path() / "tasks.db", sqlite::Db::Mode::read_only);
    const auto rows = [&] { return store::read_history(file, {}, UINT64_MAX).tasks.size(); };
    CHECK(rows() == 1);  // 1-1, finished: written; 1-2 waits for its end or the window
    CHECK(crew::testing::poll_for([&] { return rows() == 2; }, 10s));
    const auto pending = store::read_history(file, {.only = {0}}, UINT64_MAX);
    REQUIRE(pending.tasks.size() == 1);
    CHECK(pending.tasks.front().msg_id == "1-2");
    const Reply r2 = reply("1-2", 0);
    db.finished(2, "1-2", 0, false, false, r2.header, r2.payload);
    settle(db);
    CHECK(store::read_history(file, {.only = {1}}, UINT64_MAX).tasks.size() == 2);
  }

  TEST_CASE("while a controller writes the file, it holds it: another process's read is refused, saying why") {
    crew::testing::TempDir dir("crew-task-db");
    const std::string fn = "f";
    TaskDb db({.file = dir.path() / "tasks.db"});  // exclusive, as the controller opens it
    db.taken(1, "1-1", &fn, 0, 100);
    const Reply r = reply("1-1", 0);
    db.finished(1, "1-1", 0, false, false, r.header, r.payload);
    settle(db);
    sqlite::Db reader(dir.path() / "tasks.db", sqlite::Db::Mode::read_only);
    try {
      (void)store::read_history(reader, {}, UINT64_MAX);
      FAIL("read a file the writer holds");
    } catch (const Error& e) {
      CHECK(e.code() == errc::db_failed);
      CHECK(std::string(e.what()).find("a running controller keeps its task database to itself") != std::string::npos);
    }
  }

  TEST_CASE("an id of another form than crew's is found by its text; on record twice, the newest answers") {
    crew::testing::TempDir dir("crew-task-db");
    const std::string fn = "f";
    for (std::uint64_t run = 0; run < 2; ++run) {
      TaskDb db({.file = dir.path() / "tasks.db", .exclusive = false});
      const std::uint64_t seq = db.start().next_seq;
      CHECK(seq == run * 2 + 1);
      db.taken(seq, "job-A", &fn, 0, 100);
      db.taken(seq + 1, "1-" + std::to_string(run + 1), &fn, 0, 100);
      const Reply a =
          reply("job-A", static_cast<std::int64_t>(run) * 1000, "", {Buffer::copy("run " + std::to_string(run))});
      db.finished(seq, "job-A", static_cast<int>(run), false, false, a.header, a.payload);
      settle(db);
    }
    sqlite::Db file(dir.path() / "tasks.db", sqlite::Db::Mode::read_write);
    const auto found = store::read_reply(file, std::string("job-A"));
    REQUIRE(found);
    CHECK(found->engine == 1);
    CHECK(text(found->payload.at(0)) == "run 1");
    CHECK(store::read_history(file, {}, UINT64_MAX).tasks.size() == 4);
    REQUIRE(store::delete_finished(file, std::string("job-A"), UINT64_MAX));
    CHECK(text(store::read_reply(file, std::string("job-A"))->payload.at(0)) == "run 0");
  }
}
