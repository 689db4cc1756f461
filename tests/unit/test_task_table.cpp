// The controller's task records (controller/task_table.hpp): found by number for the ids crew
// clients make, by name for any other; never two records for one id; records never move; the
// oldest finished ones retire beyond a number, and their slots take new records.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "controller/task_table.hpp"

using crew::controller::TaskRecord;
using crew::controller::TaskTable;

namespace {
TaskRecord record(int engine) {
  TaskRecord r;
  r.engine_id = engine;
  return r;
}
}  // namespace

TEST_CASE("numbered and other ids are found, each under its own id, and records do not move") {
  TaskTable t;
  std::vector<TaskRecord*> added;
  for (int i = 0; i < 5000; ++i) added.push_back(t.add("a-" + std::to_string(i), record(i)));
  for (const char* id : {"garbage-header-1", "1-007", "01-7", "1-", "-1", "A-1", "x", "1-2-3"})
    REQUIRE(t.add(id, record(-7)) != nullptr);
  CHECK(t.size() == 5008);
  for (int i = 0; i < 5000; ++i) {
    TaskRecord* r = t.find("a-" + std::to_string(i));
    REQUIRE(r == added[static_cast<std::size_t>(i)]);  // the same record, where it was
    CHECK(r->engine_id == i);
    CHECK(*r->msg_id == "a-" + std::to_string(i));
  }
  CHECK(t.find("1-007") != nullptr);
  CHECK(t.find("1-7") == nullptr);  // not the same id as 1-007
  CHECK(t.find("a-5000") == nullptr);
  CHECK(t.find("b-1") == nullptr);
  CHECK(t.contains("garbage-header-1"));
  CHECK(*t.find("1-2-3")->msg_id == "1-2-3");
}

TEST_CASE("an id that is taken is refused, whichever index holds it") {
  TaskTable t;
  REQUIRE(t.add("3-10", record(1)) != nullptr);
  CHECK(t.add("3-10", record(2)) == nullptr);
  CHECK(t.find("3-10")->engine_id == 1);
  // Far ahead of its session's numbers: kept by name, and still found and refused by number.
  const std::string far = "3-" + std::to_string(std::size_t{1} << 40);
  REQUIRE(t.add(far, record(3)) != nullptr);
  CHECK(t.add(far, record(4)) == nullptr);
  CHECK(t.find(far)->engine_id == 3);
  // A session number no client could have (far past those seen): by name too.
  REQUIRE(t.add("zzzzzz-1", record(5)) != nullptr);
  CHECK(t.add("zzzzzz-1", record(6)) == nullptr);
  CHECK(t.find("zzzzzz-1")->engine_id == 5);
  CHECK(t.size() == 3);
  CHECK(t.counts().submitted == 3);
}

TEST_CASE("a purged record is found by no id and listed by no walk; its reply's bytes are given back") {
  TaskTable t;
  t.set_budget(1 << 20);
  std::vector<TaskRecord*> added;
  for (const char* id : {"a-1", "a-2", "other-id", "a-3"}) added.push_back(t.add(id, record(0)));
  for (TaskRecord* r : added) {
    const std::string body(100, 'x');
    r->set_reply({}, crew::Buffer::copy(std::string(10, 'h')), std::vector{crew::Buffer::copy(body)});
    t.mark_done(*r, false);
  }
  CHECK(t.kept_bytes() == 4 * 110);
  CHECK(t.purge(*added[0]) == 110);  // a numbered id
  CHECK(t.purge(*added[2]) == 110);  // an id held by name
  CHECK(t.kept_bytes() == 2 * 110);
  CHECK(t.find("a-1") == nullptr);
  CHECK(t.find("other-id") == nullptr);
  CHECK(t.find("a-2") == added[1]);
  CHECK(t.size() == 2);
  CHECK(t.purged() == 2);
  std::vector<std::string> walked;
  t.for_each([&](const TaskRecord& r) { walked.push_back(*r.msg_id); });
  CHECK(walked == std::vector<std::string>{"a-2", "a-3"});  // in the order added
  // Evicting steps over the purged records (their bytes were counted off already).
  t.set_budget(0);
  t.evict();
  CHECK(t.kept_bytes() == 0);
  CHECK(added[1]->evicted);
  CHECK_FALSE(added[0]->evicted);
}

