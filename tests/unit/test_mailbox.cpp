// Mailbox<T> (transport/mailbox.hpp): FIFO hand-over between threads, an eventfd that is readable
// exactly while items wait, and pop_wait's timeout.
#include <doctest/doctest.h>

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "transport/mailbox.hpp"

using namespace crew;
using namespace std::chrono_literals;

namespace {

/// Is `fd` readable within `timeout`? (poll with a timeout as a deadline, no sleeping)
bool readable(int fd, std::chrono::milliseconds timeout = 0ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 && (p.revents & POLLIN) != 0;
}

constexpr int item_count = 100'000;

std::vector<int> contents(Fifo<int>& f) { return {f.begin(), f.end()}; }

}  // namespace

TEST_SUITE("unit.fifo") {

  TEST_CASE("items leave in the order they came, also when pushes and pops interleave") {
    Fifo<int> f;
    std::vector<int> out;
    int next = 0;
    for (int round = 0; round < 50; ++round) {
      for (int i = 0; i < round % 7 + 1; ++i) f.push_back(next++);
      for (int i = 0; i < round % 5 && !f.empty(); ++i) out.push_back(f.pop_front());
    }
    while (!f.empty()) out.push_back(f.pop_front());
    REQUIRE(out.size() == static_cast<std::size_t>(next));
    for (int i = 0; i < next; ++i) CHECK(out[static_cast<std::size_t>(i)] == i);
  }

  TEST_CASE("take_all appends the other queue's waiting items and empties it") {
    Fifo<int> a, b;
    a.push_back(1);
    a.push_back(2);
    CHECK(a.pop_front() == 1);
    b.push_back(3);
    b.push_back(4);
    a.take_all(b);
    CHECK(contents(a) == std::vector<int>{2, 3, 4});
    CHECK(b.empty());
    Fifo<int> c;
    c.take_all(a);  // into an empty queue: the same, by a swap
    CHECK(contents(c) == std::vector<int>{2, 3, 4});
    CHECK(a.empty());
    CHECK(a.size() == 0);
  }
}

TEST_SUITE("unit.mailbox" * doctest::timeout(30)) {

  TEST_CASE("items pushed from another thread are drained in order, none lost") {
    Mailbox<int> box;
    std::thread producer([&] {
      for (int i = 0; i < item_count; ++i) box.push(i);
    });
    Fifo<int> got;
    int expected = 0;
    bool in_order = true;
    while (expected < item_count) {
      if (!readable(box.fd(), 5000ms)) break;  // a lost wakeup would stop here
      Fifo<int> batch;
      box.drain(batch);
      for (int x : batch) {
        if (x != expected) in_order = false;
        ++expected;
      }
    }
    producer.join();
    CHECK(in_order);
    CHECK(expected == item_count);
    Fifo<int> rest;
    CHECK(box.drain(rest) == 0);
  }

  TEST_CASE("items pushed from another thread arrive in order through pop_wait") {
    Mailbox<std::int64_t> box;
    std::thread producer([&] {
      for (std::int64_t i = 0; i < item_count; ++i) box.push(i);
    });
    std::int64_t expected = 0;
    bool in_order = true;
    while (expected < item_count) {
      auto x = box.pop_wait(5s);
      if (!x) break;
      if (*x != expected) in_order = false;
      ++expected;
    }
    producer.join();
    CHECK(in_order);
    CHECK(expected == item_count);
    CHECK_FALSE(box.try_pop().has_value());
  }

  TEST_CASE("the fd becomes readable after a push and not after a drain") {
    Mailbox<int> box;
    CHECK_FALSE(readable(box.fd()));
    box.push(1);
    CHECK(readable(box.fd()));
    box.push(2);  // already non-empty: still readable, one drain takes both
    CHECK(readable(box.fd()));
    Fifo<int> out;
    CHECK(box.drain(out) == 2);
    CHECK(contents(out) == std::vector<int>{1, 2});
    CHECK_FALSE(readable(box.fd()));
    box.push(3);  // re-armed after a drain
    CHECK(readable(box.fd()));
    CHECK(box.drain(out) == 1);
    CHECK(contents(out) == std::vector<int>{1, 2, 3});  // drain appends
    CHECK_FALSE(readable(box.fd()));
  }

  TEST_CASE("drain of an empty box returns zero and leaves the output alone") {
    Mailbox<int> box;
    Fifo<int> out;
    out.push_back(7);
    CHECK(box.drain(out) == 0);
    CHECK(contents(out) == std::vector<int>{7});
  }

  TEST_CASE("pop_wait times out with nothing") {
    Mailbox<int> box;
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(box.pop_wait(20ms).has_value());
    CHECK(std::chrono::steady_clock::now() - start >= 20ms);
    CHECK_FALSE(box.pop_wait(0ms).has_value());
  }

  TEST_CASE("pop_wait and try_pop take the oldest item first") {
    Mailbox<int> box;
    box.push(1);
    box.push(2);
    CHECK(box.pop_wait(1s) == 1);
    CHECK(box.try_pop() == 2);
    CHECK_FALSE(box.try_pop().has_value());
  }

  TEST_CASE("pop_wait wakes for an item pushed by another thread") {
    Mailbox<int> box;
    std::thread producer([&] { box.push(42); });
    CHECK(box.pop_wait(5s) == 42);
    producer.join();
  }

  TEST_CASE("move-only items pass through") {
    Mailbox<std::unique_ptr<int>> box;
    box.push(std::make_unique<int>(5));
    auto p = box.try_pop();
    REQUIRE(p.has_value());
    REQUIRE(*p != nullptr);
    CHECK(**p == 5);
  }

}  // TEST_SUITE
