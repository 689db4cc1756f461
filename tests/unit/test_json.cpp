// crew::Value <-> JSON: the public text functions (crew/json.hpp) and the nlohmann::json ones
// crew's own code uses (values/json.hpp): round trips, the tagged objects ($ref, $bytes,
// $object), arrays as nested lists, parse errors, and base64.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crew/error.hpp"
#include "crew/json.hpp"
#include "crew/value.hpp"
#include "values/json.hpp"

using namespace crew;
using nlohmann::json;

namespace {

template <class F>
std::string bad_json_error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    CHECK(e.code() == errc::bad_json);
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("expected crew::InputError, got another exception: " << std::string(e.what()));
    return {};
  }
  FAIL_CHECK("expected crew::InputError");
  return {};
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("unit.json" * doctest::timeout(30)) {

  TEST_CASE("scalars, lists and dicts survive a JSON round trip") {
    const std::vector<Value> values{
        Value(),
        Value(true),
        Value(false),
        Value(0),
        Value(-42),
        Value(INT64_MAX),
        Value(INT64_MIN),
        Value(2.5),
        Value(1.0),
        Value(""),
        Value("text with \"quotes\" and \xc3\xa9"),
        Value::list({}),
        Value::dict({}),
        Value::list({1, "two", 3.5, Value(), Value::list({true})}),
        Value::dict({{"a", 1}, {"nested", Value::dict({{"b", Value::list({1, 2})}})}}),
    };
    for (const auto& v : values) {
      CAPTURE(v.repr());
      const Value back = from_json(to_json(v));
      CHECK(back == v);
      CHECK(parse_json(to_json(v).dump()) == v);
    }
  }

  TEST_CASE("to_json_text writes what parse_json reads, compact or indented") {
    const Value v = Value::dict({{"a", Value::list({1, 2.5, "x"})}, {"r", Ref("y")}, {"n", Value()}});
    const std::string compact = to_json_text(v);
    CHECK(compact == R"({"a":[1,2.5,"x"],"n":null,"r":{"$ref":"y"}})");
    CHECK(parse_json(compact) == v);
    const std::string indented = to_json_text(v, 2);
    CHECK(indented.find("\n  \"a\": [") != std::string::npos);
    CHECK(parse_json(indented) == v);
    CHECK(to_json_text(Value(Array::from(std::vector<int>{1, 2}))) == "[1,2]");
  }

  TEST_CASE("to_json_text of a string that is not UTF-8 is bad_json, not a JSON library exception") {
    const std::string msg = bad_json_error_of([] { to_json_text(Value(std::string("\xff\xfe"))); });
    CHECK(msg.find("send bytes as crew::Buffer") != std::string::npos);
    CHECK(msg.find("[json.exception") == std::string::npos);
  }

  TEST_CASE("ints and doubles keep their kind through JSON") {
    CHECK(to_json(Value(1)).is_number_integer());
    CHECK(to_json(Value(1.0)).is_number_float());
    CHECK(parse_json("1").is_int());
    CHECK(parse_json("1.0").is_double());
    CHECK(parse_json("-7").as_int() == -7);
    CHECK(parse_json("1e3").as_double() == 1000.0);
  }

  TEST_CASE("a JSON integer above INT64_MAX is refused, not wrapped") {
    CHECK_THROWS_AS(parse_json("18446744073709551615"), InputError);
    CHECK(parse_json("9223372036854775807").as_int() == INT64_MAX);
  }

  TEST_CASE("a $ref object is a Ref and a Ref prints as one") {
    const Value v = parse_json(R"({"$ref": "a"})");
    REQUIRE(v.is_ref());
    CHECK(v.as_ref().name == "a");
    CHECK(to_json(Value(Ref("xyz"))) == json{{"$ref", "xyz"}});
    CHECK(from_json(to_json(Value(Ref("xyz")))) == Value(Ref("xyz")));
  }

  TEST_CASE("a $bytes object is bytes and bytes print as base64") {
    const Value v = parse_json(R"({"$bytes": "QUJD"})");
    REQUIRE(v.is_bytes());
    CHECK(v.as_bytes().str() == "ABC");
    CHECK(to_json(Value(Buffer::copy("ABC"))) == json{{"$bytes", "QUJD"}});
    const std::string raw("\x00\xff\x10 bytes", 10);
    CHECK(from_json(to_json(Value(Buffer::copy(raw)))).as_bytes().str() == raw);
  }

  TEST_CASE("a $object with $bytes is an Object") {
    const Value v = parse_json(R"({"$object": "Point", "$bytes": "AQID"})");
    REQUIRE(v.is_object());
    CHECK(v.as_object().type == "Point");
    CHECK(v.as_object().data.str() == std::string("\x01\x02\x03", 3));
    const Value o(Object{"My::Type", Buffer::copy("payload")});
    CHECK(to_json(o) == json{{"$object", "My::Type"}, {"$bytes", "cGF5bG9hZA=="}});
    CHECK(from_json(to_json(o)) == o);
  }

  TEST_CASE("objects that only look tagged stay dicts") {
    CHECK(parse_json(R"({"$ref": "a", "other": 1})").is_dict());
    CHECK(parse_json(R"({"$ref": 5})").is_dict());
    CHECK(parse_json(R"({"$bytes": 5})").is_dict());
    CHECK(parse_json(R"({"$object": "T", "x": "AQID"})").is_dict());
  }

  TEST_CASE("a malformed $object is bad_json, not a JSON library exception") {
    bad_json_error_of([] { (void)parse_json(R"({"$object": "T", "$bytes": 5})"); });
    bad_json_error_of([] { (void)parse_json(R"({"$object": 1, "$bytes": "AQID"})"); });
  }

  TEST_CASE("arrays print as nested lists following their shape") {
    const Value m(Array::from(std::vector<std::int32_t>{1, 2, 3, 4, 5, 6}, {2, 3}));
    CHECK(to_json(m) == json::parse("[[1,2,3],[4,5,6]]"));
    const Value t(Array::from(std::vector<std::int32_t>{1, 2, 3, 4}, {2, 1, 2}));
    CHECK(to_json(t) == json::parse("[[[1,2]],[[3,4]]]"));
    const Value f(Array::from(std::vector<double>{0.5, -1.5}));
    CHECK(to_json(f) == json::parse("[0.5,-1.5]"));
    CHECK(to_json(f)[0].is_number_float());
    const Value u(Array::from(std::vector<std::uint8_t>{255, 0}));
    CHECK(to_json(u) == json::parse("[255,0]"));
    CHECK(to_json(Value(Array(dtype::float64, {2, 0}, Buffer()))) == json::parse("[[],[]]"));
    CHECK(to_json(Value(Array(dtype::float64, {0}, Buffer()))) == json::array());
    // A 0-d array is its one element.
    CHECK(to_json(Value(Array(dtype::float64, {}, Buffer::adopt(std::vector<double>{2.5})))) == json(2.5));
    // Printed arrays read back as lists of numbers, which convert back to the same vector.
    CHECK(from_value<std::vector<int>>(from_json(to_json(Value(Array::from(std::vector<int>{7, 8}))))) ==
          std::vector<int>{7, 8});
  }

  TEST_CASE("uint64 array elements print exactly") {
    const std::uint64_t big = (std::uint64_t{1} << 53) + 1;  // not representable as a double
    const std::uint64_t max = UINT64_MAX;
    const json j = to_json(Value(Array::from(std::vector<std::uint64_t>{big, max, 3})));
    REQUIRE(j.is_array());
    REQUIRE(j.size() == 3);
    CHECK(j[0].get<std::uint64_t>() == big);
    CHECK(j[1].get<std::uint64_t>() == max);
    CHECK(j[2].get<std::uint64_t>() == 3);
  }

  TEST_CASE("parse errors are bad_json and quote the text") {
    const std::string msg = bad_json_error_of([] { (void)parse_json("{oops"); });
    CHECK(msg.rfind("[crew.input.bad_json]", 0) == 0);
    CHECK(contains(msg, "'{oops'"));
    CHECK_FALSE(contains(msg, "[json.exception"));  // nlohmann's own id is stripped

    bad_json_error_of([] { (void)parse_json(""); });
    bad_json_error_of([] { (void)parse_json("[1, 2"); });
    bad_json_error_of([] { (void)parse_json("1 2"); });
    bad_json_error_of([] { (void)parse_json("NaN"); });
    bad_json_error_of([] { (void)parse_json("'single'"); });
  }

  TEST_CASE("a long unparsable text is quoted only in part") {
    const std::string text = "[" + std::string(500, 'a') + "]";
    const std::string msg = bad_json_error_of([&] { (void)parse_json(text); });
    CHECK(msg.size() < 400);
    CHECK(contains(msg, "'[" + std::string(79, 'a') + "'"));
  }

  TEST_CASE("a number too large for a double is bad_json") {
    bad_json_error_of([] { (void)parse_json("1e400"); });
    bad_json_error_of([] { (void)parse_json("[" + std::string(400, '9') + "]"); });
  }

  TEST_CASE("base64 follows RFC 4648 test vectors") {
    const std::vector<std::pair<std::string, std::string>> vectors{
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
      CAPTURE(plain);
      CHECK(base64_encode(Buffer::copy(plain)) == encoded);
      CHECK(base64_decode(encoded).str() == plain);
    }
  }

  TEST_CASE("base64 round trips every length from 0 to 10") {
    for (std::size_t n = 0; n <= 10; ++n) {
      CAPTURE(n);
      std::string raw(n, '\0');
      for (std::size_t i = 0; i < n; ++i) raw[i] = static_cast<char>(0xF0 + 37 * i);  // high bits set
      const std::string text = base64_encode(Buffer::copy(raw));
      CHECK(text.size() == 4 * ((n + 2) / 3));
      const Buffer back = base64_decode(text);
      CHECK(back.size() == n);
      CHECK(back.str() == raw);
    }
  }

  TEST_CASE("invalid base64 is rejected with bad_json") {
    for (const std::string text : {"Zm9", "Z", "Zm9v!", "Zm9vYg=", "Zm9$", "Z m9"}) {
      CAPTURE(text);
      bad_json_error_of([&] { (void)base64_decode(text); });
    }
  }

  TEST_CASE("base64 padding in the wrong place is rejected") {
    // '=' may only end the text, at most two of them, and never stand for a whole group.
    for (const std::string text : {"====", "Z===", "Zm=v", "Zm9vYg==Zm9v", "Zm9v===="}) {
      CAPTURE(text);
      bad_json_error_of([&] { (void)base64_decode(text); });
    }
  }

}  // TEST_SUITE
