// Target lists as users type them (common/targets.hpp): "all", ids, ranges, and clear errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/targets.hpp"
#include "crew/error.hpp"

using namespace crew;

namespace {

std::vector<int> ids(std::string_view spec) {
  const auto parsed = parse_targets(spec);
  REQUIRE(parsed.has_value());
  return *parsed;
}

}  // namespace

TEST_SUITE("unit.targets" * doctest::timeout(30)) {

  TEST_CASE("all and * mean every engine") {
    CHECK_FALSE(parse_targets("all").has_value());
    CHECK_FALSE(parse_targets("*").has_value());
    CHECK_FALSE(parse_targets("  all ").has_value());
  }

  TEST_CASE("single ids, lists and ranges parse in the order given") {
    CHECK(ids("3") == std::vector<int>{3});
    CHECK(ids("0") == std::vector<int>{0});
    CHECK(ids("0,2-3") == std::vector<int>{0, 2, 3});
    CHECK(ids("5,1,3") == std::vector<int>{5, 1, 3});
    CHECK(ids("4-4") == std::vector<int>{4});
    CHECK(ids("2147483647") == std::vector<int>{2147483647});
  }

  TEST_CASE("spaces around ids, commas and dashes are ignored") {
    CHECK(ids(" 1 , 2 ") == std::vector<int>{1, 2});
    CHECK(ids("0 - 2, 5") == std::vector<int>{0, 1, 2, 5});
  }

  TEST_CASE("duplicates are removed, keeping the first occurrence") {
    CHECK(ids("1,1") == std::vector<int>{1});
    CHECK(ids("2,0-3,1") == std::vector<int>{2, 0, 1, 3});
  }

  TEST_CASE("bad target lists throw bad_targets and quote the input") {
    for (const std::string bad : {"", "   ", "a", "3-1", "1,,2", "-1", "1,", ",1", "1-", "1-2-3", "1.5", "+1", "2x",
                                  "99999999999", "0-2000000", "all,1"}) {
      CAPTURE(bad);
      try {
        (void)parse_targets(bad);
        FAIL_CHECK("accepted");
      } catch (const InputError& e) {
        CHECK(e.code() == errc::bad_targets);
        const std::string what = e.what();
        CHECK(what.rfind("[crew.input.bad_targets]", 0) == 0);
        const auto first = bad.find_first_not_of(' ');
        const std::string trimmed = first == std::string::npos ? "" : bad.substr(first);
        CHECK(what.find("'" + trimmed + "'") != std::string::npos);
      }
    }
  }

  TEST_CASE("a backwards range says so") {
    try {
      (void)parse_targets("3-1");
      FAIL_CHECK("accepted");
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).find("backwards") != std::string::npos);
    }
  }

  TEST_CASE("format_id_ranges compresses runs of a sorted id list") {
    CHECK(format_id_ranges({}) == "");
    CHECK(format_id_ranges({3}) == "3");
    CHECK(format_id_ranges({1, 2}) == "1-2");
    CHECK(format_id_ranges({0, 1, 2, 3, 5}) == "0-3,5");
    CHECK(format_id_ranges({0, 2, 4}) == "0,2,4");
    CHECK(format_id_ranges({0, 1, 3, 4, 5, 9}) == "0-1,3-5,9");
  }

  TEST_CASE("format_id_ranges output parses back to the same ids") {
    for (const std::vector<int>& list :
         {std::vector<int>{0, 1, 2, 7, 8, 10}, std::vector<int>{4}, std::vector<int>{1, 3, 5}}) {
      CHECK(ids(format_id_ranges(list)) == list);
    }
  }

}  // TEST_SUITE