TEST_CASE("beyond a number, the oldest finished records retire, but unfinished ones and those pointed at; their "
          "slots take new records") {
  TaskTable t;
  std::vector<TaskRecord*> added;
  for (int i = 0; i < 100; ++i) added.push_back(t.add("a-" + std::to_string(i), record(i)));
  for (int i = 0; i < 100; ++i)
    if (i != 3) t.mark_done(*added[static_cast<std::size_t>(i)], false);  // 3 still runs
  added[7]->queued = 1;                                                   // the balancer's queue points at 7
  bool pin_5 = true;                                                      // something else at 5
  const auto pinned = [&](const TaskRecord& r) { return pin_5 && &r == added[5]; };
  const std::uint64_t newest_retired = added[91]->seq;  // (its slot is cleared when it is freed)
  CHECK(t.retire(10, pinned) == 89);
  CHECK(t.retired() == 89);
  CHECK(t.finished_held() == 10);
  CHECK(t.size() == 11);
  CHECK(t.forgotten_held() == 0);  // every retired slot is free
  CHECK(t.find("a-0") == nullptr);
  CHECK(t.find("a-91") == nullptr);
  CHECK(t.find("a-3") == added[3]);
  CHECK(t.find("a-5") == added[5]);
  CHECK(t.find("a-7") == added[7]);
  CHECK(t.find("a-92") == added[92]);
  // Below the newest retired record, the task database answers but for the three held here.
  CHECK(t.retired_below() == newest_retired + 1);
  CHECK(t.held_below() == std::vector<std::uint64_t>{added[3]->seq, added[5]->seq, added[7]->seq});
  std::vector<int> walked;
  t.for_each([&](const TaskRecord& r) { walked.push_back(r.engine_id); });
  CHECK(walked == std::vector<int>{3, 5, 7, 92, 93, 94, 95, 96, 97, 98, 99});

  std::set<const TaskRecord*> freed;
  for (int i = 0; i < 92; ++i)
    if (i != 3 && i != 5 && i != 7) freed.insert(added[static_cast<std::size_t>(i)]);
  for (int i = 0; i < 89; ++i) {
    TaskRecord* r = t.add("b-" + std::to_string(i), record(1000 + i));
    REQUIRE(r != nullptr);
    CHECK(freed.contains(r));
    CHECK(*r->msg_id == "b-" + std::to_string(i));
    CHECK_FALSE(r->done);
    CHECK(r->seq == 101 + static_cast<std::uint64_t>(i));
    CHECK(t.find("b-" + std::to_string(i)) == r);
  }
  CHECK(t.find("a-3") == added[3]);
  CHECK(t.add("a-3", record(0)) == nullptr);  // still taken

  // Let go, the two finished ones left behind retire first (they are the oldest).
  pin_5 = false;
  added[7]->queued = 0;
  for (int i = 0; i < 2; ++i) t.mark_done(*t.find("b-" + std::to_string(i)), false);
  CHECK(t.retire(10, pinned) == 2);
  CHECK(t.find("a-5") == nullptr);
  CHECK(t.find("a-7") == nullptr);
  CHECK(t.find("a-92") == added[92]);
  CHECK(t.held_below() == std::vector<std::uint64_t>{added[3]->seq});
}

TEST_CASE("a session's index drops the numbers of records gone, and still finds the few it held among them") {
  TaskTable t;
  std::vector<TaskRecord*> added;
  constexpr int n = 20000;
  for (int i = 0; i < n; ++i) added.push_back(t.add("c-" + std::to_string(i), record(i)));
  for (int i = 0; i < n; ++i)
    if (i != 7 && i != 12345) t.mark_done(*added[static_cast<std::size_t>(i)], false);
  const auto none = [](const TaskRecord&) { return false; };
  for (int pass = 0; pass < 8; ++pass) t.retire(100, none);
  CHECK(t.size() == 102);
  CHECK(t.numbered_places() <= 4 * 102);  // not the 20,000 numbers seen
  CHECK(t.find("c-7") == added[7]);
  CHECK(t.find("c-12345") == added[12345]);
  CHECK(t.find("c-19999") == added[19999]);
  CHECK(t.find("c-10") == nullptr);
  CHECK(t.add("c-7", record(0)) == nullptr);
  TaskRecord* next = t.add("c-20000", record(1));
  REQUIRE(next != nullptr);
  CHECK(t.find("c-20000") == next);
}

TEST_CASE("function names are kept once each and found by number") {
  TaskTable t;
  const auto echo = t.function_id("echo");
  CHECK(echo != 0);
  CHECK(t.function_id("echo") == echo);
  CHECK(t.function_id("sleep") != echo);
  CHECK(t.function_id("") == 0);
  TaskRecord* r = t.add("a-1", record(0));
  r->function = echo;
  CHECK(t.function_name(*r) == "echo");
  r->function = 0;
  CHECK(t.function_name(*r).empty());
}
