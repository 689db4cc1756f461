// crew::AsyncResult over a hand-made result state (no client, no sockets): "not ready" is a state
// to read, an empty AsyncResult is [crew.input.empty_result], and get() throws the task errors
// of the load balancer as their own types.
#include <doctest/doctest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "client/client_core.hpp"
#include "client/result_access.hpp"
#include "crew/async_result.hpp"
#include "protocol/value_codec.hpp"

using namespace crew;
using namespace std::chrono_literals;

namespace {

/// A state of `n` tasks on engines 0..n-1, none answered.
std::shared_ptr<detail::ResultState> pending_state(std::size_t n, bool single) {
  auto s = std::make_shared<detail::ResultState>();
  s->single = single;
  s->remaining = n;
  for (std::size_t i = 0; i < n; ++i) {
    s->msg_ids.push_back("m-" + std::to_string(i));
    s->targets.push_back(static_cast<int>(i));
    s->slots.emplace_back();
  }
  return s;
}

/// Answers slot i (as the client's I/O thread does): with `value`, or with an error of `code`.
void answer(detail::ResultState& s, std::size_t i, const Value& value, errc code = errc::none) {
  std::lock_guard lock(s.mutex);
  auto& slot = s.slots[i];
  if (code == errc::none)
    wire::encode_value(value, slot.payload);
  else
    slot.set_error({code, "crew." + std::string(errc_name(code)), "it went wrong", "f()"});
  slot.done = true;
  --s.remaining;
  s.cv.notify_all();
}

}  // namespace

TEST_SUITE("unit.async_result" * doctest::timeout(30)) {

  TEST_CASE("an empty AsyncResult says so with input.empty_result on every call") {
    const AsyncResult empty;
    AsyncResult moved_to = detail::ResultAccess::wrap(pending_state(1, true));
    AsyncResult moved_from(std::move(moved_to));
    const AsyncResult gone(std::move(moved_from));  // moved_from is empty now
    for (const AsyncResult* ar : std::initializer_list<const AsyncResult*>{&empty, &moved_from}) {
      try {
        (void)ar->ready();
        FAIL("no error");
      } catch (const InputError& e) {
        CHECK(e.code() == errc::empty_result);
        CHECK(e.message().find("holds no task") != std::string::npos);
      }
      CHECK_THROWS_AS((void)ar->status(), InputError);
      CHECK_THROWS_AS((void)ar->wait_for(1ms), InputError);
      CHECK_THROWS_AS((void)ar->get(), InputError);
      CHECK_THROWS_AS((void)ar->successful(), InputError);
    }
    CHECK(gone.status() == result_state::pending);
  }

  TEST_CASE("not ready is a state: status, wait_for, successful and error(i) do not throw") {
    auto s = pending_state(2, false);
    const AsyncResult ar = detail::ResultAccess::wrap(s);
    CHECK(ar.status() == result_state::pending);
    CHECK(ar.wait_for(1ms) == result_state::pending);
    CHECK_FALSE(ar.successful());
    CHECK_FALSE(ar.error(0).has_value());
    CHECK(ar.status(0) == result_state::pending);

    answer(*s, 0, Value(42));
    CHECK(ar.status(0) == result_state::succeeded);
    CHECK(ar.status(1) == result_state::pending);
    CHECK(ar.status() == result_state::pending);
    CHECK(ar.value(0).as_int() == 42);

    answer(*s, 1, Value(), errc::exception);
    CHECK(ar.status(1) == result_state::failed);
    CHECK(ar.status() == result_state::failed);
    CHECK(ar.wait_for(0ms) == result_state::failed);
    CHECK_FALSE(ar.successful());
    REQUIRE(ar.error(1).has_value());
    CHECK(ar.error(1)->engine_id() == 1);
    CHECK_THROWS_AS((void)ar.get(), CompositeError);
  }

  TEST_CASE("a result that all succeeded is successful") {
    auto s = pending_state(2, false);
    const AsyncResult ar = detail::ResultAccess::wrap(s);
    answer(*s, 0, Value(1));
    answer(*s, 1, Value(2));
    CHECK(ar.status() == result_state::succeeded);
    CHECK(ar.successful());
    CHECK(ar.get().as_list().size() == 2);
  }

  TEST_CASE("value(i) waits for the i-th answer, and times out like get()") {
    auto s = pending_state(2, false);
    const AsyncResult ar = detail::ResultAccess::wrap(s);
    try {
      (void)ar.value(1, 1ms);
      FAIL("no timeout");
    } catch (const TimeoutError& e) {
      CHECK(e.code() == errc::wait_timeout);
    }
    std::thread answerer([&] { answer(*s, 1, Value("late")); });
    CHECK(ar.value(1, 30s).as_string() == "late");
    answerer.join();
    CHECK(ar.status(0) == result_state::pending);
  }

  TEST_CASE("get() throws the load balancer's task errors as their own types") {
    const std::pair<errc, std::string> cases[] = {{errc::aborted, "TaskAborted"},
                                                  {errc::task_timeout, "TaskTimeout"},
                                                  {errc::dependency_failed, "DependencyError"},
                                                  {errc::impossible_dependency, "DependencyError"},
                                                  {errc::engine_died, "EngineError"}};
    for (const auto& [code, type] : cases) {
      CAPTURE(type);
      auto s = pending_state(1, true);
      answer(*s, 0, Value(), code);
      const AsyncResult ar = detail::ResultAccess::wrap(s);
      std::string caught;
      try {
        (void)ar.get();
      } catch (const TaskAborted&) {
        caught = "TaskAborted";
      } catch (const TaskTimeout&) {
        caught = "TaskTimeout";
      } catch (const DependencyError&) {
        caught = "DependencyError";
      } catch (const EngineError&) {
        caught = "EngineError";
      } catch (const RemoteError&) {
        caught = "RemoteError";
      }
      CHECK(caught == type);
      CHECK_THROWS_AS((void)ar.value(0), RemoteError);  // the same error through value(i)
    }
  }

  TEST_CASE("a task that timed out is not the caller's wait running out") {
    auto s = pending_state(1, true);
    answer(*s, 0, Value(), errc::task_timeout);
    const AsyncResult ar = detail::ResultAccess::wrap(s);
    try {
      (void)ar.get(10s);
      FAIL("no error");
    } catch (const TimeoutError&) {
      FAIL("a TaskTimeout is not a TimeoutError");
    } catch (const TaskTimeout& e) {
      CHECK(e.code() == errc::task_timeout);
      CHECK(e.engine_id() == 0);
    }
  }

}  // TEST_SUITE
