// crew::Value, crew::Array and crew::Buffer: construction, type checks, checked access, equality,
// repr() and the array shape/size invariants.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "crew/error.hpp"
#include "crew/value.hpp"
#include "errors_of.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

TEST_SUITE("unit.value" * doctest::timeout(30)) {

  TEST_CASE("a default Value is null and nullptr makes null too") {
    CHECK(Value().is_null());
    CHECK(Value(nullptr).is_null());
    CHECK(Value().type_name() == "null");
    CHECK(Value().size() == 0);
  }

  TEST_CASE("every kind is constructed with its own type and type name") {
    struct Case {
      Value v;
      Value::kind k;
      std::string_view name;
    };
    const std::vector<Case> cases{
        {Value(true), Value::kind::boolean, "bool"},
        {Value(42), Value::kind::integer, "int"},
        {Value(std::int64_t{-7}), Value::kind::integer, "int"},
        {Value(std::uint8_t{200}), Value::kind::integer, "int"},
        {Value(3.5), Value::kind::real, "double"},
        {Value(1.5f), Value::kind::real, "double"},
        {Value("text"), Value::kind::string, "string"},
        {Value(std::string("s")), Value::kind::string, "string"},
        {Value(std::string_view("sv")), Value::kind::string, "string"},
        {Value(Buffer::copy("abc")), Value::kind::bytes, "bytes"},
        {Value(Array::from(std::vector<double>{1, 2})), Value::kind::array, "array"},
        {Value::list({1, "two"}), Value::kind::list, "list"},
        {Value::dict({{"a", 1}}), Value::kind::dict, "dict"},
        {Value(Ref("x")), Value::kind::ref, "ref"},
        {Value(Object{"T", Buffer::copy("z")}), Value::kind::object, "object"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.name);
      CHECK(c.v.type() == c.k);
      CHECK(c.v.type_name() == c.name);
      CHECK(kind_name(c.k) == c.name);
    }
  }

  TEST_CASE("exactly one type predicate holds for each kind, and is_number covers int and double") {
    const std::vector<Value> values{Value(),
                                    Value(false),
                                    Value(1),
                                    Value(1.0),
                                    Value("s"),
                                    Value(Buffer::copy("b")),
                                    Value(Array::from(std::vector<int>{1})),
                                    Value::list({}),
                                    Value::dict({}),
                                    Value(Ref("r")),
                                    Value(Object{"T", {}})};
    for (const auto& v : values) {
      CAPTURE(v.type_name());
      const int holds = int(v.is_null()) + int(v.is_bool()) + int(v.is_int()) + int(v.is_double()) +
                        int(v.is_string()) + int(v.is_bytes()) + int(v.is_array()) + int(v.is_list()) +
                        int(v.is_dict()) + int(v.is_ref()) + int(v.is_object());
      CHECK(holds == 1);
      CHECK(v.is_number() == (v.is_int() || v.is_double()));
    }
  }

  TEST_CASE("checked accessors return the held value") {
    CHECK(Value(true).as_bool());
    CHECK(Value(-5).as_int() == -5);
    CHECK(Value(2.25).as_double() == 2.25);
    CHECK(Value("hi").as_string() == "hi");
    CHECK(Value(Buffer::copy("xyz")).as_bytes().str() == "xyz");
    CHECK(Value(Ref("n")).as_ref().name == "n");
    CHECK(Value(Object{"T", Buffer::copy("d")}).as_object().type == "T");
    CHECK(Value::list({1, 2}).as_list().size() == 2);
    CHECK(Value::dict({{"k", 1}}).as_dict().count("k") == 1);
  }

  TEST_CASE("as_double widens an int but as_int does not narrow a double") {
    CHECK(Value(7).as_double() == 7.0);
    CHECK_THROWS_AS(Value(7.0).as_int(), InputError);
  }

  TEST_CASE("a checked accessor of the wrong type throws value_type naming both types") {
    const std::string msg = input_error_of([] { (void)Value(12).as_string(); });
    CHECK(starts_with(msg, "[crew.input.value_type]"));
    CHECK(msg.find("string") != std::string::npos);
    CHECK(msg.find("int") != std::string::npos);
    CHECK(msg.find("12") != std::string::npos);  // the value itself is shown

    const std::string msg2 = input_error_of([] { (void)Value("x").as_list(); });
    CHECK(starts_with(msg2, "[crew.input.value_type]"));
    CHECK(msg2.find("list") != std::string::npos);
    CHECK(msg2.find("string") != std::string::npos);

    try {
      (void)Value().as_dict();
      FAIL("as_dict on null did not throw");
    } catch (const InputError& e) {
      CHECK(e.code() == errc::value_type);
      CHECK(e.message().find("dict") != std::string::npos);
      CHECK(e.message().find("null") != std::string::npos);
    }
  }

  TEST_CASE("every checked accessor rejects a null Value") {
    const Value v;
    CHECK_THROWS_AS(v.as_bool(), InputError);
    CHECK_THROWS_AS(v.as_int(), InputError);
    CHECK_THROWS_AS(v.as_double(), InputError);
    CHECK_THROWS_AS(v.as_string(), InputError);
    CHECK_THROWS_AS(v.as_bytes(), InputError);
    CHECK_THROWS_AS(v.as_array(), InputError);
    CHECK_THROWS_AS(v.as_list(), InputError);
    CHECK_THROWS_AS(v.as_dict(), InputError);
    CHECK_THROWS_AS(v.as_ref(), InputError);
    CHECK_THROWS_AS(v.as_object(), InputError);
  }

  TEST_CASE("operator[] indexes lists and looks up dict keys") {
    const Value l = Value::list({10, "b", 2.5});
    CHECK(l[0].as_int() == 10);
    CHECK(l[1].as_string() == "b");
    CHECK(l[2].as_double() == 2.5);
    CHECK(l.size() == 3);

    const Value d = Value::dict({{"a", 1}, {"b", Value::list({true})}});
    CHECK(d["a"].as_int() == 1);
    CHECK(d["b"][0].as_bool());
    CHECK(d.contains("a"));
    CHECK_FALSE(d.contains("z"));
    CHECK(d.size() == 2);
  }

  TEST_CASE("operator[] out of range says the index and the list size") {
    const Value l = Value::list({1, 2});
    const std::string msg = input_error_of([&] { (void)l[5]; });
    CHECK(starts_with(msg, "[crew.input.value_type]"));
    CHECK(msg.find("5") != std::string::npos);
    CHECK(msg.find("2") != std::string::npos);
  }

  TEST_CASE("operator[] with a missing key names the key") {
    const Value d = Value::dict({{"a", 1}});
    const std::string msg = input_error_of([&] { (void)d["missing_key"]; });
    CHECK(starts_with(msg, "[crew.input.value_type]"));
    CHECK(msg.find("missing_key") != std::string::npos);
  }

  TEST_CASE("operator[] on the wrong kind says which kind was expected") {
    const std::string by_index = input_error_of([] { (void)Value(3)[0]; });
    CHECK(by_index.find("list") != std::string::npos);
    const std::string by_key = input_error_of([] { (void)Value::list({1})["k"]; });
    CHECK(by_key.find("dict") != std::string::npos);
    CHECK_FALSE(Value::list({1}).contains("k"));
    CHECK(Value(3).size() == 0);
  }

  TEST_CASE("integers of every width are stored as int64") {
    CHECK(Value(std::int8_t{-128}).as_int() == -128);
    CHECK(Value(std::uint16_t{65535}).as_int() == 65535);
    CHECK(Value(std::uint32_t{4294967295u}).as_int() == 4294967295LL);
    CHECK(Value(std::numeric_limits<std::int64_t>::min()).as_int() == std::numeric_limits<std::int64_t>::min());
    CHECK(Value(static_cast<std::uint64_t>(INT64_MAX)).as_int() == INT64_MAX);
  }

  TEST_CASE("a uint64 above INT64_MAX is rejected") {
    const std::uint64_t big = static_cast<std::uint64_t>(INT64_MAX) + 1;
    const std::string msg = input_error_of([&] { Value v(big); });
    CHECK(starts_with(msg, "[crew.input.value_type]"));
    CHECK(msg.find(std::to_string(big)) != std::string::npos);
    CHECK_THROWS_AS(Value(std::numeric_limits<std::uint64_t>::max()), InputError);
    CHECK_THROWS_AS(Value(std::numeric_limits<unsigned long long>::max()), InputError);
  }

  TEST_CASE("equality compares kind and contents") {
    CHECK(Value(1) == Value(1));
    CHECK_FALSE(Value(1) == Value(2));
    CHECK_FALSE(Value(1) == Value(1.0));  // int and double are different kinds
    CHECK_FALSE(Value(true) == Value(1));
    CHECK(Value("a") == Value(std::string("a")));
    CHECK(Value() == Value(nullptr));
    CHECK(Value::list({1, Value::list({"x"})}) == Value::list({1, Value::list({"x"})}));
    CHECK_FALSE(Value::list({1, 2}) == Value::list({2, 1}));
    CHECK(Value::dict({{"a", 1}, {"b", 2}}) == Value::dict({{"b", 2}, {"a", 1}}));
    CHECK_FALSE(Value::dict({{"a", 1}}) == Value::dict({{"a", 2}}));
    CHECK(Value(Ref("x")) == Value(Ref("x")));
    CHECK_FALSE(Value(Ref("x")) == Value("x"));
    CHECK_FALSE(Value(Ref("x")) == Value(Ref("y")));
  }

  TEST_CASE("bytes compare by content, not by identity") {
    const Value a(Buffer::copy("same"));
    const Value b(Buffer::copy("same"));
    CHECK(a.as_bytes().data() != b.as_bytes().data());
    CHECK(a == b);
    CHECK_FALSE(a == Value(Buffer::copy("diff")));
    CHECK_FALSE(a == Value(Buffer::copy("sam")));
    CHECK(Value(Buffer()) == Value(Buffer::copy("")));
  }

  TEST_CASE("arrays compare dtype, shape and data") {
    const Value a(Array::from(std::vector<double>{1, 2, 3, 4}, {2, 2}));
    CHECK(a == Value(Array::from(std::vector<double>{1, 2, 3, 4}, {2, 2})));
    CHECK_FALSE(a == Value(Array::from(std::vector<double>{1, 2, 3, 4}, {4})));
    CHECK_FALSE(a == Value(Array::from(std::vector<double>{1, 2, 3, 5}, {2, 2})));
    CHECK_FALSE(Value(Array::from(std::vector<std::int64_t>{1})) == Value(Array::from(std::vector<double>{1})));
  }

  TEST_CASE("repr prints compact JSON-like text") {
    CHECK(Value().repr() == "null");
    CHECK(Value(true).repr() == "true");
    CHECK(Value(-3).repr() == "-3");
    CHECK(Value(1.0).repr() == "1.0");
    CHECK(Value(0.5).repr() == "0.5");
    CHECK(Value("a\"b\n").repr() == "\"a\\\"b\\n\"");
    CHECK(Value::list({1, "two", 3.5}).repr() == "[1, \"two\", 3.5]");
    CHECK(Value::dict({{"a", 1}, {"b", Value::list({})}}).repr() == "{\"a\": 1, \"b\": []}");
    CHECK(Value(Buffer::copy("abc")).repr() == "<bytes 3>");
    CHECK(Value(Array::from(std::vector<float>{1, 2, 3})).repr() == "<array float32 (3,)>");
    CHECK(Value(Array::from(std::vector<std::int32_t>(6), {2, 3})).repr() == "<array int32 (2, 3)>");
    CHECK(Value(Ref("x")).repr() == "Ref(x)");
    CHECK(Value(Object{"Point", Buffer::copy("1234")}).repr() == "<Point, 4 bytes>");
  }

  TEST_CASE("repr truncates at max_chars and marks the cut with an ellipsis") {
    const Value s(std::string(500, 'x'));
    const std::string r = s.repr(50);
    CHECK(r.size() == 53);
    CHECK(r.substr(50) == "...");
    CHECK(r.substr(0, 50) == "\"" + std::string(49, 'x'));

    CHECK(Value("abc").repr(5) == "\"abc\"");  // exactly the limit: no ellipsis
    CHECK(Value("abc").repr(4) == "\"abc...");

    Value::List many(100'000, Value(123456));
    const std::string lr = Value(std::move(many)).repr(40);
    CHECK(lr.size() == 43);
    CHECK(lr.substr(0, 8) == "[123456,");
    CHECK(lr.substr(40) == "...");
  }

  TEST_CASE("an array adopts a vector without copying and knows its shape") {
    std::vector<double> xs{1, 2, 3, 4, 5, 6};
    const double* p = xs.data();
    const Array a = Array::from(std::move(xs), {2, 3});
    CHECK(a.type() == dtype::float64);
    CHECK(a.ndim() == 2);
    CHECK(a.size() == 6);
    CHECK(a.shape() == std::vector<std::uint64_t>{2, 3});
    CHECK(a.data().size() == 48);
    CHECK(reinterpret_cast<const double*>(a.data().data()) == p);
    const auto view = a.view<double>();
    CHECK(view.data() == p);
    CHECK(view.size() == 6);
    CHECK(view[5] == 6.0);
  }

  TEST_CASE("an array whose buffer does not match dtype and shape is rejected") {
    const std::string msg = input_error_of([] {
      Array(dtype::float64, {2, 3}, Buffer::adopt(std::vector<double>(5)));
    });
    CHECK(starts_with(msg, "[crew.input.value_type]"));
    CHECK(msg.find("48") != std::string::npos);  // needed
    CHECK(msg.find("40") != std::string::npos);  // got
    CHECK(msg.find("(2, 3)") != std::string::npos);
    CHECK_THROWS_AS(Array(dtype::int32, {3}, Buffer::copy("12345678901")), InputError);
    CHECK_THROWS_AS(Array::from(std::vector<float>(4), {3}), InputError);
    CHECK_NOTHROW(Array(dtype::int16, {3}, Buffer::copy("123456")));
  }

  TEST_CASE("an array whose byte count overflows size_t is rejected") {
    // 2^61 float64 elements need 2^64 bytes, which wraps to 0 in a size_t: must not pass for an
    // empty buffer (the array would claim 2^61 readable elements over no memory).
    CHECK_THROWS_AS(Array(dtype::float64, {std::uint64_t{1} << 61}, Buffer()), InputError);
    CHECK_THROWS_AS(Array(dtype::int32, {std::uint64_t{1} << 31, std::uint64_t{1} << 31}, Buffer()), InputError);
    // Element count overflow on its own is already caught.
    CHECK_THROWS_AS(Array(dtype::uint8, {std::uint64_t{1} << 62, 8}, Buffer()), InputError);
  }

  TEST_CASE("zero-sized and zero-dimensional arrays are valid") {
    const Array empty;
    CHECK(empty.size() == 0);
    CHECK(empty.ndim() == 1);
    CHECK(empty.view<double>().empty());
    CHECK_NOTHROW(Array(dtype::int8, {4, 0}, Buffer()));
    const Array scalar(dtype::float64, {}, Buffer::adopt(std::vector<double>{2.5}));
    CHECK(scalar.ndim() == 0);
    CHECK(scalar.size() == 1);
    CHECK(scalar.at_double(0) == 2.5);
  }

  TEST_CASE("a typed view of the wrong dtype throws and names both dtypes") {
    const Array a = Array::from(std::vector<double>{1, 2});
    const std::string msg = input_error_of([&] { (void)a.view<float>(); });
    CHECK(starts_with(msg, "[crew.input.value_type]"));
    CHECK(msg.find("float64") != std::string::npos);
    CHECK(msg.find("float32") != std::string::npos);
    CHECK_THROWS_AS(a.view<std::int64_t>(), InputError);
    CHECK(a.view<double>().size() == 2);
  }

  TEST_CASE("at_double and at_int read elements of every dtype") {
    CHECK(Array::from(std::vector<std::int8_t>{-3}).at_int(0) == -3);
    CHECK(Array::from(std::vector<std::uint8_t>{250}).at_int(0) == 250);
    CHECK(Array::from(std::vector<std::int16_t>{-300}).at_double(0) == -300.0);
    CHECK(Array::from(std::vector<std::uint16_t>{60000}).at_int(0) == 60000);
    CHECK(Array::from(std::vector<std::int32_t>{0, -70000}).at_int(1) == -70000);
    CHECK(Array::from(std::vector<std::uint32_t>{4000000000u}).at_int(0) == 4000000000LL);
    CHECK(Array::from(std::vector<std::int64_t>{INT64_MIN}).at_int(0) == INT64_MIN);
    CHECK(Array::from(std::vector<std::uint64_t>{7}).at_int(0) == 7);
    CHECK(Array::from(std::vector<float>{0.5f}).at_double(0) == 0.5);
    CHECK(Array::from(std::vector<double>{1, 2.5}).at_double(1) == 2.5);
  }

  TEST_CASE("at_int refuses floating arrays and uint64 elements above INT64_MAX") {
    CHECK_THROWS_AS(Array::from(std::vector<double>{1}).at_int(0), InputError);
    CHECK_THROWS_AS(Array::from(std::vector<float>{1}).at_int(0), InputError);
    CHECK_THROWS_AS(Array::from(std::vector<std::uint64_t>{std::uint64_t{1} << 63}).at_int(0), InputError);
  }

  TEST_CASE("dtype names and sizes follow numpy") {
    CHECK(dtype_name(dtype::float64) == "float64");
    CHECK(dtype_name(dtype::uint16) == "uint16");
    CHECK(dtype_size(dtype::int8) == 1);
    CHECK(dtype_size(dtype::uint16) == 2);
    CHECK(dtype_size(dtype::float32) == 4);
    CHECK(dtype_size(dtype::int64) == 8);
    CHECK_FALSE(dtype_valid(0));
    CHECK(dtype_valid(static_cast<std::uint8_t>(dtype::int8)));
    CHECK(dtype_valid(static_cast<std::uint8_t>(dtype::float64)));
    CHECK_FALSE(dtype_valid(static_cast<std::uint8_t>(dtype::float64) + 1));
    CHECK(dtype_of<std::uint32_t>() == dtype::uint32);
    CHECK(dtype_of<const float>() == dtype::float32);
  }

  TEST_CASE("a buffer slice shares memory and refuses to reach outside") {
    const Buffer b = Buffer::copy("0123456789");
    const Buffer s = b.slice(2, 5);
    CHECK(s.str() == "23456");
    CHECK(s.data() == b.data() + 2);
    CHECK(s.owner() == b.owner());
    CHECK(b.slice(10, 0).empty());
    CHECK_THROWS_AS(b.slice(8, 3), InputError);
    CHECK_THROWS_AS(b.slice(11, 0), InputError);
    CHECK_THROWS_AS(b.slice(1, std::numeric_limits<std::size_t>::max()), InputError);
  }

  TEST_CASE("a buffer adopts a vector without copying and keeps it alive") {
    std::vector<std::int32_t> xs{1, 2, 3};
    const auto* p = reinterpret_cast<const std::byte*>(xs.data());
    Buffer copy;
    {
      const Buffer b = Buffer::adopt(std::move(xs));
      CHECK(b.data() == p);
      CHECK(b.size() == 12);
      copy = b;
    }
    CHECK(copy.data() == p);  // still alive through the copy
    std::int32_t third = 0;
    std::memcpy(&third, copy.data() + 8, 4);
    CHECK(third == 3);
  }

}  // TEST_SUITE
