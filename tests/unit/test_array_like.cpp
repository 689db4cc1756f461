// Lists as arrays (values/array_like.hpp, crew::to_array): the dtype and shape numpy.array gives a
// list, the widening that lets engines' parts agree, and why a list is not an array.
#include <doctest/doctest.h>

#include "crew/error.hpp"
#include "values/array_like.hpp"

using namespace crew;

namespace {

Value ints(std::initializer_list<std::int64_t> xs) {
  Value::List out;
  for (auto x : xs) out.emplace_back(x);
  return Value(std::move(out));
}

}  // namespace

TEST_SUITE("array_like") {
  TEST_CASE("a list of ints is int64 and a list with one double is float64, as numpy.array makes them") {
    const auto a = to_array(ints({1, 2, 3}));
    REQUIRE(a);
    CHECK(a->type() == dtype::int64);
    CHECK(a->shape() == std::vector<std::uint64_t>{3});
    CHECK(a->view<std::int64_t>()[2] == 3);
    const auto b = to_array(Value::list({1, 2.5, 3}));
    REQUIRE(b);
    CHECK(b->type() == dtype::float64);
    CHECK(std::vector<double>(b->view<double>().begin(), b->view<double>().end()) == std::vector<double>{1, 2.5, 3});
  }

  TEST_CASE("equal-length nested lists are an n-d array, row-major") {
    const auto a = to_array(Value::list({ints({1, 2}), ints({3, 4}), Value::list({5, 6.5})}));
    REQUIRE(a);
    CHECK(a->type() == dtype::float64);
    CHECK(a->shape() == std::vector<std::uint64_t>{3, 2});
    CHECK(a->at_double(2) == 3);
    CHECK(a->at_double(5) == 6.5);
    const auto cube = to_array(Value::list({Value::list({ints({1}), ints({2})}), Value::list({ints({3}), ints({4})})}));
    REQUIRE(cube);
    CHECK(cube->shape() == std::vector<std::uint64_t>{2, 2, 1});
    CHECK(cube->at_int(3) == 4);
  }

  TEST_CASE("a list of arrays of one dtype and shape stacks them") {
    const Value row = Value(Array::from(std::vector<float>{1, 2, 3}));
    const auto a = to_array(Value::list({row, row}));
    REQUIRE(a);
    CHECK(a->type() == dtype::float32);
    CHECK(a->shape() == std::vector<std::uint64_t>{2, 3});
    CHECK(a->at_double(4) == 2);
    CHECK_FALSE(to_array(Value::list({row, Value(Array::from(std::vector<double>{1, 2, 3}))})));
  }

  TEST_CASE("an empty list is float64[0] that may take any dtype; a list of ints may take float64") {
    const auto e = seq::array_like(Value(Value::List{}));
    REQUIRE(e);
    CHECK(e->type == dtype::float64);
    CHECK(e->shape == std::vector<std::uint64_t>{0});
    CHECK(e->widens);
    CHECK(seq::to_array(Value(Value::List{}), dtype::int32).shape() == std::vector<std::uint64_t>{0});
    const Array widened = seq::to_array(ints({1, 2}), dtype::float64);
    CHECK(widened.type() == dtype::float64);
    CHECK(widened.at_double(1) == 2.0);
    CHECK_FALSE(seq::array_like(Value::list({1.5}))->widens);
    CHECK_THROWS_AS(seq::to_array(Value::list({1.5}), dtype::int64), InputError);
    CHECK_THROWS_AS(seq::to_array(ints({1}), dtype::float32), InputError);
  }

  TEST_CASE("ragged lists, strings, bools and scalars are not arrays, and the reason says where") {
    std::string why;
    CHECK_FALSE(seq::array_like(Value::list({ints({1, 2}), ints({3})}), &why));
    CHECK(why.find("item [1]") != std::string::npos);
    CHECK(why.find("ragged") != std::string::npos);
    CHECK_FALSE(seq::array_like(Value::list({1, "two"}), &why));
    CHECK(why.find("item [1] is string") != std::string::npos);
    CHECK_FALSE(to_array(Value::list({true, false})));
    CHECK_FALSE(to_array(Value::list({ints({1}), 2})));
    CHECK_FALSE(to_array(Value(5)));
    CHECK_FALSE(to_array(Value(Array(dtype::float64, {}, Buffer::adopt(std::vector<double>{1.0})))));
  }

  TEST_CASE("an array is itself, not a copy; int64 data may become float64, other dtypes stay") {
    const Value a = Value(Array::from(std::vector<std::int16_t>{1, 2}));
    CHECK(to_array(a) == a.as_array());
    CHECK(to_array(a)->data().data() == a.as_array().data().data());
    CHECK_FALSE(seq::array_like(a)->widens);
    CHECK_THROWS_AS(seq::to_array(a, dtype::float64), InputError);
    const Value i = Value(Array::from(std::vector<std::int64_t>{1, 2}, {2, 1}));
    CHECK(seq::array_like(i)->widens);
    const Array d = seq::to_array(i, dtype::float64);
    CHECK(d.type() == dtype::float64);
    CHECK(d.shape() == std::vector<std::uint64_t>{2, 1});
    CHECK(d.at_double(1) == 2.0);
  }
}
