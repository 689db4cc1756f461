// Load-balanced execution against a real cluster: two MPI worlds of two engines plus a third world
// of one engine with the property gpu=true (5 engines). Dependencies, timeouts, retries, require,
// abort, map, hub queries, 100,000 tasks, and a world dying with balanced tasks in flight.
//
// With CREW_TEST_SCHEME set, only the scheme case runs, on a cluster whose controller uses that
// scheme.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <numeric>
#include <set>

#include "crew/crew.hpp"
#include "errors_of.hpp"
#include "test_support.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

const std::string plugin = (test_bin_dir() / "system" / "libcrew_test_plugin.so").string();

std::string scheme() {
  const char* s = std::getenv("CREW_TEST_SCHEME");
  return s ? s : "";
}

/// 2 worlds of 2 engines (ids 0-3), then one more engine with gpu=true (id 4).
Cluster& cluster() {
  static Cluster c = [] {
    // Deaths are noticed within 2.5 s: quick for the cases that wait for one, and beyond the
    // stalls a loaded CI machine has (up to ~2 s seen here).
    std::vector<std::string> args{"--worlds", "2", "--plugin", plugin, "--heartbeat-ms", "500"};
    if (!scheme().empty()) args.insert(args.end(), {"--scheme", scheme()});
    return Cluster(4, scheme().empty() ? "lb" : "lb-" + scheme(), args);
  }();
  return c;
}

Client& client() {
  static Client rc = [] {
    Client c = cluster().client(30s);
    if (scheme().empty()) {
      const auto r = crew_cli({"cluster", "add", "-n", "1", "--property", "gpu=true", "--plugin", plugin, "--profile",
                               cluster().profile()});
      if (r.status != 0) throw Error(errc::launcher_failed, "cluster add failed: " + r.err);
    }
    return c;
  }();
  return rc;
}

std::int64_t stat(const Client& rc, const char* name) { return rc.controller_stats()[name].as_int(); }

}  // namespace

