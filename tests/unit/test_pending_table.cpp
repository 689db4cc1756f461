// The client's table of answers it is owed (client/pending_table.hpp): its own tasks in a window
// by sequence number, stragglers moved to a map, other clients' tasks by msg id.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "client/client_core.hpp"
#include "client/pending_table.hpp"

using namespace crew::detail;

namespace {

std::string id(std::uint64_t seq) { return "7-" + std::to_string(seq); }

/// Takes the answer to `seq`; returns the slot numbers of those who hear it.
std::vector<std::size_t> take(PendingTable& t, const std::string& msg_id) {
  Hearers out;
  t.take(msg_id, out);
  std::vector<std::size_t> slots;
  for (const auto& p : out) slots.push_back(p.slot);
  return slots;
}

}  // namespace

TEST_CASE("own tasks are found by their sequence number, in any order, once") {
  PendingTable t;
  t.set_prefix("7-");
  auto state = std::make_shared<ResultState>();
  for (std::uint64_t seq = 10; seq < 20; ++seq) t.add(seq, Pending{state, seq - 10});
  CHECK(t.size() == 10);
  CHECK(take(t, id(15)) == std::vector<std::size_t>{5});
  CHECK(take(t, id(15)).empty());  // answered once
  CHECK(take(t, id(10)) == std::vector<std::size_t>{0});
  CHECK(take(t, id(9)).empty());   // before the window
  CHECK(take(t, id(20)).empty());  // after it
  CHECK(take(t, "8-11").empty());  // another client's number
  CHECK(take(t, "7-11x").empty());
  CHECK(t.size() == 8);
  for (std::uint64_t seq = 11; seq < 20; ++seq)
    if (seq != 15) CHECK(take(t, id(seq)) == std::vector<std::size_t>{seq - 10});
  CHECK(t.empty());
}

TEST_CASE("numbers added out of order (two submitting threads) are all found") {
  PendingTable t;
  t.set_prefix("7-");
  auto state = std::make_shared<ResultState>();
  t.add(200, Pending{state, 200});
  t.add(100, Pending{state, 100});  // an earlier number, posted later
  t.add(300, Pending{state, 300});
  CHECK(t.size() == 3);
  CHECK(take(t, id(300)) == std::vector<std::size_t>{300});
  CHECK(take(t, id(100)) == std::vector<std::size_t>{100});
  CHECK(take(t, id(200)) == std::vector<std::size_t>{200});
  CHECK(t.empty());
  t.add(5, Pending{state, 5});  // an empty table starts its window anywhere
  CHECK(take(t, id(5)) == std::vector<std::size_t>{5});
}

TEST_CASE("a task left unanswered while many later ones come and go is still found") {
  PendingTable t;
  t.set_prefix("7-");
  auto state = std::make_shared<ResultState>();
  t.add(0, Pending{state, 0});
  const std::uint64_t later = 600'000;  // well past the window
  for (std::uint64_t seq = 1; seq <= later; ++seq) {
    t.add(seq, Pending{state, 1});
    if (seq > 8) REQUIRE(take(t, id(seq - 8)).size() == 1);
  }
  CHECK(t.size() == 9);
  CHECK(take(t, id(0)) == std::vector<std::size_t>{0});
  for (std::uint64_t seq = later - 7; seq <= later; ++seq) CHECK(take(t, id(seq)).size() == 1);
  CHECK(t.empty());
}

TEST_CASE("watched tasks of other clients are heard by every watcher, and take_all empties the table") {
  PendingTable t;
  t.set_prefix("7-");
  auto state = std::make_shared<ResultState>();
  t.watch("3-1", Pending{state, 0});
  t.watch("3-1", Pending{state, 1});
  t.add(1, Pending{state, 2});
  t.add(900'000, Pending{state, 3});  // far ahead: the window moves, 1 goes to the map
  CHECK(take(t, "3-1").size() == 2);
  t.watch("3-2", Pending{state, 4});
  CHECK(t.size() == 3);
  CHECK(t.take_all().size() == 3);
  CHECK(t.empty());
  CHECK(take(t, id(1)).empty());
}
