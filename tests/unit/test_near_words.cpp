// "Did you mean": nearest words by edit distance (common/near_words.hpp), as the CLI's verbs and
// the engines' function names use them.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/near_words.hpp"

using namespace crew;

TEST_SUITE("unit.near_words" * doctest::timeout(30)) {

  TEST_CASE("a swapped pair of neighbours is one edit") {
    CHECK(edit_distance("strat", "start") == 1);
    CHECK(edit_distance("clsuter", "cluster") == 1);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("same", "same") == 0);
  }

  TEST_CASE("the nearest come first, ties in the candidates' order, and far words are left out") {
    const std::vector<std::string> verbs{"start", "add", "stop", "status", "list"};
    CHECK(near_words("strat", verbs) == std::vector<std::string>{"start"});
    CHECK(near_words("stat", verbs) == std::vector<std::string>{"start", "status", "stop"});
    CHECK(near_words("zzzzzzzz", verbs).empty());
    CHECK(near_words("sta", verbs, 2).size() == 2);
  }

  TEST_CASE("a word containing a candidate, or contained in it, is near unless too short") {
    const std::vector<std::string> names{"world_sum", "sum", "a"};
    CHECK(near_words("world_summary", names).front() == "world_sum");
    const auto near_a = near_words("abcdefgh", names);
    CHECK(std::find(near_a.begin(), near_a.end(), "a") == near_a.end());
  }

  TEST_CASE("or_list joins words as a sentence") {
    CHECK(or_list({}).empty());
    CHECK(or_list({"a"}) == "a");
    CHECK(or_list({"a", "b"}) == "a or b");
    CHECK(or_list({"a", "b", "c"}) == "a, b or c");
  }

}  // TEST_SUITE
