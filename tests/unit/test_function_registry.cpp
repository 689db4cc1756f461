// Registered functions run through the engine's Executor (crew/function.hpp,
// engine/executor.hpp) without MPI: argument conversion and its errors, unknown functions,
// exceptions, crew::Context, Refs from the namespace, and captured output.
#include <doctest/doctest.h>

#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "crew/error.hpp"
#include "crew/function.hpp"
#include "engine/executor.hpp"
#include "engine/function_registry.hpp"
#include "protocol/header.hpp"
#include "protocol/value_codec.hpp"

using namespace crew;

namespace {

double mul(double a, double b) { return a * b; }
CREW_FUNCTION(mul);

int twice(int x) { return 2 * x; }
CREW_FUNCTION_AS("math.twice", twice);

constexpr int engine_id = 5;

detail::Executor make_executor() {
  detail::EngineIdentity id;
  id.engine_id = engine_id;
  id.rank = 2;
  id.world_size = 4;
  id.world_id = 1;
  id.user_comm = MPI_COMM_NULL;
  id.host = "testhost";
  return detail::Executor(id);
}

struct Reply {
  wire::Header header;
  Value result;
};

Reply decode_reply(const wire::Outgoing& out) {
  Reply r;
  r.header = wire::decode_header(out.header_bytes.bytes());
  r.result = wire::decode_value(out.payload);
  return r;
}

wire::Header task_header(const std::string& function) {
  wire::Header h;
  h.kind = wire::MsgKind::direct_task;
  h.targets = {engine_id};
  h.msg_ids = {"m1"};
  h.function = function;
  h.submitted_us = 123;
  return h;
}

Reply run_payload(detail::Executor& ex, const std::string& function, const Value& payload) {
  wire::Payload frames;
  wire::encode_value(payload, frames);
  return decode_reply(*ex.run(task_header(function), frames));
}

Reply call(detail::Executor& ex, const std::string& function, Value::List args) {
  return run_payload(ex, function, Value(std::move(args)));
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("unit.function_registry" * doctest::timeout(30)) {

  TEST_CASE("a registered typed function returns its result in an apply_reply") {
    auto ex = make_executor();
    const Reply r = call(ex, "mul", {Value(6.0), Value(7.0)});
    CHECK_FALSE(r.header.error.failed());
    CHECK(r.result == Value(42.0));
    CHECK(r.header.kind == wire::MsgKind::apply_reply);
    CHECK(r.header.engine_id == engine_id);
    CHECK(r.header.msg_ids == wire::MsgIds{"m1"});
    CHECK(r.header.function == "mul");
    CHECK(r.header.submitted_us == 123);
    CHECK(r.header.started_us > 0);
    CHECK(r.header.started_us <= r.header.completed_us);
  }

  TEST_CASE("int arguments widen to double parameters") {
    auto ex = make_executor();
    CHECK(call(ex, "mul", {Value(3), Value(0.5)}).result == Value(1.5));
  }

  TEST_CASE("CREW_FUNCTION registers with a signature and CREW_FUNCTION_AS under another name") {
    const FunctionInfo* f = find_function("mul");
    REQUIRE(f != nullptr);
    CHECK(f->signature == "mul(double, double) -> double");
    CHECK(f->origin == "program");
    const FunctionInfo* t = find_function("math.twice");
    REQUIRE(t != nullptr);
    CHECK(t->signature == "math.twice(int32) -> int32");
    CHECK(find_function("twice") == nullptr);
    auto ex = make_executor();
    CHECK(call(ex, "math.twice", {Value(21)}).result == Value(42));
  }

  TEST_CASE("a wrong argument count is bad_arguments with the signature") {
    register_function("f", [](double a, double b) { return a + b; });
    auto ex = make_executor();
    const Reply r = call(ex, "f", {Value(1.0)});
    CHECK(r.header.error.code == errc::bad_arguments);
    CHECK(r.header.error.message == "f(double, double) -> double takes 2 arguments, got 1");
    CHECK(r.header.error.type == "crew.remote.bad_arguments");
    CHECK(r.result.is_null());

    register_function("one_arg", [](int x) { return x; });
    CHECK(call(ex, "one_arg", {}).header.error.message == "one_arg(int32) -> int32 takes 1 argument, got 0");
    CHECK(call(ex, "one_arg", {Value(1), Value(2)}).header.error.code == errc::bad_arguments);
  }

  TEST_CASE("a wrong argument type names the argument, the expected type and what arrived") {
    register_function("g", [](double a, std::string b) { return b + std::to_string(a); });
    auto ex = make_executor();
    const Reply r = call(ex, "g", {Value(1.0), Value(17)});
    CHECK(r.header.error.code == errc::bad_arguments);
    const std::string& msg = r.header.error.message;
    CHECK(contains(msg, "argument 2 of g(double, string) -> string"));
    CHECK(contains(msg, "expected string"));
    CHECK(contains(msg, "int 17"));

    // The first bad argument is the one reported.
    const Reply both = call(ex, "g", {Value("x"), Value(17)});
    CHECK(contains(both.header.error.message, "argument 1"));
  }

  TEST_CASE("an out-of-range integer argument is bad_arguments") {
    register_function("small", [](std::uint8_t x) { return static_cast<int>(x); });
    auto ex = make_executor();
    const Reply r = call(ex, "small", {Value(300)});
    CHECK(r.header.error.code == errc::bad_arguments);
    CHECK(contains(r.header.error.message, "argument 1"));
    CHECK(contains(r.header.error.message, "out of range for uint8"));
  }

  TEST_CASE("an unknown function is reported with near names") {
    register_function("compute_sum", [](int a, int b) { return a + b; });
    auto ex = make_executor();
    const Reply r = call(ex, "compute_sun", {Value(1), Value(2)});
    CHECK(r.header.error.code == errc::unknown_function);
    CHECK(r.header.error.type == "crew.remote.unknown_function");
    CHECK(contains(r.header.error.message, "compute_sun"));
    CHECK(contains(r.header.error.message, "did you mean"));
    CHECK(contains(r.header.error.message, "compute_sum"));

    const Reply far = call(ex, "zzzzzzzzzzzzzzzz", {});
    CHECK(far.header.error.code == errc::unknown_function);
    CHECK_FALSE(contains(far.header.error.message, "did you mean"));
  }

  TEST_CASE("near_function_names ranks close names first") {
    register_function("alpha_beta", [] { return 1; });
    register_function("alpha_betb", [] { return 2; });
    const auto near = near_function_names("alpha_beta");
    REQUIRE_FALSE(near.empty());
    CHECK(near.front() == "alpha_beta");
    CHECK(near.size() <= 4);
  }

  TEST_CASE("crew's internal functions are suggested only for a name that is one of them") {
    register_function("crew.secret_step", [] { return 1; });
    register_function("secret_stop", [] { return 2; });
    const auto near = near_function_names("secret_step");
    CHECK(near == std::vector<std::string>{"secret_stop"});
    const auto internal = near_function_names("crew.secret_stap");
    REQUIRE_FALSE(internal.empty());
    CHECK(internal.front() == "crew.secret_step");
  }

  TEST_CASE("a function throwing std::runtime_error reports its type and message") {
    register_function("boom", []() -> int { throw std::runtime_error("it broke"); });
    register_function("range", []() -> int { throw std::out_of_range("too far"); });
    register_function("throws_int", []() -> int { throw 42; });
    auto ex = make_executor();
    const Reply r = call(ex, "boom", {});
    CHECK(r.header.error.code == errc::exception);
    CHECK(r.header.error.type == "std::runtime_error");
    CHECK(r.header.error.message == "it broke");
    CHECK(r.header.error.context == "boom");
    CHECK(r.result.is_null());
    CHECK(call(ex, "range", {}).header.error.type == "std::out_of_range");
    const Reply odd = call(ex, "throws_int", {});
    CHECK(odd.header.error.code == errc::exception);
    CHECK(odd.header.error.type == "int");
  }

  TEST_CASE("a crew::Error thrown by a function keeps its code") {
    register_function("needs_input", []() -> int { throw InputError(errc::bad_option, "n must be positive"); });
    auto ex = make_executor();
    const Reply r = call(ex, "needs_input", {});
    CHECK(r.header.error.code == errc::bad_option);
    CHECK(r.header.error.type == "crew.input.bad_option");
    CHECK(r.header.error.message == "n must be positive");
  }

  TEST_CASE("a failing task leaves the executor working") {
    auto ex = make_executor();
    CHECK(call(ex, "boom", {}).header.error.failed());
    CHECK(call(ex, "mul", {Value(2.0), Value(2.0)}).result == Value(4.0));
  }

  TEST_CASE("a Context& first parameter sees the engine and is not an argument") {
    register_function("whoami", [](Context& ctx, int add) {
      return Value::dict({{"engine", ctx.engine_id() + add},
                          {"rank", ctx.rank()},
                          {"size", ctx.world_size()},
                          {"world", ctx.world_id()},
                          {"msg", ctx.msg_id()},
                          {"host", ctx.host()},
                          {"null_comm", ctx.comm() == MPI_COMM_NULL}});
    });
    CHECK(find_function("whoami")->signature == "whoami(int32) -> value");
    auto ex = make_executor();
    const Reply r = call(ex, "whoami", {Value(100)});
    REQUIRE_FALSE(r.header.error.failed());
    CHECK(r.result["engine"] == Value(engine_id + 100));
    CHECK(r.result["rank"] == Value(2));
    CHECK(r.result["size"] == Value(4));
    CHECK(r.result["world"] == Value(1));
    CHECK(r.result["msg"] == Value("m1"));
    CHECK(r.result["host"] == Value("testhost"));
    CHECK(r.result["null_comm"] == Value(true));
    CHECK(call(ex, "whoami", {}).header.error.message == "whoami(int32) -> value takes 1 argument, got 0");
  }

  TEST_CASE("a function can write the engine's namespace through its Context") {
    register_function("store", [](Context& ctx, std::string name, double v) { ctx.ns().set(name, Value(v)); });
    auto ex = make_executor();
    const Reply r = call(ex, "store", {Value("y"), Value(2.5)});
    CHECK_FALSE(r.header.error.failed());
    CHECK(r.result.is_null());  // void returns null
    CHECK(ex.ns().get("y") == Value(2.5));
  }

  TEST_CASE("Ref arguments resolve from the executor's namespace, also inside lists") {
    register_function("total", [](std::vector<double> xs) {
      double s = 0;
      for (double x : xs) s += x;
      return s;
    });
    auto ex = make_executor();
    ex.ns().set("x", Value(4.0));
    ex.ns().set("xs", Value(std::vector<double>{1, 2, 3}));
    CHECK(call(ex, "mul", {Value(Ref("x")), Value(2.0)}).result == Value(8.0));
    CHECK(call(ex, "total", {Value(Ref("xs"))}).result == Value(6.0));
    CHECK(call(ex, "total", {Value::list({Value(Ref("x")), Value(1.0)})}).result == Value(5.0));
  }

  TEST_CASE("a Ref to a missing name is unknown_name and lists the names there are") {
    auto ex = make_executor();
    ex.ns().set("present", Value(1));
    const Reply r = call(ex, "mul", {Value(Ref("absent")), Value(2.0)});
    CHECK(r.header.error.code == errc::unknown_name);
    CHECK(contains(r.header.error.message, "absent"));
    CHECK(contains(r.header.error.message, "present"));
  }

  TEST_CASE("std::cout and std::cerr during a task land in the reply, and only that task's") {
    register_function("chatty", [](Context& ctx, int n) {
      std::cout << "out " << n << "\n";
      std::cerr << "err " << n << "\n";
      ctx.out() << "ctx " << n;
      return n;
    });
    auto ex = make_executor();
    const Reply first = call(ex, "chatty", {Value(1)});
    CHECK(first.header.out == "out 1\nctx 1");
    CHECK(first.header.err == "err 1\n");
    const Reply second = call(ex, "chatty", {Value(2)});
    CHECK(second.header.out == "out 2\nctx 2");
    CHECK(second.header.err == "err 2\n");
    // Output of a failing task is kept too.
    register_function("chatty_fail", []() -> int {
      std::cout << "before failing";
      throw std::runtime_error("x");
    });
    CHECK(call(ex, "chatty_fail", {}).header.out == "before failing");
  }

  TEST_CASE("std::cout is restored after a task") {
    auto ex = make_executor();
    std::streambuf* before = std::cout.rdbuf();
    (void)call(ex, "chatty", {Value(3)});
    CHECK(std::cout.rdbuf() == before);
    (void)call(ex, "boom", {});
    CHECK(std::cout.rdbuf() == before);
  }

  TEST_CASE("the reply carries the msg_id of this engine's part of the task") {
    auto ex = make_executor();
    wire::Header h = task_header("mul");
    h.targets = {3, engine_id, 9};
    h.msg_ids = {"m3", "m5", "m9"};
    wire::Payload frames;
    wire::encode_value(Value::list({1.0, 1.0}), frames);
    CHECK(decode_reply(*ex.run(h, frames)).header.msg_ids == wire::MsgIds{"m5"});
  }

  TEST_CASE("arguments that are not a list, or do not decode, fail the task, not the engine") {
    auto ex = make_executor();
    const Reply not_list = run_payload(ex, "mul", Value(5));
    CHECK(not_list.header.error.code == errc::malformed);
    wire::Payload garbage{Buffer::copy("\xff\xff\xff")};
    const Reply bad = decode_reply(*ex.run(task_header("mul"), garbage));
    CHECK(bad.header.error.code == errc::malformed);
    const Reply none = decode_reply(*ex.run(task_header("mul"), {}));
    CHECK(none.header.error.code == errc::malformed);
  }

  TEST_CASE("registering a name again replaces the function") {
    register_function("replaced", [] { return 1; });
    register_function("replaced", [] { return std::string("two"); });
    CHECK(find_function("replaced")->signature == "replaced() -> string");
    auto ex = make_executor();
    CHECK(call(ex, "replaced", {}).result == Value("two"));
  }

  TEST_CASE("list_functions is sorted by name") {
    const auto all = list_functions();
    REQUIRE(all.size() >= 2);
    for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1]->name < all[i]->name);
  }

  TEST_CASE("failure_reply builds a failed apply_reply for a task that never ran") {
    const wire::Header task = task_header("mul");
    const Reply r = decode_reply(
        detail::failure_reply(task, "m1", engine_id, {errc::engine_died, "crew.remote.engine_died", "world died", ""}));
    CHECK(r.header.kind == wire::MsgKind::apply_reply);
    CHECK(r.header.msg_ids == wire::MsgIds{"m1"});
    CHECK(r.header.engine_id == engine_id);
    CHECK(r.header.error.code == errc::engine_died);
    CHECK(r.header.function == "mul");
    CHECK(r.result.is_null());
  }

}  // TEST_SUITE