TEST_SUITE("system.balanced") {

  TEST_CASE("each scheme spreads tasks over every engine of both worlds" * doctest::skip(scheme().empty())) {
    auto lb = client().load_balanced_view();
    std::map<int, int> per_engine;
    const int sequential = 40;
    for (int i = 0; i < sequential; ++i) ++per_engine[lb.apply("whoami").get_as<int>(30s)];
    CHECK(per_engine.size() == 4);  // random, twobin, weighted: P(an engine left out) < 4 * 0.75^40 = 4e-5
    if (scheme() == "leastload" || scheme() == "lru") {
      for (const auto& [engine, n] : per_engine) CHECK(n == sequential / 4);  // one at a time: round robin
    }
    // Many at once: every engine takes part, and results all come back.
    std::vector<AsyncResult> many;
    for (int i = 0; i < 400; ++i) many.push_back(lb.apply("sleep", 0.002));
    std::set<int> used;
    for (auto& r : many) {
      r.get(60s);
      used.insert(r.metadata().engine_id);
    }
    CHECK(used.size() == 4);
    CHECK(client().queue_status().scheme == scheme());
  }

  TEST_CASE("a balanced task runs on one engine and says which" * doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view();
    const auto r = lb.apply("whoami");
    const int engine = r.get_as<int>(30s);
    CHECK(r.metadata().engine_id == engine);
    CHECK(r.targets() == std::vector<int>{engine});
    CHECK(r.metadata().status == "ok");
    CHECK(r.metadata().completed >= r.metadata().started);
    CHECK(r.get_dict(30s).begin()->first == engine);
  }

  TEST_CASE("a collective's name on a load-balanced view is refused at once, pointing to a direct view" *
            doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view();
    const std::string why = input_error_of([&] { (void)lb.apply("crew.gather", "x"); }, errc::bad_option);
    CHECK(why.find("crew.gather is a collective") != std::string::npos);
    CHECK(why.find("DirectView") != std::string::npos);
    CHECK(lb.apply("whoami").get_as<int>(30s) >= 0);  // the view serves on
  }

  TEST_CASE("metadata is filled when the result arrives, before any get() or wait()" *
            doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view();
    const auto r = lb.apply("whoami");
    // Only ready() and metadata(): nothing here waits on the result or reads its value.
    REQUIRE(poll_for([&] { return r.ready(); }, 30s));
    const auto meta = r.metadata();
    CHECK(meta.status == "ok");
    CHECK(meta.engine_id >= 0);
    CHECK(meta.engine_id <= 4);
    CHECK(meta.function == "whoami");
    CHECK(meta.completed >= meta.started);
    CHECK(meta.received >= meta.submitted);
    CHECK(r.targets() == std::vector<int>{meta.engine_id});
    CHECK(r.get_as<int>(30s) == meta.engine_id);  // and it is where the task ran

    // A result fetched by its msg id by another client learns its engine on arrival too.
    const Client other = cluster().client(30s);
    const auto fetched = other.get_result(r.msg_ids().front());
    REQUIRE(poll_for([&] { return fetched.ready(); }, 30s));
    CHECK(fetched.metadata().engine_id == meta.engine_id);
    CHECK(fetched.metadata().status == "ok");
  }

  TEST_CASE("a view's targets bound where its tasks run" * doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view({1, 3});
    std::vector<AsyncResult> rs;
    for (int i = 0; i < 40; ++i) rs.push_back(lb.apply("whoami"));
    std::set<int> used;
    for (auto& r : rs) used.insert(r.get_as<int>(30s));
    CHECK(used == std::set<int>{1, 3});
    CHECK(code_of([] { (void)client().load_balanced_view({0, 99}); }) == errc::unknown_target);
  }

  TEST_CASE("map returns every result in item order, chunked automatically" * doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view();
    const auto m = lb.map("square", range(1000));
    CHECK(m.size() == 1000);
    CHECK(m.chunks() > 1);
    const auto squares = m.get_as<std::vector<std::int64_t>>(60s);
    REQUIRE(squares.size() == 1000);
    for (std::int64_t i = 0; i < 1000; ++i) CHECK(squares[static_cast<std::size_t>(i)] == i * i);
    // The iterator gives the same, one at a time.
    std::int64_t i = 0;
    for (const Value& v : m) {
      CHECK(v.as_int() == i * i);
      ++i;
    }
    CHECK(i == 1000);
    std::set<int> engines;
    for (std::size_t k = 0; k < m.chunks(); ++k) engines.insert(m.result().metadata(k).engine_id);
    CHECK(engines.size() > 1);
  }

  TEST_CASE("an unordered map gives every result once, chunk by chunk as they finish" *
            doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view();
    std::vector<double> xs(300);
    std::iota(xs.begin(), xs.end(), 0.0);
    const auto m = lb.map("echo", xs, {.chunksize = 7, .ordered = false});
    CHECK(m.chunks() == 43);
    std::vector<double> got;
    for (const Value& v : m) got.push_back(v.as_double());
    std::sort(got.begin(), got.end());
    CHECK(got == xs);
    CHECK(m.progress() == 300);
  }

  TEST_CASE("map over an empty sequence is an empty result at once" * doctest::skip(!scheme().empty())) {
    const auto m = client().load_balanced_view().map("square", std::vector<long>{});
    CHECK(m.ready());
    CHECK(m.chunks() == 0);
    CHECK(m.get(1s).size() == 0);
    CHECK(m.begin() == m.end());
  }

  TEST_CASE("map over a list keeps values of any kind; a failing item names itself" *
            doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view();
    const Value items = Value::list({1, "two", Value::list({3}), nullptr});
    CHECK(lb.map_value("echo", items, {.chunksize = 2}).get(30s) == items);
    const auto bad = lb.map("square", Value::list({1, 2, "three", 4}), {.chunksize = 4});
    const std::string why = message_of([&] { (void)bad.get(30s); });
    CHECK(why.find("item 2") != std::string::npos);
    CHECK(why.find("bad_arguments") != std::string::npos);
  }

  TEST_CASE("a direct map splits the items over the view's engines, one part each" * doctest::skip(!scheme().empty())) {
    const auto m = client()[{0, 2, 3}].map("square", std::vector<long>{1, 2, 3, 4, 5, 6, 7});
    CHECK(m.chunks() == 3);
    CHECK(m.get_as<std::vector<long>>(30s) == std::vector<long>{1, 4, 9, 16, 25, 36, 49});
    CHECK(m.result().metadata(0).engine_id == 0);
    CHECK(m.result().metadata(2).engine_id == 3);
  }

  TEST_CASE("after waits until its prerequisites are done" * doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view();
    const auto slow = lb.apply("sleep", 0.4);
    const auto next = lb.with({.after = {slow}}).apply("whoami");
    next.get(30s);
    CHECK(slow.ready());
    CHECK(next.metadata().started >= slow.metadata().completed);
    // Direct tasks can be prerequisites too.
    const auto direct = client()[2].apply("sleep", 0.2);
    const auto after_direct = lb.with({.after = {direct}}).apply("whoami");
    after_direct.get(30s);
    CHECK(after_direct.metadata().started >= direct.metadata().completed);
  }

  TEST_CASE("follow runs where its prerequisites ran" * doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view();
    for (int i = 0; i < 6; ++i) {
      const auto first = lb.apply("whoami");
      const auto second = lb.with({.follow = {first}}).apply("whoami");
      CHECK(second.get_as<int>(30s) == first.get_as<int>(30s));
    }
    // any: one of the engines that ran a prerequisite.
    const auto a = client()[1].apply("whoami"), b = client()[3].apply("whoami");
    a.get(30s), b.get(30s);
    for (int i = 0; i < 6; ++i) {
      const int e = lb.with({.follow = Dependency{a, b}.any()}).apply("whoami").get_as<int>(30s);
      CHECK((e == 1 || e == 3));
    }
  }

  TEST_CASE("follow over prerequisites on two engines is impossible, at once" * doctest::skip(!scheme().empty())) {
    const auto a = client()[0].apply("whoami"), b = client()[2].apply("whoami");
    a.get(30s), b.get(30s);
    const auto r = client().load_balanced_view().with({.follow = {a, b}}).apply("whoami");
    CHECK(code_of([&] { (void)r.get(30s); }) == errc::impossible_dependency);
    CHECK_THROWS_AS((void)r.get(30s), DependencyError);
    CHECK(message_of([&] { (void)r.get(30s); }).find("different engines") != std::string::npos);
    CHECK(r.metadata().engine_id == -1);  // it never reached an engine
  }

  TEST_CASE("a failed prerequisite fails its dependents, unless failure was allowed" *
            doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view();
    const auto bad = lb.apply("fail", std::string("on purpose"));
    const auto strict = lb.with({.after = {bad}}).apply("whoami");
    const auto lenient = lb.with({.after = Dependency{bad}.allow_failure()}).apply("whoami");
    const auto only_on_failure = lb.with({.after = Dependency{bad}.only_failure()}).apply("whoami");
    CHECK(code_of([&] { (void)strict.get(30s); }) == errc::dependency_failed);
    CHECK_THROWS_AS((void)strict.get(30s), DependencyError);
    CHECK(code_of([&] { (void)lenient.get(30s); }) == errc::none);
    CHECK(code_of([&] { (void)only_on_failure.get(30s); }) == errc::none);
    // A chain fails all along.
    const auto second = lb.with({.after = {strict}}).apply("whoami");
    CHECK(code_of([&] { (void)second.get(30s); }) == errc::dependency_failed);
  }

  TEST_CASE("a dependency on an unknown message id fails at once" * doctest::skip(!scheme().empty())) {
    const auto r = client()
                       .load_balanced_view()
                       .with({.after = Dependency(std::vector<std::string>{"no-such-task"})})
                       .apply("whoami");
    CHECK(code_of([&] { (void)r.get(30s); }) == errc::impossible_dependency);
    CHECK(message_of([&] { (void)r.get(30s); }).find("no-such-task") != std::string::npos);
  }

  TEST_CASE("a task not handed to an engine within its timeout fails with task_timeout" *
            doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view();
    // Waiting for a dependency.
    Gate slow_gate;
    const auto slow = lb.apply("hold", slow_gate.path());
    const auto waits = lb.with({.after = {slow}, .timeout = 300ms}).apply("whoami");
    CHECK(code_of([&] { (void)waits.get(30s); }) == errc::task_timeout);
    CHECK_THROWS_AS((void)waits.get(30s), TaskTimeout);
    CHECK(message_of([&] { (void)waits.get(30s); }).find("dependencies") != std::string::npos);
    // Waiting for an engine with room: fill engine 4 to its high-water mark with direct work.
    int depth = 0;
    for (const auto& e : client().queue_status().engines)
      if (e.id == 4) depth = e.depth;
    REQUIRE(depth >= 1);
    // (Direct replies do not change the mark. The first task holds the engine until the gate
    // opens, the others wait behind it, so the engine stays at its mark all that time.)
    Gate busy_gate;
    std::vector<AsyncResult> busy;
    for (int i = 0; i < depth; ++i)
      busy.push_back(i == 0 ? client()[4].apply("hold", busy_gate.path()) : client()[4].apply("sleep", 0.0));
    const auto starved = client().load_balanced_view({4}).with({.timeout = 300ms}).apply("whoami");
    CHECK(code_of([&] { (void)starved.get(30s); }) == errc::task_timeout);
    CHECK(message_of([&] { (void)starved.get(30s); }).find("an engine with room") != std::string::npos);
    busy_gate.open();
    for (auto& b : busy) b.get(30s);
    slow_gate.open();
    slow.get(30s);
    // With room, the same task runs.
    CHECK(client().load_balanced_view({4}).with({.timeout = 5s}).apply("whoami").get_as<int>(30s) == 4);
  }

  TEST_CASE("retries run a failing task again on other engines, and report the last error once" *
            doctest::skip(!scheme().empty())) {
    const auto& rc = client();
    auto lb = rc.load_balanced_view({0, 1, 2, 3});
    const auto retried_before = stat(rc, "tasks_retried");
    // Fails everywhere: 1 try + 2 retries, each on an engine not tried before.
    const auto r = lb.with({.retries = 2}).apply("fail", std::string("always"));
    CHECK(code_of([&] { (void)r.get(30s); }) == errc::exception);
    const std::string why = message_of([&] { (void)r.get(30s); });
    CHECK(why.find("always") != std::string::npos);
    CHECK(why.find("tried on engines") == std::string::npos);  // exhausted retries: the plain last error
    CHECK(stat(rc, "tasks_retried") - retried_before == 2);
    // Succeeds only on engine 3: with 3 retries over 4 engines it must get there.
    const auto lucky = lb.with({.retries = 3}).apply("fail_unless", 3);
    CHECK(lucky.get_as<int>(30s) == 3);
    CHECK(lucky.metadata().engine_id == 3);
    // Without retries a failure is final.
    CHECK(code_of([&] { (void)lb.apply("fail_unless", 99).get(30s); }) == errc::exception);
  }

  TEST_CASE("require sends tasks only to engines with those properties" * doctest::skip(!scheme().empty())) {
    auto gpu = client().load_balanced_view().with({.require = {{"gpu", true}}});
    for (int i = 0; i < 10; ++i) CHECK(gpu.apply("whoami").get_as<int>(30s) == 4);
    const auto engines = client().engines();
    const auto four = std::find_if(engines.begin(), engines.end(), [](const EngineInfo& e) { return e.id == 4; });
    REQUIRE(four != engines.end());
    CHECK(four->properties.at("gpu").as_bool());
    CHECK(four->properties.at("host").as_string() == four->host);
    // "host" is a property every engine has.
    auto here = client().load_balanced_view().with({.require = {{"host", four->host}}});
    CHECK(here.apply("whoami").get_as<int>(30s) >= 0);
  }

  TEST_CASE("a require no engine meets fails at once, saying what engines have" * doctest::skip(!scheme().empty())) {
    const auto r = client().load_balanced_view().with({.require = {{"gpu", false}}}).apply("whoami");
    CHECK(code_of([&] { (void)r.get(30s); }) == errc::no_matching_engine);
    const std::string why = message_of([&] { (void)r.get(30s); });
    CHECK(why.find("engine 4: {\"gpu\": true") != std::string::npos);  // what engines offer
    // Within a view without engine 4, gpu=true cannot be met either.
    const auto r2 = client().load_balanced_view({0, 1}).with({.require = {{"gpu", true}}}).apply("whoami");
    CHECK(code_of([&] { (void)r2.get(30s); }) == errc::no_matching_engine);
  }

  TEST_CASE("abort fails queued tasks with aborted; finished and unknown ones are clear errors" *
            doctest::skip(!scheme().empty())) {
    auto lb = client().load_balanced_view();
    Gate slow_gate;
    const auto slow = lb.apply("hold", slow_gate.path());
    std::vector<AsyncResult> queued;
    for (int i = 0; i < 5; ++i) queued.push_back(lb.with({.after = {slow}}).apply("whoami"));
    std::vector<std::string> ids;
    for (const auto& q : queued) ids.push_back(q.msg_ids().front());
    const AbortReport report = lb.abort(ids);
    CHECK(report.aborted.size() == 5);
    for (auto& q : queued) CHECK(code_of([&] { (void)q.get(30s); }) == errc::aborted);
    CHECK_THROWS_AS((void)queued.front().get(30s), TaskAborted);
    slow_gate.open();
    slow.get(30s);
    CHECK(code_of([&] { (void)lb.abort(slow); }) == errc::already_done);
    CHECK(message_of([&] { (void)lb.abort(slow); }).find("already finished") != std::string::npos);
    CHECK(slow.successful());  // the finished task keeps its result
    CHECK(code_of([&] { (void)lb.abort(std::vector<std::string>{"nope"}); }) == errc::unknown_task);
    // A running task cannot be stopped: it is reported as running and finishes.
    Gate running_gate;
    const auto running = lb.apply("hold", running_gate.path());
    REQUIRE(running_gate.wait_held(30s));
    const AbortReport r2 = lb.abort(running);
    CHECK(r2.running.size() == 1);
    running_gate.open();
    CHECK(running.get(30s).is_null());
  }

  TEST_CASE("history lists tasks with what became of them; purge forgets finished ones and keeps pending ones" *
            doctest::skip(!scheme().empty())) {
    const auto& rc = client();
    auto lb = rc.load_balanced_view();
    const auto t0 = std::chrono::system_clock::now();
    const auto ok = rc[1].apply("echo", 7);
    const auto failed = lb.apply("no_such_function");
    Gate gate;
    const auto held = rc[2].apply("hold", gate.path());
    REQUIRE(gate.wait_held(30s));
    CHECK(ok.get_as<int>(30s) == 7);
    CHECK(code_of([&] { (void)failed.get(30s); }) == errc::unknown_function);
    const std::string ok_id = ok.msg_ids().front(), failed_id = failed.msg_ids().front(),
                      held_id = held.msg_ids().front();
    // This case's tasks, as history lists them (other cases' tasks may be on record too).
    const auto mine = [&](const HistoryFilter& f) {
      std::map<std::string, TaskSummary> out;
      for (auto& t : rc.history(f))
        if (t.msg_id == ok_id || t.msg_id == failed_id || t.msg_id == held_id) out.emplace(t.msg_id, t);
      return out;
    };
    auto all = mine({.since = t0});
    REQUIRE(all.size() == 3);
    CHECK(all[ok_id].function == "echo");
    CHECK(all[ok_id].engine_id == 1);
    CHECK(all[ok_id].status == "ok");
    CHECK(all[ok_id].completed >= all[ok_id].started);
    CHECK(all[ok_id].started > std::chrono::system_clock::time_point{});
    CHECK(all[failed_id].status == "failed");
    CHECK(all[failed_id].error == "crew.remote.unknown_function");
    CHECK(all[held_id].status == "pending");
    CHECK(all[held_id].engine_id == 2);
    CHECK(all[held_id].completed == std::chrono::system_clock::time_point{});
    // Each filter narrows: by status, by engine, by time, and the newest only.
    CHECK(mine({.since = t0, .status = {"pending"}}).size() == 1);
    CHECK(mine({.since = t0, .status = {"ok", "failed"}}).size() == 2);
    CHECK(mine({.since = t0, .targets = {1}}).count(ok_id) == 1);
    CHECK(mine({.since = t0, .targets = {1}}).count(held_id) == 0);
    CHECK(mine({.since = std::chrono::system_clock::now() + 1h}).empty());
    const auto newest = rc.history({.since = t0, .last = 1});
    REQUIRE(newest.size() == 1);
    CHECK(newest.front().msg_id == held_id);  // submitted last, so listed last
    CHECK(input_error_of([&] { (void)rc.history({.status = {"done"}}); }, errc::bad_option)
              .find("pending, ok or failed") != std::string::npos);

    // purge: the finished ones go (and their ids are unknown afterwards); the pending one stays.
    const std::int64_t purged_before = stat(rc, "tasks_purged");
    const PurgeReport report = rc.purge_results({ok_id, failed_id, held_id, "no-such-id"});
    CHECK(report.purged == 2);
    CHECK(report.bytes > 0);
    CHECK(report.pending == std::vector<std::string>{held_id});
    CHECK(report.unknown == std::vector<std::string>{"no-such-id"});
    CHECK(stat(rc, "tasks_purged") - purged_before == 2);
    CHECK(rc.result_status({ok_id, failed_id}).unknown.size() == 2);
    CHECK(code_of([&] { (void)rc.get_result(ok_id); }) == errc::unknown_task);
    CHECK(mine({.since = t0}).size() == 1);
    CHECK(ok.get_as<int>(30s) == 7);  // a result the client holds stays with it
    gate.open();
    CHECK(held.get(30s).is_null());
    CHECK(mine({.since = t0})[held_id].status == "ok");
    // By time: nothing submitted before t0 minus an hour; then everything finished before now.
    CHECK(rc.purge_results_before(t0 - 1h).purged == 0);
    CHECK(rc.purge_results_before(std::chrono::system_clock::now()).purged >= 1);
    CHECK(mine({.since = t0}).empty());
    CHECK(lb.apply("whoami").get_as<int>(30s) >= 0);  // the controller serves on
  }

  TEST_CASE("abort of tasks queued for a busy engine: counted off the queue, the engine moves on" *
            doctest::skip(!scheme().empty())) {
    const auto& rc = client();
    auto lb = rc.load_balanced_view({0});  // one engine: the tasks behind its sleep wait for it
    // A long task first, so that engine 0 takes one task at a time (its depth follows task lengths).
    CHECK(lb.apply("sleep", 0.3).get(30s).is_null());
    auto engine0 = [&](const QueueStatus& q) { return q.engines.at(0); };
    const std::int64_t completed_before = engine0(rc.queue_status()).completed;
    Gate busy_gate;
    const auto busy = lb.apply("hold", busy_gate.path());
    std::vector<AsyncResult> queued;
    for (int i = 0; i < 200; ++i) queued.push_back(lb.apply("whoami"));
    const QueueStatus before = rc.queue_status();
    CHECK(before.unassigned >= 200 - engine0(before).depth);
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < queued.size(); i += 2) ids.push_back(queued[i].msg_ids().front());
    const AbortReport report = lb.abort(ids);
    CHECK(report.aborted.size() + report.running.size() == ids.size());
    CHECK(report.aborted.size() >= 90);
    // Every task is counted once: unassigned, on the engine, aborted, or done.
    const QueueStatus after = rc.queue_status();
    CHECK(after.unassigned + engine0(after).queue + static_cast<std::int64_t>(report.aborted.size()) +
              (engine0(after).completed - completed_before) ==
          201);
    busy_gate.open();
    for (const auto& q : queued) {
      const auto& id = q.msg_ids().front();
      if (std::find(report.aborted.begin(), report.aborted.end(), id) != report.aborted.end())
        CHECK(code_of([&] { (void)q.get(30s); }) == errc::aborted);
      else
        CHECK(q.get_as<int>(30s) == 0);  // the others still run, on engine 0
    }
    CHECK(busy.get(30s).is_null());
    CHECK(rc.queue_status().unassigned == 0);
  }

  TEST_CASE("long tasks after a burst of short ones: no engine idles while another holds one unstarted" *
            doctest::skip(!scheme().empty())) {
    // 10,000 no-ops teach the engines a depth of many tasks; 8 sleeps behind them land several
    // deep on whichever engines free room first. Engines that fall idle must take them over.
    auto lb = client().load_balanced_view({0, 1, 2, 3});
    std::vector<AsyncResult> noops;
    noops.reserve(10000);
    for (int i = 0; i < 10000; ++i) noops.push_back(lb.apply("echo", i));
    std::vector<AsyncResult> sleeps;
    for (int i = 0; i < 8; ++i) sleeps.push_back(lb.apply("sleep", 2.0));
    for (auto& r : noops) r.get(120s);
    for (auto& r : sleeps) REQUIRE(r.get(120s).is_null());

    // Each engine's busy spans from the tasks' own start and end times; idle from the first start.
    using seconds = std::chrono::duration<double>;
    auto start = [](const AsyncResult& r) { return r.metadata().started; };
    const auto t0 = start(*std::min_element(sleeps.begin(), sleeps.end(),
                                            [&](const auto& a, const auto& b) { return start(a) < start(b); }));
    struct Span {
      double start, end;
    };
    std::map<int, std::vector<Span>> runs;
    for (const auto& r : sleeps)
      runs[r.metadata().engine_id].push_back(
          {seconds(r.metadata().started - t0).count(), seconds(r.metadata().completed - t0).count()});
    CHECK(runs.size() == 4);
    // An engine is busy with its no-ops until the last one ends: idle only from then on (under the
    // sanitizers an engine can still be on its no-ops well after another's first sleep started).
    std::map<int, double> noops_end;
    for (const auto& r : noops) {
      double& end = noops_end.try_emplace(r.metadata().engine_id, -1e9).first->second;
      end = std::max(end, seconds(r.metadata().completed - t0).count());
    }
    for (auto& [engine, spans] : runs) {
      CAPTURE(engine);
      CHECK(spans.size() == 2);
      std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.start < b.start; });
    }
    // No task starts while another engine has been idle for longer than the slack a loaded machine
    // has (a task stranded behind a sleep would start 2 s after an engine fell idle).
    constexpr double slack = 1.0;
    for (const auto& [engine, spans] : runs) {
      for (const Span& task : spans) {
        for (const auto& [other, other_spans] : runs) {
          if (other == engine) continue;
          // Its gaps: after its no-ops until its first sleep, between sleeps, after its last.
          double idle_since = noops_end.count(other) != 0 ? noops_end.at(other) : -1e9;
          for (std::size_t i = 0; i <= other_spans.size(); ++i) {
            const double idle_until = i < other_spans.size() ? other_spans[i].start : 1e9;
            CAPTURE(engine);
            CAPTURE(other);
            CAPTURE(task.start);
            CAPTURE(idle_since);
            CHECK_FALSE((task.start > idle_since + slack && task.start < idle_until));
            if (i < other_spans.size()) idle_since = other_spans[i].end;
          }
        }
      }
    }
  }

  TEST_CASE("abort takes back a task queued on an engine behind a running one; it never runs" *
            doctest::skip(!scheme().empty())) {
    const auto& rc = client();
    // Rank 1 of world 0 (its queue is in another process than the bridge) and rank 0 of world 1
    // (the bridge's own process).
    for (const int engine : {1, 2}) {
      CAPTURE(engine);
      auto lb = rc.load_balanced_view({engine});
      const auto queued_here = [&] { return rc.queue_status().engines.at(static_cast<std::size_t>(engine)).queue; };
      // Short tasks first, so that the engine takes a second task while it runs the first. Both
      // go in one burst; should the controller see them apart (a loaded machine), the second
      // stays with it, and the setup is tried again.
      bool on_engine = false;
      for (int attempt = 0; attempt < 3 && !on_engine; ++attempt) {
        std::vector<AsyncResult> warm;
        for (int i = 0; i < 300; ++i) warm.push_back(lb.apply("echo", i));
        for (auto& w : warm) w.get(60s);
        const auto busy = lb.apply("sleep", 1.5);
        const auto behind = lb.apply("echo", 7);
        on_engine = poll_for([&] { return queued_here() == 2; }, 1s);
        if (!on_engine) {
          (void)rc.abort(behind.msg_ids());
          busy.get(30s);
          continue;
        }
        const AbortReport report = lb.abort(behind);
        CHECK(report.aborted == behind.msg_ids());
        CHECK(report.running.empty());
        CHECK(code_of([&] { (void)behind.get(30s); }) == errc::aborted);
        CHECK(message_of([&] { (void)behind.get(30s); }).find("before it started") != std::string::npos);
        CHECK(behind.metadata().started == std::chrono::system_clock::time_point{});  // it never ran
        CHECK(busy.get(30s).is_null());                                               // the running one finishes
        CHECK(queued_here() == 0);
      }
      CHECK(on_engine);
    }
  }

  TEST_CASE("queue and result status, and results fetched by another client" * doctest::skip(!scheme().empty())) {
    const auto& rc = client();
    auto lb = rc.load_balanced_view();
    const auto done = lb.apply("whoami");
    done.get(30s);
    Gate slow_gate;
    const auto slow = lb.apply("hold", slow_gate.path());
    const auto failed = lb.apply("fail", std::string("x"));
    (void)failed.wait(30s);
    const ResultStatus s = rc.result_status({done.msg_ids()[0], slow.msg_ids()[0], failed.msg_ids()[0], "zzz"});
    CHECK(s.completed == std::vector<std::string>{done.msg_ids()[0]});
    CHECK(s.pending == std::vector<std::string>{slow.msg_ids()[0]});
    CHECK(s.failed == std::vector<std::string>{failed.msg_ids()[0]});
    CHECK(s.unknown == std::vector<std::string>{"zzz"});
    const QueueStatus q = rc.queue_status();
    CHECK(q.engines.size() == 5);
    CHECK(q.scheme == "leastload");
    CHECK(q.completed >= 1);

    Client other = cluster().client(30s);
    CHECK(other.get_result(done.msg_ids()[0]).get_as<int>(30s) == done.get_as<int>(30s));
    const auto later = other.get_result(slow.msg_ids()[0]);  // still running: comes when done
    CHECK_FALSE(later.ready());
    slow_gate.open();
    CHECK(later.get(30s).is_null());
    CHECK(code_of([&] { (void)other.get_result(failed.msg_ids()[0]).get(30s); }) == errc::exception);
    CHECK(code_of([&] { (void)other.get_result("no-such-id"); }) == errc::unknown_task);
  }

  TEST_CASE("100,000 balanced tasks: every result comes back once, to its task" * doctest::skip(!scheme().empty())) {
    const auto& rc = client();
    auto lb = rc.load_balanced_view();
    const auto completed_before = stat(rc, "tasks_completed");
    // Under the sanitizers (full stack unwinding on every allocation) a fifth of them.
#if defined(__SANITIZE_ADDRESS__)
    const int n = 20'000;
#else
    const int n = 100'000;
#endif
    std::vector<AsyncResult> rs;
    rs.reserve(n);
    for (int i = 0; i < n; ++i) rs.push_back(lb.apply("echo", i));
    REQUIRE(rc.wait(300s));
    std::map<int, int> per_engine;
    for (int i = 0; i < n; ++i) {
      REQUIRE(rs[static_cast<std::size_t>(i)].value(0).as_int() == i);
      ++per_engine[rs[static_cast<std::size_t>(i)].metadata().engine_id];
    }
    CHECK(stat(rc, "tasks_completed") - completed_before == n);
    CHECK(per_engine.size() == 5);
    CHECK(rc.outstanding() == 0);
  }

  TEST_CASE("worlds stopped past the heartbeat limit are declared dead, and come back with their ids" *
            doctest::skip(!scheme().empty())) {
    // What a suspended job (scontrol suspend, a debugger, a starved VM) looks like: every rank
    // stops. The controller declares the worlds dead; once they run again and are heard from,
    // their engines are alive again, and work that waited for an engine meanwhile runs.
    const auto& rc = client();
    const auto before = rc.engines();
    const auto revived_before = stat(rc, "worlds_revived");
    rc[{0, 1}].push({{"late", Value::list({1, 2})}}).get(30s);
    const auto dropped_before = stat(rc, "dropped_unexpected"), errors_before = stat(rc, "handler_errors");
    struct Stopped {  // every rank runs again, also when a check below fails
      std::vector<pid_t> pids;
      void resume() {
        for (const pid_t p : pids) ::kill(p, SIGCONT);
        pids.clear();
      }
      ~Stopped() { resume(); }
    } stopped;
    const auto stopped_at = std::chrono::steady_clock::now();
    for (const auto& e : before) {
      REQUIRE(e.state == "alive");
      stopped.pids.push_back(static_cast<pid_t>(e.pid));
      ::kill(static_cast<pid_t>(e.pid), SIGSTOP);
    }
    // A gather whose world answers once for both its engines, after the world was declared dead.
    const auto late = rc[{0, 1}].apply("crew.gather", "late");
    const auto all_in = [&](const char* state) {
      const auto now = rc.engines();
      return now.size() == before.size() &&
             std::all_of(now.begin(), now.end(), [&](const EngineInfo& e) { return e.state == state; });
    };
    REQUIRE(poll_for([&] { return all_in("dead"); }, 20s));
    CHECK(code_of([&] { (void)late.get(30s); }) == errc::engine_died);
    const auto waited = rc.load_balanced_view().apply("whoami");  // no engine alive: it waits
    // Stopped for longer than a bridge waits for a silent controller (10 heartbeats, at least
    // 3 s): on waking, a world must not take its own sleep for the controller's silence.
    CHECK_FALSE(
        waited.wait(std::chrono::ceil<std::chrono::milliseconds>(stopped_at + 4s - std::chrono::steady_clock::now())));
    stopped.resume();
    REQUIRE(poll_for([&] { return all_in("alive"); }, 20s));
    CHECK(waited.get(30s).as_int() >= 0);
    CHECK(stat(rc, "worlds_revived") - revived_before == 3);
    // The world's late answer to the gather is dropped and counted, not taken for a malformed one.
    CHECK(poll_for([&] { return stat(rc, "dropped_unexpected") > dropped_before; }, 20s));
    CHECK(stat(rc, "handler_errors") == errors_before);
    const auto after = rc.engines();
    for (std::size_t i = 0; i < before.size(); ++i) {
      CHECK(after[i].id == before[i].id);
      CHECK(after[i].pid == before[i].pid);
      CHECK(rc[after[i].id].apply("whoami").get(30s).as_int() == after[i].id);
    }
  }

  TEST_CASE("balanced tasks on a world that dies run again elsewhere, or fail with engine_died" *
            doctest::skip(!scheme().empty())) {
    // A cluster of its own (2 worlds of 2, ids 0-3): the world it kills stays dead, and the one
    // the other cases share must not lose a world, whatever order they run in.
    Cluster doomed(4, "lb-doomed", {"--worlds", "2", "--plugin", plugin, "--heartbeat-ms", "500"});
    const Client rc = doomed.client(30s);
    const auto engines = rc.engines();
    const auto victim = std::find_if(engines.begin(), engines.end(), [](const EngineInfo& e) { return e.world == 1; });
    REQUIRE(victim != engines.end());
    const auto retried_before = stat(rc, "tasks_retried");
    Gate gate;  // holds every task below until world 1 is gone
    const auto lost = rc.load_balanced_view({2, 3}).apply("hold", gate.path());  // world 1, no retries
    // Spread over both worlds (leastload puts some on world 1), each allowed one retry.
    auto both = rc.load_balanced_view({0, 1, 2, 3}).with({.retries = 1});
    std::vector<AsyncResult> saved;
    for (int i = 0; i < 8; ++i) saved.push_back(both.apply("hold", gate.path()));
    REQUIRE(poll_for(
        [&] {
          int on_world1 = 0;
          for (const auto& e : rc.queue_status().engines) on_world1 += e.world == 1 ? e.queue : 0;
          return on_world1 >= 2;  // `lost` and at least one of `saved`
        },
        10s));
    ::kill(static_cast<pid_t>(victim->pid), SIGKILL);
    CHECK(code_of([&] { (void)lost.get(60s); }) == errc::engine_died);
    gate.open();
    for (auto& r : saved) {
      CHECK(code_of([&] { (void)r.get(60s); }) == errc::none);
      CHECK(r.metadata().engine_id <= 1);  // finished on world 0, also those that started on world 1
    }
    CHECK(stat(rc, "tasks_retried") - retried_before >= 1);
    // A task only world 1 could run now fails at once.
    CHECK(code_of([&] { (void)rc.load_balanced_view({2, 3}).apply("whoami").get(30s); }) == errc::engine_dead);
  }
}
