// Conversions between crew::Value and ordinary C++ types (crew/convert.hpp): range checks,
// containers, arrays without copies, and the type names used in function signatures.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crew/error.hpp"
#include "crew/value.hpp"
#include "errors_of.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

/// The message of the value_type InputError that `f` throws.
template <class F>
std::string value_type_error_of(F&& f) {
  return input_error_of(std::forward<F>(f), errc::value_type);
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("unit.convert" * doctest::timeout(30)) {

  TEST_CASE("integers convert within range and keep their value") {
    CHECK(from_value<std::uint8_t>(Value(255)) == 255);
    CHECK(from_value<std::int8_t>(Value(-128)) == -128);
    CHECK(from_value<std::int16_t>(Value(-32768)) == -32768);
    CHECK(from_value<std::uint32_t>(Value(4294967295LL)) == 4294967295u);
    CHECK(from_value<std::int64_t>(Value(INT64_MIN)) == INT64_MIN);
    CHECK(from_value<std::uint64_t>(Value(INT64_MAX)) == static_cast<std::uint64_t>(INT64_MAX));
    CHECK(from_value<int>(Value(-5)) == -5);
  }

  TEST_CASE("an integer out of the target range fails with the range message") {
    const std::string msg = value_type_error_of([] { (void)from_value<std::uint8_t>(Value(300)); });
    CHECK(msg.rfind("[crew.input.value_type]", 0) == 0);
    CHECK(contains(msg, "integer 300 is out of range for uint8"));

    CHECK(contains(value_type_error_of([] { (void)from_value<std::int8_t>(Value(128)); }), "out of range for int8"));
    CHECK(contains(value_type_error_of([] { (void)from_value<std::int8_t>(Value(-129)); }), "out of range for int8"));
    CHECK(contains(value_type_error_of([] { (void)from_value<std::uint32_t>(Value(-1)); }), "out of range for uint32"));
    CHECK(contains(value_type_error_of([] { (void)from_value<std::uint64_t>(Value(-1)); }), "out of range for uint64"));
    CHECK(contains(value_type_error_of([] { (void)from_value<std::int32_t>(Value(std::int64_t{1} << 31)); }),
                   "out of range for int32"));
  }

  TEST_CASE("a double widens from an int but never narrows to one") {
    CHECK(from_value<double>(Value(3)) == 3.0);
    CHECK(from_value<float>(Value(2)) == 2.0f);
    CHECK(from_value<double>(Value(2.5)) == 2.5);
    const std::string msg = value_type_error_of([] { (void)from_value<int>(Value(2.0)); });
    CHECK(contains(msg, "int32"));
    CHECK(contains(msg, "double"));
    CHECK_THROWS_AS(from_value<std::int64_t>(Value(0.0)), InputError);
  }

  TEST_CASE("bool and string convert only from their own kinds") {
    CHECK(from_value<bool>(Value(true)));
    CHECK(from_value<std::string>(Value("s")) == "s");
    CHECK_THROWS_AS(from_value<bool>(Value(1)), InputError);
    CHECK_THROWS_AS(from_value<int>(Value(true)), InputError);
    CHECK_THROWS_AS(from_value<std::string>(Value(1)), InputError);
    CHECK_THROWS_AS(from_value<double>(Value("1.5")), InputError);
    CHECK_THROWS_AS(from_value<double>(Value()), InputError);
  }

  TEST_CASE("to_value of scalars gives the matching kinds") {
    CHECK(to_value(true).is_bool());
    CHECK(to_value(std::uint16_t{7}).as_int() == 7);
    CHECK(to_value(1.5f).as_double() == 1.5);
    CHECK(to_value(std::string("x")).as_string() == "x");
    CHECK(to_value("lit").as_string() == "lit");
    CHECK(to_value(nullptr).is_null());
    CHECK(Value(7).get<int>() == 7);
  }

  TEST_CASE("a vector of numbers becomes an Array and comes back equal") {
    const std::vector<double> xs{1.5, -2, 3};
    const Value v = to_value(xs);
    REQUIRE(v.is_array());
    CHECK(v.as_array().type() == dtype::float64);
    CHECK(v.as_array().shape() == std::vector<std::uint64_t>{3});
    CHECK(from_value<std::vector<double>>(v) == xs);
    CHECK(Value(xs) == v);  // Value's converting constructor takes the same path

    const std::vector<std::int32_t> is{1, -2};
    CHECK(to_value(is).as_array().type() == dtype::int32);
  }

  TEST_CASE("a moved vector of doubles becomes an Array without copying") {
    std::vector<double> xs(1000, 1.25);
    const double* p = xs.data();
    const Value v = ValueTraits<std::vector<double>>::to(std::move(xs));
    CHECK(reinterpret_cast<const double*>(v.as_array().data().data()) == p);

    std::vector<double> ys(1000, 2.5);
    const double* q = ys.data();
    const Value w(Array::from(std::move(ys)));
    CHECK(w.as_array().view<double>().data() == q);
  }

  TEST_CASE("to_value of a moved vector adopts it without copying") {
    // ValueTraits<std::vector<T>> has an rvalue overload for exactly this; to_value must reach it.
    std::vector<double> xs(1000, 1.25);
    const double* p = xs.data();
    const Value v = to_value(std::move(xs));
    CHECK(reinterpret_cast<const double*>(v.as_array().data().data()) == p);
  }

  TEST_CASE("a vector of ints comes from a list of ints or from an int32 Array") {
    CHECK(from_value<std::vector<int>>(Value::list({1, 2, 3})) == std::vector<int>{1, 2, 3});
    CHECK(from_value<std::vector<int>>(Value(Array::from(std::vector<std::int32_t>{4, 5}))) == std::vector<int>{4, 5});
    // Other integer dtypes convert element by element, range-checked.
    CHECK(from_value<std::vector<int>>(Value(Array::from(std::vector<std::int64_t>{6, 7}))) == std::vector<int>{6, 7});
    CHECK(contains(value_type_error_of([] {
                     (void)from_value<std::vector<std::uint8_t>>(Value(Array::from(std::vector<std::int32_t>{300})));
                   }),
                   "out of range for uint8"));
    // A floating array does not turn into integers.
    CHECK_THROWS_AS(from_value<std::vector<int>>(Value(Array::from(std::vector<double>{1.0}))), InputError);
    // A list with a non-int element names what arrived.
    CHECK(contains(value_type_error_of([] { (void)from_value<std::vector<int>>(Value::list({1, 2.5})); }), "2.5"));
  }

  TEST_CASE("a vector of doubles accepts lists of numbers and arrays of any numeric dtype") {
    CHECK(from_value<std::vector<double>>(Value::list({1, 2.5})) == std::vector<double>{1.0, 2.5});
    CHECK(from_value<std::vector<double>>(Value(Array::from(std::vector<std::int16_t>{-1, 2}))) ==
          std::vector<double>{-1.0, 2.0});
    CHECK(from_value<std::vector<float>>(Value(Array::from(std::vector<double>{0.5}))) == std::vector<float>{0.5f});
    CHECK(from_value<std::vector<double>>(Value::list({})).empty());
    CHECK_THROWS_AS(from_value<std::vector<double>>(Value("x")), InputError);
    CHECK_THROWS_AS(from_value<std::vector<double>>(Value::list({"x"})), InputError);
  }

  TEST_CASE("vectors of non-numbers travel as lists") {
    const std::vector<std::string> words{"a", "b"};
    const Value v = to_value(words);
    REQUIRE(v.is_list());
    CHECK(v == Value::list({"a", "b"}));
    CHECK(from_value<std::vector<std::string>>(v) == words);

    const std::vector<bool> flags{true, false};
    CHECK(to_value(flags) == Value::list({true, false}));
    CHECK(from_value<std::vector<bool>>(Value::list({false, true})) == std::vector<bool>{false, true});

    const std::vector<std::vector<int>> nested{{1}, {2, 3}};
    CHECK(from_value<std::vector<std::vector<int>>>(to_value(nested)) == nested);
  }

  TEST_CASE("string-keyed maps convert to and from dicts") {
    const std::map<std::string, int> m{{"a", 1}, {"b", 2}};
    const Value v = to_value(m);
    CHECK(v == Value::dict({{"a", 1}, {"b", 2}}));
    CHECK(from_value<std::map<std::string, int>>(v) == m);
    CHECK(Value(m) == v);

    const std::unordered_map<std::string, double> u{{"x", 0.5}};
    CHECK(to_value(u) == Value::dict({{"x", 0.5}}));
    CHECK(from_value<std::unordered_map<std::string, double>>(Value::dict({{"x", 1}, {"y", 2.5}})) ==
          std::unordered_map<std::string, double>{{"x", 1.0}, {"y", 2.5}});

    using IntMap = std::map<std::string, int>;
    CHECK_THROWS_AS(from_value<IntMap>(Value::list({})), InputError);
    CHECK_THROWS_AS(from_value<IntMap>(Value::dict({{"a", "no"}})), InputError);
  }

  TEST_CASE("tuples and pairs are lists of the right size") {
    const std::tuple<int, std::string, double> t{1, "two", 3.5};
    const Value v = to_value(t);
    CHECK(v == Value::list({1, "two", 3.5}));
    CHECK(from_value<std::tuple<int, std::string, double>>(v) == t);

    const std::pair<std::string, bool> p{"k", true};
    CHECK(to_value(p) == Value::list({"k", true}));
    CHECK(from_value<std::pair<std::string, bool>>(Value::list({"k", true})) == p);
  }

  TEST_CASE("a tuple of the wrong size says what it needs and what it got") {
    const std::string msg = value_type_error_of([] {
      (void)from_value<std::tuple<int, std::string>>(Value::list({1, "a", 3}));
    });
    CHECK(contains(msg, "tuple<int32, string> needs 2 elements, got 3"));
    const std::string pair_msg = value_type_error_of([] { (void)from_value<std::pair<int, int>>(Value::list({1})); });
    CHECK(contains(pair_msg, "needs 2 elements, got 1"));
    using IntPair = std::tuple<int, int>;
    CHECK_THROWS_AS(from_value<std::tuple<int>>(Value(1)), InputError);
    CHECK_THROWS_AS(from_value<IntPair>(Value::list({1, "x"})), InputError);
  }

  TEST_CASE("optional maps null to nullopt and back") {
    CHECK(to_value(std::optional<int>{}).is_null());
    CHECK(to_value(std::optional<int>{4}) == Value(4));
    CHECK(from_value<std::optional<int>>(Value()) == std::nullopt);
    CHECK(from_value<std::optional<int>>(Value(9)) == 9);
    CHECK_THROWS_AS(from_value<std::optional<int>>(Value("x")), InputError);
  }

  TEST_CASE("std::array needs exactly N elements") {
    const std::array<double, 3> a{1, 2, 3};
    const Value v = to_value(a);
    CHECK(v.is_array());
    CHECK((from_value<std::array<double, 3>>(v) == a));
    CHECK((from_value<std::array<int, 2>>(Value::list({7, 8})) == std::array<int, 2>{7, 8}));
    const std::string msg = value_type_error_of([] { (void)from_value<std::array<double, 3>>(Value::list({1, 2})); });
    CHECK(contains(msg, "array<double, 3> needs 3 elements, got 2"));
  }

  TEST_CASE("Value, Buffer, Array, Ref, List and Dict convert to themselves") {
    CHECK(from_value<Value>(Value(3)) == Value(3));
    CHECK(from_value<Buffer>(Value(Buffer::copy("b"))).str() == "b");
    CHECK(from_value<Ref>(Value(Ref("r"))).name == "r");
    CHECK(from_value<Value::List>(Value::list({1})).size() == 1);
    CHECK(from_value<Value::Dict>(Value::dict({{"a", 1}})).size() == 1);
    CHECK_THROWS_AS(from_value<Buffer>(Value("s")), InputError);
    CHECK_THROWS_AS(from_value<Array>(Value::list({})), InputError);
    CHECK_THROWS_AS(from_value<Ref>(Value("r")), InputError);
  }

  TEST_CASE("type names used in signatures read like the C++ types") {
    CHECK(type_name<double>() == "double");
    CHECK(type_name<float>() == "float");
    CHECK(type_name<bool>() == "bool");
    CHECK(type_name<std::int8_t>() == "int8");
    CHECK(type_name<std::uint8_t>() == "uint8");
    CHECK(type_name<std::int16_t>() == "int16");
    CHECK(type_name<int>() == "int32");
    CHECK(type_name<unsigned>() == "uint32");
    CHECK(type_name<std::int64_t>() == "int64");
    CHECK(type_name<long long>() == "int64");
    CHECK(type_name<std::uint64_t>() == "uint64");
    CHECK(type_name<std::string>() == "string");
    CHECK(type_name<const std::string&>() == "string");
    CHECK(type_name<Value>() == "value");
    CHECK(type_name<Buffer>() == "bytes");
    CHECK(type_name<Array>() == "array");
    CHECK(type_name<Ref>() == "ref");
    CHECK(type_name<Value::List>() == "list");
    CHECK(type_name<Value::Dict>() == "dict");
    CHECK(type_name<std::vector<double>>() == "vector<double>");
    CHECK(type_name<std::vector<std::vector<int>>>() == "vector<vector<int32>>");
    CHECK(type_name<std::map<std::string, std::int64_t>>() == "map<string, int64>");
    CHECK(type_name<std::unordered_map<std::string, double>>() == "map<string, double>");
    CHECK(type_name<std::optional<std::string>>() == "optional<string>");
    CHECK(type_name<std::tuple<int, std::string>>() == "tuple<int32, string>");
    CHECK(type_name<std::tuple<>>() == "tuple<>");
    CHECK(type_name<std::pair<double, bool>>() == "pair<double, bool>");
    CHECK(type_name<std::array<double, 3>>() == "array<double, 3>");
  }

}  // TEST_SUITE
