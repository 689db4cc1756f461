// A real cluster (controller + one `mpirun -n N crew-engine` world) driven through the C++
// client. Runs at N = 1, 2, 3 and 4 (CREW_TEST_ENGINES), oversubscribed where N exceeds the cores.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <future>
#include <memory>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/profile.hpp"
#include "crew/crew.hpp"
#include "test_support.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

int world_size() {
  const char* n = std::getenv("CREW_TEST_ENGINES");
  return n ? std::atoi(n) : 2;
}

const std::string plugin = (test_bin_dir() / "system" / "libcrew_test_plugin.so").string();
const std::string late_plugin = (test_bin_dir() / "system" / "libcrew_test_plugin_late.so").string();

/// One cluster for every case of this binary. Nothing here waits for a death, so the default
/// heartbeat: a loaded machine that stalls for a second must not have its world declared dead.
Cluster& cluster() {
  static Cluster c(world_size(), "sys", {"--plugin", plugin, "--heartbeat-ms", "1000"});
  return c;
}

Client& client() {
  static Client rc = cluster().client();
  return rc;
}

std::vector<int> all_ids() {
  std::vector<int> ids(static_cast<std::size_t>(world_size()));
  std::iota(ids.begin(), ids.end(), 0);
  return ids;
}

}  // namespace

