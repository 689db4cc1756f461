// Load-balancing schemes (controller/scheme.hpp): which candidate each one picks.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <vector>

#include "controller/scheme.hpp"

using namespace crew::controller;

namespace {

std::vector<Candidate> three() {
  return {{0, 3, 5}, {1, 1, 9}, {2, 1, 2}};  // engine, load, last use
}

/// How often each engine is picked over `n` draws.
std::map<int, int> histogram(Scheme s, const std::vector<Candidate>& c, int n) {
  std::mt19937_64 rng(12345);
  std::map<int, int> h;
  for (int i = 0; i < n; ++i) ++h[c[pick(s, c, rng)].engine];
  return h;
}

}  // namespace

TEST_SUITE("unit.scheme") {

  TEST_CASE("names round trip, and unknown names are refused") {
    for (Scheme s : {Scheme::leastload, Scheme::lru, Scheme::weighted, Scheme::random, Scheme::twobin})
      CHECK(scheme_from_name(scheme_name(s)) == s);
    CHECK_FALSE(scheme_from_name("fastest").has_value());
    CHECK_FALSE(scheme_from_name("").has_value());
    CHECK(scheme_names() == "leastload, lru, weighted, random, twobin");
  }

  TEST_CASE("leastload picks the fewest tasks in flight, ties to the least recently used") {
    std::mt19937_64 rng(1);
    auto c = three();
    CHECK(c[pick(Scheme::leastload, c, rng)].engine == 2);  // load 1 and used at 2, before engine 1 at 9
    c[2].load = 4;
    CHECK(c[pick(Scheme::leastload, c, rng)].engine == 1);
    std::vector<Candidate> fresh{{4, 0, 0}, {3, 0, 0}};  // never used: the lower id first
    CHECK(fresh[pick(Scheme::leastload, fresh, rng)].engine == 3);
  }

  TEST_CASE("leastload spreads one-at-a-time tasks round robin") {
    std::mt19937_64 rng(1);
    std::vector<Candidate> c{{0, 0, 0}, {1, 0, 0}, {2, 0, 0}};
    std::vector<int> order;
    for (std::uint64_t t = 1; t <= 6; ++t) {
      const std::size_t k = pick(Scheme::leastload, c, rng);
      order.push_back(c[k].engine);
      c[k].last_use = t;  // the task comes back before the next one goes
    }
    CHECK(order == std::vector<int>{0, 1, 2, 0, 1, 2});
  }

  TEST_CASE("lru ignores load") {
    std::mt19937_64 rng(1);
    auto c = three();
    CHECK(c[pick(Scheme::lru, c, rng)].engine == 2);
    c[2].last_use = 10;
    CHECK(c[pick(Scheme::lru, c, rng)].engine == 0);
  }

  TEST_CASE("random uses every engine about equally") {
    const auto h = histogram(Scheme::random, three(), 30000);
    for (int e : {0, 1, 2}) CHECK(h.at(e) == doctest::Approx(10000).epsilon(0.05));
  }

  TEST_CASE("twobin favours the less recently used of two random draws") {
    // P(pick) for three engines by LRU rank: 5/9, 3/9, 1/9.
    const auto h = histogram(Scheme::twobin, three(), 36000);
    CHECK(h.at(2) == doctest::Approx(20000).epsilon(0.05));  // used longest ago
    CHECK(h.at(0) == doctest::Approx(12000).epsilon(0.06));
    CHECK(h.at(1) == doctest::Approx(4000).epsilon(0.1));  // used most recently
  }

  TEST_CASE("weighted favours lightly loaded engines and never prefers the busiest draw") {
    std::vector<Candidate> c{{0, 8, 0}, {1, 1, 0}, {2, 1, 0}};
    auto h = histogram(Scheme::weighted, c, 30000);
    CHECK(h[0] < 300);  // only when both draws land on it (p ~ 0.35%)
    CHECK(h.at(1) == doctest::Approx(h.at(2)).epsilon(0.06));
  }

  TEST_CASE("a single candidate is always the one") {
    std::mt19937_64 rng(3);
    const std::vector<Candidate> one{{7, 100, 100}};
    for (Scheme s : {Scheme::leastload, Scheme::lru, Scheme::weighted, Scheme::random, Scheme::twobin})
      CHECK(pick(s, one, rng) == 0);
  }
}
