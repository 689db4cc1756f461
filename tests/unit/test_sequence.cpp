// Splitting, joining and combining sequences (values/sequence.hpp): the seeds' partition, zero-copy
// slices, gather as the exact inverse of scatter, and element-wise reduction with clear mismatches.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "crew/error.hpp"
#include "errors_of.hpp"
#include "values/sequence.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

Value iota_array(std::uint64_t rows, std::uint64_t cols) {
  std::vector<std::int32_t> xs(rows * cols);
  std::iota(xs.begin(), xs.end(), 0);
  return Value(Array::from(std::move(xs), {rows, cols}));
}

}  // namespace

TEST_SUITE("sequence") {
  TEST_CASE("partition: contiguous sizes differing by at most one, the first parts larger") {
    CHECK(seq::partition(10, 4) == std::vector<std::uint64_t>{3, 3, 2, 2});
    CHECK(seq::partition(8, 4) == std::vector<std::uint64_t>{2, 2, 2, 2});
    CHECK(seq::partition(2, 3) == std::vector<std::uint64_t>{1, 1, 0});
    CHECK(seq::partition(0, 2) == std::vector<std::uint64_t>{0, 0});
    for (std::uint64_t n = 0; n < 40; ++n)
      for (std::size_t k = 1; k < 9; ++k) {
        const auto p = seq::partition(n, k);
        CHECK(std::accumulate(p.begin(), p.end(), std::uint64_t{0}) == n);
        CHECK(*std::max_element(p.begin(), p.end()) - *std::min_element(p.begin(), p.end()) <= 1);
      }
  }

  TEST_CASE("length of arrays (first axis) and lists; anything else is not a sequence") {
    CHECK(seq::length(iota_array(7, 3), "scatter") == 7);
    CHECK(seq::length(Value::list({1, 2}), "scatter") == 2);
    CHECK(code_of([] { (void)seq::length(Value(3.5), "scatter"); }) == errc::not_a_sequence);
    CHECK(code_of([] { (void)seq::length(Value("text"), "scatter"); }) == errc::not_a_sequence);
    CHECK(code_of([] { (void)seq::length(Value(Array(dtype::int8, {}, Buffer::copy("x"))), "scatter"); }) ==
          errc::not_a_sequence);
  }

  TEST_CASE("common_length: several sequences of one length (a map over them), else names the odd one") {
    CHECK(seq::common_length({iota_array(3, 2), Value::list({1, 2, 3})}, "map") == 3);
    CHECK(seq::common_length({Value::list({})}, "map") == 0);
    CHECK(code_of([] { (void)seq::common_length({}, "map"); }) == errc::bad_option);
    CHECK(code_of([] { (void)seq::common_length({Value::list({1}), Value(2.0)}, "map"); }) == errc::not_a_sequence);
    const std::string what = message_of([] {
      (void)seq::common_length({Value::list({1, 2}), Value::list({1, 2}), Value::list({1, 2, 3})}, "map");
    });
    CHECK(what.find("map: sequence 3 has 3 items, the first 2") != std::string::npos);
  }

  TEST_CASE("take slices arrays without copying and keeps the trailing shape") {
    const Value a = iota_array(5, 3);
    const Value part = seq::take(a, 2, 2);
    CHECK(part.as_array().shape() == std::vector<std::uint64_t>{2, 3});
    CHECK(part.as_array().data().data() == a.as_array().data().data() + 2 * 3 * sizeof(std::int32_t));
    CHECK(part.as_array().view<std::int32_t>()[0] == 6);
  }

  TEST_CASE("concat of the parts of every partition gives back the original (arrays and lists)") {
    const Value a = iota_array(11, 2);
    Value::List items;
    for (int i = 0; i < 11; ++i) items.push_back(Value(std::to_string(i)));
    const Value l(items);
    for (std::size_t k = 1; k <= 13; ++k) {
      for (const Value* whole : {&a, &l}) {
        std::vector<Value> parts;
        std::uint64_t at = 0;
        for (auto n : seq::partition(11, k)) {
          parts.push_back(seq::take(*whole, at, n));
          at += n;
        }
        CHECK(seq::concat(parts) == *whole);
      }
    }
  }

  TEST_CASE("concat refuses parts of another dtype, trailing shape or kind") {
    const Value a = iota_array(2, 3);
    CHECK(code_of([&] { (void)seq::concat({a, iota_array(2, 4)}); }) == errc::mismatch);
    CHECK(code_of([&] {
            (void)seq::concat({a, Value(Array::from(std::vector<double>(6), {2, 3}))});
          }) == errc::mismatch);
    CHECK(code_of([&] { (void)seq::concat({Value::list({1}), a}); }) == errc::mismatch);
    CHECK(code_of([&] { (void)seq::concat({Value(1)}); }) == errc::mismatch);
  }

  TEST_CASE("combine: numbers and arrays element by element, for every op") {
    CHECK(seq::combine(Value(2), Value(5), op::sum) == Value(7));
    CHECK(seq::combine(Value(2), Value(5), op::prod) == Value(10));
    CHECK(seq::combine(Value(2), Value(1.5), op::min) == Value(1.5));
    CHECK(seq::combine(Value(2), Value(5), op::max) == Value(5));
    const Value x(Array::from(std::vector<double>{1, 5, 3}));
    const Value y(Array::from(std::vector<double>{4, 2, 6}));
    CHECK(seq::combine(x, y, op::sum).get<std::vector<double>>() == std::vector<double>{5, 7, 9});
    CHECK(seq::combine(x, y, op::min).get<std::vector<double>>() == std::vector<double>{1, 2, 3});
    CHECK(seq::combine(x, y, op::max).get<std::vector<double>>() == std::vector<double>{4, 5, 6});
    const Value big(Array::from(std::vector<std::int64_t>{INT64_MAX}));
    CHECK(seq::combine(big, big, op::sum).as_array().view<std::int64_t>()[0] == -2);  // wraps like MPI
  }

  TEST_CASE("combine promotes int64 with float64 to float64, as NumPy and crew's numbers do") {
    const Value i(Array::from(std::vector<std::int64_t>{1, 2}));
    const Value d(Array::from(std::vector<double>{0.5, 0.25}));
    CHECK(seq::combine(i, d, op::sum) == Value(Array::from(std::vector<double>{1.5, 2.25})));
    CHECK(seq::combine(d, i, op::max) == Value(Array::from(std::vector<double>{1, 2})));
    CHECK(seq::combine(i, i, op::sum) == Value(Array::from(std::vector<std::int64_t>{2, 4})));
  }

  TEST_CASE("combine refuses other shapes, dtypes and kinds, naming both sides") {
    const Value x(Array::from(std::vector<double>{1, 2, 3}));
    try {
      (void)seq::combine(x, Value(Array::from(std::vector<double>{1, 2})), op::sum);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.code() == errc::mismatch);
      CHECK(std::string(e.what()).find("float64[3]") != std::string::npos);
      CHECK(std::string(e.what()).find("float64[2]") != std::string::npos);
    }
    CHECK(code_of([&] {
            (void)seq::combine(x, Value(Array::from(std::vector<float>{1, 2, 3})), op::sum);
          }) == errc::mismatch);
    CHECK(code_of([&] { (void)seq::combine(x, Value(1), op::sum); }) == errc::mismatch);
  }

  TEST_CASE("op names round trip") {
    for (op o : {op::sum, op::prod, op::min, op::max}) CHECK(op_from_name(op_name(o)) == o);
    CHECK_FALSE(op_from_name("avg"));
  }
}