TEST_SUITE("system.cluster") {

  TEST_CASE("every rank registers as an engine with a dense id") {
    const auto& rc = client();
    CHECK(rc.ids() == all_ids());
    const auto engines = rc.engines();
    REQUIRE(engines.size() == static_cast<std::size_t>(world_size()));
    std::set<std::int64_t> pids;
    for (const auto& e : engines) {
      CHECK(e.state == "alive");
      CHECK(e.rank == e.id);  // one world: engine id = rank
      CHECK(e.world == 0);
      CHECK(e.world_size == world_size());
      pids.insert(e.pid);
    }
    CHECK(pids.size() == engines.size());
  }

  TEST_CASE("summary reports each engine's rank, world size and id") {
    const auto results = client().view().apply("summary").get_dict(30s);
    REQUIRE(results.size() == static_cast<std::size_t>(world_size()));
    for (const auto& [id, s] : results) {
      CHECK(s["engine_id"].as_int() == id);
      CHECK(s["rank"].as_int() == id);
      CHECK(s["world_size"].as_int() == world_size());
      CHECK(s["pid"].as_int() > 0);
      CHECK(s["crew_version"].as_string() == version_string);
    }
  }

  TEST_CASE("values round-trip through every engine, large buffers included") {
    std::vector<double> big(100000);
    std::iota(big.begin(), big.end(), 0.5);
    const Value v = Value::dict({{"list", Value::list({1, "two", 3.5, nullptr, true})},
                                 {"array", Array::from(big)},
                                 {"bytes", Buffer::copy(std::string(70000, 'x'))},
                                 {"small", Array::from(std::vector<std::int32_t>{1, 2, 3}, {1, 3})}});
    const auto back = client().view().apply("echo", v).get_dict(30s);
    for (const auto& [id, x] : back) CHECK(x == v);
  }

  TEST_CASE("a registered typed function computes on every engine") {
    const Value r = client().view().apply("mul", 5, 6).get(30s);
    REQUIRE(r.size() == static_cast<std::size_t>(world_size()));
    for (const auto& x : r.as_list()) CHECK(x.as_double() == 30.0);
    CHECK(client()[0].apply("scale", std::vector<double>{1, 2, 3}, 2.0).get_as<std::vector<double>>(30s) ==
          std::vector<double>{2, 4, 6});
  }

  TEST_CASE("functions can run their own collectives on the world's communicator") {
    const long n = world_size();
    const auto sums = client().view().apply("world_sum").get_dict(30s);
    for (const auto& [id, s] : sums) CHECK(s.as_int() == n * (n - 1) / 2);
  }

  TEST_CASE("push then pull returns the values, per engine and as a dict") {
    const auto& rc = client();
    rc.view().push({{"a", Value::list({1, 2, 3})}, {"b", "text"}}).get(30s);
    for (int id : all_ids()) {
      CHECK(rc[id].pull("a").get(30s) == Value::list({1, 2, 3}));
      const Value both = rc[id].pull(std::vector<std::string>{"a", "b"}).get(30s);
      CHECK(both["b"].as_string() == "text");
    }
    const auto keys = rc[0].apply("keys").get_as<std::vector<std::string>>(30s);
    CHECK(std::find(keys.begin(), keys.end(), "a") != keys.end());
  }

  TEST_CASE("a Ref argument is resolved from the engine's namespace") {
    const auto& rc = client();
    const int last = world_size() - 1;
    rc[last].push({{"x", 21}}).get(30s);
    CHECK(rc[last].apply("mul", Ref("x"), 2).get(30s).as_double() == 42.0);
    CHECK_THROWS_AS(rc[last].apply("mul", Ref("nope"), 2).get(30s), RemoteError);
  }

  TEST_CASE("work to one engine runs in submission order") {
    const auto& rc = client();
    const int id = world_size() - 1;
    rc[id].apply("del", "seen").wait(30s);  // may fail if absent: that is fine
    std::vector<AsyncResult> rs;
    for (long i = 0; i < 300; ++i) rs.push_back(rc[id].apply("record", i));
    CHECK(rc.wait(60s));
    const auto seen = rc[id].pull("seen").get_as<std::vector<long>>(30s);
    std::vector<long> expected(300);
    std::iota(expected.begin(), expected.end(), 0);
    CHECK(seen == expected);
  }

  TEST_CASE("a function that throws reports its type and message, and the engine keeps serving") {
    const auto& rc = client();
    const int id = world_size() - 1;
    try {
      rc[id].apply("fail", "boom").get(30s);
      FAIL("no exception");
    } catch (const RemoteError& e) {
      CHECK(e.code() == errc::exception);
      CHECK(e.engine_id() == id);
      CHECK(e.type() == "std::runtime_error");
      CHECK(e.remote_message() == "boom");
    }
    CHECK(rc[id].apply("mul", 2, 3).get(30s).as_double() == 6.0);
  }

  TEST_CASE("errors from several engines arrive together as a CompositeError") {
    try {
      client().view().apply("fail", "all").get(30s);
      FAIL("no exception");
    } catch (const CompositeError& e) {
      CHECK(e.errors().size() == static_cast<std::size_t>(world_size()));
      for (const auto& err : e.errors()) CHECK(err.remote_message() == "all");
    }
  }

  TEST_CASE("an unknown function names near matches") {
    try {
      client()[0].apply("mull", 1, 2).get(30s);
      FAIL("no exception");
    } catch (const RemoteError& e) {
      CHECK(e.code() == errc::unknown_function);
      CHECK(std::string(e.what()).find("did you mean mul") != std::string::npos);
    }
  }

  TEST_CASE("wrong argument count and type say which argument and what was expected") {
    try {
      client()[0].apply("mul", 1).get(30s);
      FAIL("no exception");
    } catch (const RemoteError& e) {
      CHECK(e.code() == errc::bad_arguments);
      CHECK(e.remote_message() == "mul(double, double) -> double takes 2 arguments, got 1");
    }
    try {
      client()[0].apply("mul", 1, "x").get(30s);
      FAIL("no exception");
    } catch (const RemoteError& e) {
      CHECK(e.code() == errc::bad_arguments);
      CHECK(e.remote_message() == "argument 2 of mul(double, double) -> double: expected double, got string \"x\"");
    }
  }

  TEST_CASE("a target that does not exist is an error, and other targets still run") {
    const auto& rc = client();
    const AsyncResult ar = rc[{0, 99}].apply("mul", 1, 1);
    CHECK(ar.wait(30s));
    CHECK_FALSE(ar.error(0));
    REQUIRE(ar.error(1));
    CHECK(ar.error(1)->code() == errc::unknown_target);
    CHECK(ar.value(0).as_double() == 1.0);
  }

  TEST_CASE("metadata carries timestamps in order and the captured output") {
    const AsyncResult ar = client()[0].apply("shout", "hello");
    CHECK(ar.get(30s).as_string() == "hello");
    const auto m = ar.metadata(0);
    CHECK(m.status == "ok");
    CHECK(m.engine_id == 0);
    CHECK(m.msg_id == ar.msg_ids().front());
    CHECK(m.submitted <= m.started);
    CHECK(m.started <= m.completed);
    CHECK(m.completed <= m.received);
    CHECK(m.stdout_text == "engine 0 says hello\n");
    CHECK(m.stderr_text == "to stderr\n");
  }

  TEST_CASE("exec runs a shell command and returns its output and status") {
    const auto out = client().view().exec("echo out; echo err >&2; exit 3").get_dict(30s);
    for (const auto& [id, r] : out) {
      CHECK(r["stdout"].as_string() == "out\n");
      CHECK(r["stderr"].as_string() == "err\n");
      CHECK(r["status"].as_int() == 3);
    }
  }

  TEST_CASE("get with a timeout throws TimeoutError, and the result still arrives") {
    Gate gate;
    const AsyncResult ar = client()[0].apply("hold", gate.path());
    CHECK_THROWS_AS(ar.get(20ms), TimeoutError);
    CHECK_FALSE(ar.ready());
    gate.open();
    CHECK(ar.wait(30s));
    CHECK(ar.successful());
  }

  TEST_CASE("threads that submit and wait at the same time each get their own answers") {
    // A waiting thread may watch the client's socket itself, and a thread that sends after a
    // quiet spell sends itself (client_io.cpp): answers must still reach every thread, one
    // each, and a thread that waits long (the sleep) must not hold up the others'.
    const auto& rc = client();
    constexpr int threads = 4;
    constexpr long calls = 150;
    std::vector<std::vector<long>> got(threads);
    std::vector<std::string> errors(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        try {
          const auto lb = rc.load_balanced_view();
          if (t == 0) (void)rc[0].apply("sleep", 0.3).get(30s);
          for (long i = 0; i < calls; ++i) {
            const long x = t * 1000 + i;
            if (i % 3 != 2) {  // one at a time: this thread waits on the socket
              got[t].push_back(lb.apply("echo", x).get_as<long>(30s));
            } else {  // two at once, awaited in the other order
              const AsyncResult a = lb.apply("echo", x);
              const AsyncResult b = rc[static_cast<int>(i % world_size())].apply("echo", -x);
              if (b.get_as<long>(30s) != -x) errors[t] = "call " + std::to_string(i) + " to one engine: a wrong answer";
              got[t].push_back(a.get_as<long>(30s));
            }
          }
        } catch (const std::exception& e) {
          errors[t] = e.what();
        }
      });
    for (auto& w : workers) w.join();
    for (int t = 0; t < threads; ++t) {
      CAPTURE(t);
      CHECK(errors[t].empty());
      std::vector<long> expected(calls);
      std::iota(expected.begin(), expected.end(), t * 1000L);
      CHECK(got[t] == expected);
    }
    CHECK(rc.outstanding() == 0);
  }

  TEST_CASE("while one thread waits on the socket, the other kinds of wait still get their answers") {
    // A thread that waits for its result reads the socket for everyone, and the I/O thread then
    // parks (client_io.cpp). An unordered map's iteration, controller requests and Client::wait
    // must still be answered: by a thread that holds the socket, or by the I/O thread, called
    // back by whoever waits on it.
    const auto& rc = client();
    constexpr long sequential = 200;
    std::atomic<bool> stop_requests{false};
    std::string sequential_error, request_error;
    long sequential_done = 0;
    int requests = 0;
    std::thread one_at_a_time([&] {
      try {
        const auto lb = rc.load_balanced_view();
        for (long i = 0; i < sequential; ++i, ++sequential_done)
          if (lb.apply("echo", i).get_as<long>(30s) != i) sequential_error = "a wrong answer at " + std::to_string(i);
      } catch (const std::exception& e) {
        sequential_error = e.what();
      }
    });
    std::thread asking([&] {
      try {
        while (!stop_requests.load()) {
          const QueueStatus q = rc.queue_status();
          if (q.engines.size() != static_cast<std::size_t>(world_size())) request_error = "engines missing";
          ++requests;
        }
      } catch (const std::exception& e) {
        request_error = e.what();
      }
    });
    std::vector<double> xs(120);
    std::iota(xs.begin(), xs.end(), 0.0);
    const auto m = rc.load_balanced_view().map("echo", xs, {.chunksize = 3, .ordered = false});
    std::vector<double> got;
    for (const Value& v : m) got.push_back(v.as_double());
    one_at_a_time.join();
    stop_requests = true;
    asking.join();
    // Alone now: a few calls awaited one at a time (the I/O thread parks), then tasks that only
    // Client::wait waits for, which the I/O thread must come back to read.
    for (int i = 0; i < 20; ++i) CHECK(rc[0].apply("echo", i).get_as<int>(30s) == i);
    const AsyncResult last = rc[0].apply("sleep", 0.05);  // sent by this thread: nothing wakes the I/O thread
    const bool all_done = rc.wait(30s);
    std::sort(got.begin(), got.end());
    CHECK(got == xs);
    CHECK(all_done);
    CHECK(last.ready());
    CHECK(sequential_error.empty());
    CHECK(sequential_done == sequential);
    CHECK(request_error.empty());
    CHECK(requests > 0);
    CHECK(rc.outstanding() == 0);
  }

  TEST_CASE("then runs its callback when the result arrives, off the caller's thread, and returns a future") {
    const auto& rc = client();
    const auto caller = std::this_thread::get_id();
    std::thread::id ran_on;
    // The task sleeps on its engine, so the callback is registered long before the answer.
    const AsyncResult slow = rc[0].apply("sleep", 1.0);
    std::future<bool> f = slow.then([&](const AsyncResult& r) {
      ran_on = std::this_thread::get_id();
      return r.ready() && r.successful();
    });
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
    CHECK(f.get());
    CHECK(ran_on != caller);
    CHECK(slow.ready());
  }

  TEST_CASE("then on a result that has arrived runs the callback at once, on the calling thread") {
    const auto& rc = client();
    const AsyncResult done = rc[0].apply("mul", 5, 6);
    REQUIRE(done.wait(30s));
    std::thread::id ran_on;
    auto f = done.then([&](const AsyncResult& r) {
      ran_on = std::this_thread::get_id();
      return r.get_as<double>();
    });
    CHECK(ran_on == std::this_thread::get_id());  // before then() returned
    CHECK(f.get() == 30.0);
  }

  TEST_CASE("then hands a remote error, or what the callback throws, to its future") {
    const auto& rc = client();
    auto failed = rc[0].apply("fail", "boom").then([](const AsyncResult& r) { return r.get(); });
    REQUIRE(failed.wait_for(30s) == std::future_status::ready);
    try {
      failed.get();
      FAIL("no exception");
    } catch (const RemoteError& e) {
      CHECK(e.code() == errc::exception);
      CHECK(e.remote_message() == "boom");
    }
    auto thrown = rc[0].apply("mul", 1, 2).then([](const AsyncResult&) -> int { throw std::runtime_error("mine"); });
    REQUIRE(thrown.wait_for(30s) == std::future_status::ready);
    CHECK_THROWS_WITH_AS(thrown.get(), "mine", std::runtime_error);
  }

  TEST_CASE("a then callback may submit more work, but waiting inside it is refused") {
    const auto& rc = client();
    // Chained: the callback submits the next step and hands its AsyncResult on.
    auto next = rc[0].apply("sleep", 0.2).then([&](const AsyncResult&) { return rc[0].apply("mul", 6, 7); });
    REQUIRE(next.wait_for(30s) == std::future_status::ready);
    CHECK(next.get().get_as<double>(30s) == 42.0);
    // Waiting for an answer that has not come, on the path that delivers answers, would wait on
    // itself: it is an error that says what to do instead.
    std::shared_ptr<AsyncResult> inner = std::make_shared<AsyncResult>();
    auto waits = rc[0].apply("sleep", 0.2).then([&, inner](const AsyncResult&) {
      *inner = rc[0].apply("sleep", 0.5);
      return inner->get();
    });
    REQUIRE(waits.wait_for(30s) == std::future_status::ready);
    try {
      waits.get();
      FAIL("no exception");
    } catch (const Error& e) {
      CHECK(e.code() == errc::bad_option);
      CHECK(std::string(e.what()).find("chain another then()") != std::string::npos);
    }
    CHECK(inner->get(30s).is_null());  // the inner task itself still ran
    CHECK(rc.wait(30s));
  }

  TEST_CASE("then on an empty AsyncResult throws") {
    CHECK_THROWS_AS(AsyncResult().then([](const AsyncResult&) { return 0; }), Error);
  }

  TEST_CASE("a plugin loaded at run time adds functions on every engine") {
    const auto& rc = client();
    const auto added = rc.view().load_plugin(late_plugin).get_dict(30s);
    for (const auto& [id, names] : added) CHECK(names == Value::list({"triple"}));
    CHECK(rc.view().apply("triple", 14).get(30s) ==
          Value(Value::List(static_cast<std::size_t>(world_size()), Value(42))));
    try {
      rc[0].load_plugin("/nonexistent/libnothing.so").get(30s);
      FAIL("no exception");
    } catch (const RemoteError& e) {
      CHECK(e.code() == errc::plugin_failed);
    }
  }

  TEST_CASE("the controller's counters add up whenever nothing is in flight") {
    // Some work of each outcome first, so that the sums below cannot hold by being all zero.
    const auto& rc = client();
    CHECK(rc[0].apply("echo", 1).get_as<int>(30s) == 1);
    CHECK_THROWS_AS(rc[0].apply("fail", std::string("counted")).get(30s), RemoteError);
    const Value stats = rc.controller_stats();
    CHECK(stats["engines_alive"].as_int() == world_size());
    CHECK(stats["tasks_completed"].as_int() >= 1);
    CHECK(stats["tasks_failed"].as_int() >= 1);
    CHECK(stats["tasks_submitted"].as_int() == stats["tasks_completed"].as_int() + stats["tasks_failed"].as_int());
    CHECK(stats["dropped_bad_signature"].as_int() == 0);
    CHECK(client().outstanding() == 0);
  }

  TEST_CASE("a controller that stops answering mid-session is a connection error, and the client goes on after") {
    Client rc = cluster().client(500ms);
    REQUIRE(rc.ids() == all_ids());
    const fs::path file = profile_dir(cluster().profile()) / controller_file_name;
    const auto controller = static_cast<pid_t>(controller_file_from_json(read_json_file(file), file).pid);
    REQUIRE(controller > 0);
    REQUIRE(::kill(controller, SIGSTOP) == 0);
    struct Resume {
      pid_t pid;
      ~Resume() { ::kill(pid, SIGCONT); }  // also when a check below throws
    } resume{controller};
    try {
      (void)rc.ids();
      FAIL("a stopped controller answered");
    } catch (const ConnectionError& e) {
      CHECK(e.code() == errc::connection_lost);
      CHECK(std::string(e.what()).rfind("[crew.connection.lost] the controller at ", 0) == 0);
      CHECK(std::string(e.what()).find("crew cluster status") != std::string::npos);
    }
    REQUIRE(::kill(controller, SIGCONT) == 0);
    CHECK(poll_for(
        [&] {
          try {
            return rc.ids() == all_ids();
          } catch (const ConnectionError&) {
            return false;
          }
        },
        30s));
  }

  TEST_CASE("stopping the cluster ends every process it started") {
    // A cluster of its own: the one the other cases share stays up, whatever order they run in.
    Cluster own(world_size(), "sys-stop", {"--plugin", plugin});
    CHECK(own.client().view().apply("echo", 1).get(30s).is_list());  // it works before it stops
    const auto pids = own.pids();
    CHECK(pids.size() == static_cast<std::size_t>(2 + world_size()));
    own.stop();
    for (pid_t p : pids) CHECK_FALSE(proc::alive(p));
  }

}  // TEST_SUITE
