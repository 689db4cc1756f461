// Task claims: the rank and the bridge race for an unstarted task; exactly one wins. The other
// side of the table is mapped again here, as a rank on rank 0's host maps it.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "crew/error.hpp"
#include "engine/task_claims.hpp"

using crew::detail::TaskClaims;

namespace {

std::string unique_tag() { return "test-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()); }

}  // namespace

TEST_SUITE("unit.task_claims") {
  TEST_CASE("a withdrawn task never starts, a started one is never withdrawn") {
    const std::string tag = unique_tag();
    TaskClaims bridge = TaskClaims::create(tag, 3);
    TaskClaims rank1 = TaskClaims::open(tag, 3, 1);
    TaskClaims::unlink(tag);
    CHECK(bridge.attended(1));
    CHECK_FALSE(bridge.attended(2));  // never mapped it: its tasks are never given back

    bridge.queued(1, 5);
    CHECK(bridge.withdraw(1, 5));
    CHECK_FALSE(bridge.withdraw(1, 5));  // once
    CHECK_FALSE(rank1.start(1, 5));      // the rank skips it

    bridge.queued(1, 6);
    CHECK(rank1.start(1, 6));
    CHECK_FALSE(bridge.withdraw(1, 6));

    bridge.queued(2, 7);
    CHECK_FALSE(bridge.withdraw(2, 7));
    CHECK(rank1.start(0, 0));  // not a balanced task: always runs
  }

  TEST_CASE("the bridge's word on live output reaches the ranks that map the table, and no slot") {
    const std::string tag = unique_tag();
    TaskClaims bridge = TaskClaims::create(tag, 2);
    TaskClaims rank1 = TaskClaims::open(tag, 2, 1);
    TaskClaims::unlink(tag);
    CHECK_FALSE(rank1.output_followed());     // nobody follows until the bridge says so
    bridge.queued(1, TaskClaims::slots - 1);  // the last slot of the last rank, just before the word
    bridge.set_output_followed(true);
    CHECK(rank1.output_followed());
    CHECK(rank1.start(1, TaskClaims::slots - 1));  // the word is not a slot
    bridge.set_output_followed(false);
    CHECK_FALSE(rank1.output_followed());
    CHECK(TaskClaims().output_followed());  // a rank without the table sends; the bridge filters
  }

  TEST_CASE("a slot reused a ring later belongs to the later task") {
    const std::string tag = unique_tag();
    TaskClaims claims = TaskClaims::create(tag, 1);
    TaskClaims::unlink(tag);
    claims.attend(0);
    claims.queued(0, 9);
    claims.queued(0, 9 + TaskClaims::slots);
    CHECK_FALSE(claims.withdraw(0, 9));  // its slot is taken: it cannot be given back
    CHECK(claims.start(0, 9));           // and it runs
    CHECK(claims.withdraw(0, 9 + TaskClaims::slots));
    CHECK_FALSE(claims.start(0, 9 + TaskClaims::slots));
  }

  TEST_CASE("racing for many tasks at once, each goes to exactly one side") {
    const std::string tag = unique_tag();
    TaskClaims bridge = TaskClaims::create(tag, 2);
    TaskClaims rank = TaskClaims::open(tag, 2, 1);
    TaskClaims::unlink(tag);
    constexpr std::uint64_t n = 2000;
    for (std::uint64_t s = 1; s <= n; ++s) bridge.queued(1, s);
    std::atomic<std::uint64_t> started{0}, withdrawn{0};
    std::thread runner([&] {
      for (std::uint64_t s = 1; s <= n; ++s) started += rank.start(1, s) ? 1 : 0;
    });
    for (std::uint64_t s = n; s >= 1; --s) withdrawn += bridge.withdraw(1, s) ? 1 : 0;
    runner.join();
    CHECK(started + withdrawn == n);
  }

  TEST_CASE("opening a table nobody created says so") {
    CHECK_THROWS_AS((void)TaskClaims::open(unique_tag(), 2, 1), crew::Error);
  }
}
