// Faults with real processes: a rank killed with SIGKILL while balanced work runs. Executions are
// counted on the engines (the test plugin's `mark` leaves one file per task that ran to its end,
// and another for each time it ran again), not only by the results that came back.
#include <doctest/doctest.h>

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include "common/clock.hpp"
#include "common/process.hpp"
#include "crew/crew.hpp"
#include "errors_of.hpp"
#include "test_support.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

const std::string plugin = (test_bin_dir() / "system" / "libcrew_test_plugin.so").string();

struct Executions {
  std::size_t distinct = 0;  ///< tasks that ran to their end
  std::size_t again = 0;     ///< further runs of those
};

Executions count_marks(const fs::path& dir) {
  Executions e;
  for (const auto& f : fs::directory_iterator(dir))
    ++(f.path().filename().string().starts_with("again-") ? e.again : e.distinct);
  return e;
}

std::int64_t stat(const Client& rc, const char* name) { return rc.controller_stats()[name].as_int(); }

}  // namespace

TEST_SUITE("system.fault") {

  TEST_CASE("kill -9 one rank of a world mid-run of 10,000 balanced tasks with retries: none lost, none run twice") {
    // 2 worlds of 2 (ids 0-3). First, 4 tasks that each hold an engine until the test lets them
    // end, and mark only then: those on world 0 are let go; those on world 1 still hold it when
    // one of its ranks is killed, so no task can have finished there with its answer still on
    // the way (that answer would die with the world, and the task would run again): the kill
    // catches them running, and they must run again elsewhere, once.
    Cluster cluster(4, "fault-rank", {"--worlds", "2", "--plugin", plugin, "--heartbeat-ms", "500"});
    const Client rc = cluster.client(30s);
    const auto engines = rc.engines();
    const auto victim =
        std::find_if(engines.begin(), engines.end(), [](const EngineInfo& e) { return e.world == 1 && e.rank == 1; });
    REQUIRE(victim != engines.end());
    TempDir marks("crew-marks");
    auto lb = rc.load_balanced_view().with({.retries = 1});
    const auto retried_before = stat(rc, "tasks_retried");
    std::vector<std::unique_ptr<Gate>> gates;
    std::vector<AsyncResult> tasks;
    for (int i = 0; i < 4; ++i) {
      gates.push_back(std::make_unique<Gate>());
      tasks.push_back(lb.apply("hold_then_mark", gates.back()->path(), marks.path().string()));
    }
    std::vector<int> held_on;  // the engine each gate holds
    for (const auto& g : gates) {
      REQUIRE(g->wait_held(30s));
      std::ifstream(g->path() + ".engine") >> held_on.emplace_back(-1);
    }
    REQUIRE(std::set<int>(held_on.begin(), held_on.end()).size() == 4);  // one on each engine
    for (std::size_t i = 0; i < gates.size(); ++i)
      if (held_on[i] <= 1) gates[i]->open();  // world 0's go on

    const std::size_t n = 10000;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) tasks.push_back(lb.apply("mark", marks.path().string()));
    // Mid-run: a third of them have run.
    REQUIRE(poll_for([&] { return count_marks(marks.path()).distinct >= n / 3; }, 120s));
    const std::size_t done_at_kill = count_marks(marks.path()).distinct;
    ::kill(static_cast<pid_t>(victim->pid), SIGKILL);
    // The caught ones may go on once their world is gone (mpirun ends its other rank) and the
    // controller knows it: they run again elsewhere.
    for (const auto& e : engines)
      if (e.world == 1) REQUIRE(proc::wait_gone(static_cast<pid_t>(e.pid), deadline_after(30s)));
    REQUIRE(poll_for(
        [&] {
          for (const auto& e : rc.engines())
            if (e.world == 1 && e.state == "alive") return false;
          return true;
        },
        30s));
    for (const auto& g : gates) g->open();

    std::size_t ok = 0;
    for (auto& t : tasks) ok += code_of([&] { (void)t.get(120s); }) == errc::none ? 1 : 0;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const Executions ran = count_marks(marks.path());
    const auto retried = stat(rc, "tasks_retried") - retried_before;
    const std::size_t total = tasks.size();
    MESSAGE("killed engine " << victim->id << " (world 1, rank 1) with " << done_at_kill << " of " << total
                             << " done: " << ok << " ok, " << total - ok << " lost, " << ran.distinct << " ran, "
                             << ran.again << " ran twice, " << retried << " retried, in " << seconds << " s");
    CHECK(retried >= 2);  // at least the two the kill caught running
    CHECK(ok == total);
    CHECK(ran.distinct == total);
    CHECK(ran.again == 0);
  }

  TEST_CASE("kill -9 the controller with tasks running and queued: the worlds reattach to the restored one, ids "
            "and tasks kept, every task runs once and reaches its client once") {
    // 2 worlds of 2, one balanced task in flight per engine. Finished tasks, then one task
    // holding each engine and 50 queued at the controller behind them; the controller is killed
    // (some of the queued ones on file, the last ones maybe not yet); two of the held tasks finish
    // while there is none (their replies wait at their bridge), and `crew cluster start`
    // restores it from its task database.
    Cluster cluster(4, "fault-ctl",
                    {"--worlds", "2", "--plugin", plugin, "--heartbeat-ms", "250", "--db", "sqlite", "--hwm", "1"});
    const Client rc = cluster.client(30s);
    const auto before = rc.engines();
    TempDir marks("crew-marks");
    auto lb = rc.load_balanced_view();
    std::vector<std::string> finished;
    for (int i = 0; i < 100; ++i) {
      auto r = lb.apply("mark", marks.path().string());
      REQUIRE_NOTHROW((void)r.get(60s));
      finished.push_back(r.msg_ids().front());
    }
    std::vector<std::unique_ptr<Gate>> gates;
    std::vector<AsyncResult> held;
    for (int i = 0; i < 4; ++i) {
      gates.push_back(std::make_unique<Gate>());
      held.push_back(lb.apply("hold_then_mark", gates.back()->path(), marks.path().string()));
    }
    for (const auto& g : gates) REQUIRE(g->wait_held(30s));
    std::vector<AsyncResult> queued;
    for (int i = 0; i < 50; ++i) queued.push_back(lb.apply("mark", marks.path().string()));
    REQUIRE(poll_for([&] { return stat(rc, "tasks_submitted") == 154; }, 30s));
    // Another client waits for one of the held tasks (get_result): it asks again after the restore.
    const Client watcher = cluster.client(30s);
    auto watched = watcher.get_result(held.back().msg_ids().front());

    const auto controller = static_cast<pid_t>(stat(rc, "pid"));
    ::kill(controller, SIGKILL);
    REQUIRE(proc::wait_gone(controller, deadline_after(30s)));
    gates[0]->open();
    gates[1]->open();
    REQUIRE(poll_for([&] { return count_marks(marks.path()).distinct >= 102; }, 60s));

    const auto start = std::chrono::steady_clock::now();
    const auto restored = crew_cli({"cluster", "start", "--profile", cluster.profile()});
    REQUIRE_MESSAGE(restored.status == 0, restored.err);
    CHECK(restored.out.find("restored") != std::string::npos);
    // Back: the same engines (ids, processes), alive, under a new controller.
    const Client fresh = cluster.client(30s);
    const auto same = [&] {
      const auto now = fresh.engines();
      if (now.size() != before.size()) return false;
      for (std::size_t i = 0; i < now.size(); ++i)
        if (now[i].id != before[i].id || now[i].pid != before[i].pid || now[i].state != "alive") return false;
      return true;
    };
    REQUIRE(poll_for(same, 30s));
    const double back_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(stat(fresh, "pid") != controller);
    for (std::size_t i = 2; i < gates.size(); ++i) gates[i]->open();

    // The client of before keeps its results: the held tasks' answers reach it, and the queued
    // ones, which it sent again where the controller had lost them, run once.
    for (auto& r : held) CHECK(code_of([&] { (void)r.get(60s); }) == errc::none);
    CHECK(code_of([&] { (void)watched.get(60s); }) == errc::none);
    std::size_t ok_queued = 0;
    for (auto& r : queued) ok_queued += code_of([&] { (void)r.get(60s); }) == errc::none ? 1 : 0;
    CHECK(ok_queued == queued.size());
    // What finished before the kill is on record, for any client.
    std::size_t readable = 0;
    for (const auto& id : finished) readable += code_of([&] { (void)fresh.get_result(id).get(30s); }) == errc::none;
    CHECK(readable == finished.size());
    // ... and it goes on with new work.
    std::vector<AsyncResult> after;
    for (int i = 0; i < 100; ++i) after.push_back(lb.apply("mark", marks.path().string()));
    std::size_t ok_after = 0;
    for (auto& r : after) ok_after += code_of([&] { (void)r.get(60s); }) == errc::none ? 1 : 0;
    CHECK(ok_after == after.size());

    const Executions ran = count_marks(marks.path());
    MESSAGE("controller killed with 4 tasks running (2 finished meanwhile) and 50 queued: engines back with their "
            "ids "
            << back_s << " s after `crew cluster start`; " << readable << "/" << finished.size()
            << " earlier results readable, " << ok_queued << "/50 queued ok, " << ran.distinct << " ran, " << ran.again
            << " ran twice, " << stat(fresh, "tasks_adopted") << " adopted, " << stat(fresh, "tasks_abandoned")
            << " abandoned");
    CHECK(stat(fresh, "worlds_reattached") == 2);
    CHECK(stat(fresh, "tasks_adopted") == 4);
    CHECK(stat(fresh, "tasks_abandoned") == 0);
    CHECK(ran.distinct == 254);
    CHECK(ran.again == 0);
  }

  TEST_CASE("kill -9 the controller mid-run of 10,000 balanced tasks: what its client had is readable, every other "
            "task completes after the restore, and none runs twice") {
    Cluster cluster(4, "fault-ctl-run",
                    {"--worlds", "2", "--plugin", plugin, "--heartbeat-ms", "250", "--db", "sqlite"});
    const Client rc = cluster.client(30s);
    TempDir marks("crew-marks");
    auto lb = rc.load_balanced_view();
    const std::size_t n = 10000;
    std::vector<AsyncResult> tasks;
    for (std::size_t i = 0; i < n; ++i) tasks.push_back(lb.apply("mark", marks.path().string()));
    REQUIRE(poll_for([&] { return count_marks(marks.path()).distinct >= n / 3; }, 120s));
    const auto controller = static_cast<pid_t>(stat(rc, "pid"));
    ::kill(controller, SIGKILL);
    REQUIRE(proc::wait_gone(controller, deadline_after(30s)));
    std::vector<std::string> had;  // the results its client had when the controller died
    for (const auto& t : tasks)
      if (t.ready()) had.push_back(t.msg_ids().front());

    const auto start = std::chrono::steady_clock::now();
    const auto restored = crew_cli({"cluster", "start", "--profile", cluster.profile()});
    REQUIRE_MESSAGE(restored.status == 0, restored.err);
    std::size_t ok = 0;
    for (auto& t : tasks) ok += code_of([&] { (void)t.get(120s); }) == errc::none ? 1 : 0;
    const double all_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const Client fresh = cluster.client(30s);
    std::size_t readable = 0;
    for (const auto& id : had) readable += code_of([&] { (void)fresh.get_result(id).get(30s); }) == errc::none;
    const Executions ran = count_marks(marks.path());
    MESSAGE("controller killed with " << had.size() << " of " << n << " results at their client: " << readable
                                      << " of them readable after the restore, " << ok << " ok in all, " << ran.distinct
                                      << " ran, " << ran.again << " ran twice, " << stat(fresh, "tasks_adopted")
                                      << " adopted; all done " << all_s << " s after `crew cluster start`");
    CHECK(readable == had.size());
    CHECK(ok == n);
    CHECK(ran.distinct == n);
    CHECK(ran.again == 0);
  }

  TEST_CASE("a world whose controller died waits --orphan-timeout for a restored one, then stops by itself") {
    Cluster cluster(2, "fault-orphan", {"--heartbeat-ms", "100", "--db", "sqlite", "--orphan-timeout", "1"});
    const Client rc = cluster.client(30s);
    const auto engines = rc.engines();
    const auto controller = static_cast<pid_t>(stat(rc, "pid"));
    ::kill(controller, SIGKILL);
    REQUIRE(proc::wait_gone(controller, deadline_after(30s)));
    const auto start = std::chrono::steady_clock::now();
    for (const auto& e : engines) REQUIRE(proc::wait_gone(static_cast<pid_t>(e.pid), deadline_after(60s)));
    MESSAGE("the engines stopped " << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
                                   << " s after their controller died (3 s of silence, then 1 s as orphans)");
    // Nothing is left to restore: the next start is a new cluster (on the same records).
    const auto again = crew_cli({"cluster", "start", "-n", "2", "--profile", cluster.profile(), "--db", "sqlite"});
    REQUIRE_MESSAGE(again.status == 0, again.err);
    CHECK_MESSAGE(again.out.find("started") != std::string::npos, again.out, again.err);
  }

  TEST_CASE("crew cluster start --fresh over a controller that died stops its worlds and starts anew") {
    Cluster cluster(2, "fault-fresh", {"--heartbeat-ms", "250", "--db", "sqlite"});
    const Client rc = cluster.client(30s);
    const auto engines = rc.engines();
    const auto controller = static_cast<pid_t>(stat(rc, "pid"));
    ::kill(controller, SIGKILL);
    REQUIRE(proc::wait_gone(controller, deadline_after(30s)));
    const auto fresh =
        crew_cli({"cluster", "start", "-n", "2", "--profile", cluster.profile(), "--db", "sqlite", "--fresh"});
    REQUIRE_MESSAGE(fresh.status == 0, fresh.err);
    CHECK(fresh.out.find("started") != std::string::npos);
    CHECK(fresh.out.find("restored") == std::string::npos);
    for (const auto& e : engines) CHECK_FALSE(proc::alive(static_cast<pid_t>(e.pid)));
    const auto now = cluster.client(30s).engines();
    REQUIRE(now.size() == 2);
    for (const auto& e : now) CHECK(e.state == "alive");
  }
}
