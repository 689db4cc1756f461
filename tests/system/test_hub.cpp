// The task database (--db sqlite) with a real controller, real engines and a real SQLite file:
// results outlive the controller's memory budget and the controller itself, history spans its
// runs, purge reaches the file, and `crew history` reads the file when no controller runs.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <set>
#include <string>

#include "common/clock.hpp"
#include "common/process.hpp"
#include "common/profile.hpp"
#include "crew/crew.hpp"
#include "errors_of.hpp"
#include "test_support.hpp"

#include <nlohmann/json.hpp>

using namespace crew;
using namespace crew::testing;

namespace {

const std::string profile = "taskdb";

std::vector<std::string> listed(const std::vector<TaskSummary>& tasks) {
  std::vector<std::string> ids;
  for (const auto& t : tasks) ids.push_back(t.msg_id);
  return ids;
}

bool has(const std::vector<std::string>& list, const std::string& id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}

}  // namespace

TEST_SUITE("system.hub") {

  TEST_CASE("with --db sqlite, results outlive the memory budget and the controller; history spans runs; purge "
            "reaches the file") {
    const std::string big(600 * 1000, 'x');  // three of them are above the 1 MB kept in memory
    std::vector<std::string> big_ids, small_ids;
    std::string failed_id;
    {
      Cluster first(2, profile, {"--db", "sqlite", "--result-store", "1M"});
      Client rc = first.client(30s);
      auto lb = rc.load_balanced_view();
      for (int i = 0; i < 3; ++i) {
        AsyncResult ar = lb.apply("echo", big + std::to_string(i));
        CHECK(ar.get(60s).as_string().size() == big.size() + 1);
        big_ids.push_back(ar.msg_ids().front());
      }
      for (int i = 0; i < 10; ++i) {
        AsyncResult ar = lb.apply("echo", i);
        CHECK(ar.get_as<int>(60s) == i);
        small_ids.push_back(ar.msg_ids().front());
      }
      AsyncResult bad = lb.apply("no_such_function");
      CHECK(code_of([&] { (void)bad.get(60s); }) == errc::unknown_function);
      failed_id = bad.msg_ids().front();

      // The first big result left memory (the budget), and comes back from the file, to another
      // client (this one keeps its own copy).
      const Client other = first.client(30s);
      CHECK(other.get_result(big_ids[0]).get(60s).as_string() == big + "0");
      const Value stats = rc.controller_stats();
      CHECK(stats["db_commits"].as_int() > 0);
      CHECK(stats["db_file"].as_string() == (profile_dir(profile) / "tasks.db").string());
    }

    // No controller: `crew history` reads the file.
    const auto offline = crew_cli({"history", "--profile", profile, "--json"});
    INFO(offline.err);
    REQUIRE(offline.status == 0);
    CHECK(offline.err.find("no controller runs") != std::string::npos);
    const auto rows = nlohmann::json::parse(offline.out);
    std::vector<std::string> offline_ids;
    for (const auto& row : rows) offline_ids.push_back(row["msg_id"]);
    for (const auto& id : big_ids) CHECK(has(offline_ids, id));
    for (const auto& id : small_ids) CHECK(has(offline_ids, id));
    REQUIRE(has(offline_ids, failed_id));
    const auto failed_row =
        *std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r["msg_id"] == failed_id; });
    CHECK(failed_row["status"] == "failed");
    CHECK(failed_row["error"] == "crew.remote.unknown_function");

    // ... and `crew results` too: values as the controller would give them, failures as failures.
    const auto stored = crew_cli({"results", small_ids[3], failed_id, "--profile", profile, "--json"});
    INFO(stored.err);
    CHECK(stored.status == 1);  // one of them failed
    const auto outcomes = nlohmann::json::parse(stored.out);
    CHECK(outcomes[small_ids[3]]["value"] == 3);
    CHECK(outcomes[failed_id]["$error"]["code"] == "remote.unknown_function");
    const auto missing = crew_cli({"results", "no-such-task", "--profile", profile});
    CHECK(missing.status == 2);
    CHECK(missing.err.find("[crew.input.unknown_task] no finished task no-such-task is on record in") !=
          std::string::npos);

    const auto stopped = crew_cli({"cluster", "status", "--profile", profile});
    CHECK(stopped.out.find("records:    " + (profile_dir(profile) / "tasks.db").string() +
                           " (crew results and crew history read it)") != std::string::npos);

    // A new controller on the same file: the earlier run's results are all there.
    Cluster second(2, profile, {"--db", "sqlite"});
    const auto running = crew_cli({"cluster", "status", "--profile", profile});
    CHECK(running.out.find("records:    " + (profile_dir(profile) / "tasks.db").string() + "\n") != std::string::npos);
    Client rc = second.client(30s);
    const ResultStatus status = rc.result_status({big_ids[1], small_ids[3], failed_id, "no-such-task"});
    CHECK(status.completed == std::vector<std::string>{big_ids[1], small_ids[3]});
    CHECK(status.failed == std::vector<std::string>{failed_id});
    CHECK(status.unknown == std::vector<std::string>{"no-such-task"});
    CHECK(rc.get_result(big_ids[2]).get(60s).as_string() == big + "2");
    CHECK(rc.get_result(small_ids[7]).get_as<int>(60s) == 7);
    CHECK(code_of([&] { (void)rc.get_result(failed_id).get(60s); }) == errc::unknown_function);

    // History: the earlier run's tasks first, then this run's; --last takes the newest.
    AsyncResult now = rc.load_balanced_view().apply("echo", 42);
    CHECK(now.get_as<int>(60s) == 42);
    const std::string new_id = now.msg_ids().front();
    CHECK(new_id != small_ids.back());  // sessions go on: no id is used twice in one file
    const auto all = listed(rc.history());
    REQUIRE(has(all, big_ids[0]));
    REQUIRE(has(all, new_id));
    const auto at = [&](const std::string& id) { return std::find(all.begin(), all.end(), id) - all.begin(); };
    CHECK(at(big_ids[0]) < at(small_ids[9]));
    CHECK(at(small_ids[9]) < at(new_id));
    CHECK(listed(rc.history({.last = 2})) == std::vector<std::string>{all[all.size() - 2], new_id});
    const auto failed_only = rc.history({.status = {"failed"}});
    CHECK(has(listed(failed_only), failed_id));

    // Dependencies on the earlier run's tasks: their outcomes come from the file.
    auto lb = rc.load_balanced_view();
    const auto earlier = [](const std::string& id) { return Dependency(std::vector<std::string>{id}); };
    CHECK(lb.with({.after = earlier(small_ids[3])}).apply("echo", 5).get_as<int>(60s) == 5);
    CHECK(code_of([&] { (void)lb.with({.after = earlier(failed_id)}).apply("echo", 6).get(60s); }) ==
          errc::dependency_failed);

    // Purge: an earlier run's id leaves the file; an unknown one is named; then everything goes.
    const PurgeReport one = rc.purge_results({small_ids[0], "no-such-task"});
    CHECK(one.purged == 1);
    CHECK(one.unknown == std::vector<std::string>{"no-such-task"});
    CHECK(rc.result_status({small_ids[0]}).unknown == std::vector<std::string>{small_ids[0]});
    const std::size_t left = rc.history().size();
    const PurgeReport rest = rc.purge_all_results();
    CHECK(rest.purged == left);
    CHECK(rest.bytes >= 3 * big.size());
    CHECK(rc.history().empty());
  }

  TEST_CASE("without a task database, the same results beyond the memory budget are gone, and the error says so") {
    // (the case above reads them back: this shows that they had left memory)
    Cluster memory_only(2, profile + "-mem", {"--result-store", "1M"});
    Client rc = memory_only.client(30s);
    auto lb = rc.load_balanced_view();
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
      AsyncResult ar = lb.apply("echo", std::string(600 * 1000, 'x'));
      (void)ar.get(60s);
      ids.push_back(ar.msg_ids().front());
    }
    const Client other = memory_only.client(30s);
    const std::string why = message_of([&] { (void)other.get_result(ids[0]).get(60s); });
    CHECK(why.find("dropped to keep the controller's result store within its budget") != std::string::npos);
    CHECK(why.find("--db sqlite") != std::string::npos);
  }

  TEST_CASE("beyond --max-records the oldest finished records are retired: with --db sqlite read back from the "
            "file, without it forgotten and the error says so; a task still running stays") {
    constexpr int n = 5000;
    constexpr std::int64_t max_records = 1000;
    const std::string plugin = (test_bin_dir() / "system" / "libcrew_test_plugin.so").string();
    for (const bool with_db : {true, false}) {
      CAPTURE(with_db);
      std::vector<std::string> args{"--max-records", std::to_string(max_records), "--plugin", plugin};
      if (with_db) args.insert(args.end(), {"--db", "sqlite"});
      Cluster cluster(2, profile + (with_db ? "-retire-db" : "-retire-mem"), args);
      Client rc = cluster.client(30s);
      Gate gate;
      AsyncResult held = rc[0].apply("hold", gate.path());  // the oldest record, unfinished throughout
      REQUIRE(gate.wait_held(60s));
      std::vector<AsyncResult> results;
      for (int i = 0; i < n; ++i) results.push_back(rc[1].apply("echo", i));
      int right = 0;
      for (int i = 0; i < n; ++i) right += results[static_cast<std::size_t>(i)].get_as<int>(60s) == i ? 1 : 0;
      CHECK(right == n);
      const Value stats = rc.controller_stats();
      const std::int64_t step = stats["retire_step"].as_int();  // records retire in steps past the limit
      CHECK(stats["max_records"].as_int() == max_records);
      CHECK(step < max_records);
      CHECK(stats["tasks_retired"].as_int() >= n - max_records - step);
      CHECK(stats["tasks_stored"].as_int() <= max_records + step + 1);  // and the held task
      const auto status = crew_cli({"cluster", "status", "--profile", cluster.profile()});
      CHECK(status.out.find(std::to_string(stats["tasks_stored"].as_int()) + " records held, " +
                            std::to_string(stats["tasks_retired"].as_int()) + " retired beyond --max-records " +
                            std::to_string(max_records) + ")") != std::string::npos);

      const std::string first = results.front().msg_ids().front();
      const Client other = cluster.client(30s);
      if (with_db) {
        CHECK(other.get_result(first).get_as<int>(60s) == 0);  // from the file
        CHECK(other.result_status({first}).completed == std::vector<std::string>{first});
      } else {
        const std::string why = message_of([&] { (void)other.get_result(first).get(60s); });
        CHECK(why.find("--max-records") != std::string::npos);
      }
      // A dependency on a retired task: met from the file (and followed to where it ran), or
      // refused, saying why.
      auto lb = rc.load_balanced_view();
      const AsyncResult after_first = lb.with({.after = {results.front()}}).apply("echo", -1);
      const AsyncResult follows_first = lb.with({.follow = {results.front()}}).apply("echo", -2);
      if (with_db) {
        CHECK(after_first.get_as<int>(60s) == -1);
        CHECK(follows_first.get_as<int>(60s) == -2);
        CHECK(follows_first.metadata().engine_id == 1);  // where the retired task ran
      } else {
        const std::string why = message_of([&] { (void)after_first.get(60s); });
        CHECK(why.find("is not known") != std::string::npos);
        CHECK(why.find("--max-records") != std::string::npos);
        CHECK_THROWS((void)follows_first.get(60s));
      }
      gate.open();
      CHECK(held.get(60s).is_null());
      CHECK(other.get_result(held.msg_ids().front()).get(60s).is_null());

      const auto history = listed(rc.history());
      if (with_db) {  // every task once: the file's retired ones, then those held
        CHECK(history.size() == static_cast<std::size_t>(n) + 3);
        CHECK(std::set<std::string>(history.begin(), history.end()).size() == history.size());
        CHECK(has(history, first));
        CHECK(has(history, held.msg_ids().front()));
        const PurgeReport purged = rc.purge_all_results();
        CHECK(purged.purged == static_cast<std::size_t>(n) + 3);
        CHECK(rc.history().empty());
      } else {
        CHECK(history.size() <= static_cast<std::size_t>(max_records + step + 3));
        CHECK(!has(history, first));
        CHECK(has(history, results.back().msg_ids().front()));
      }
    }
  }

  TEST_CASE("a client killed mid-run loses nothing: another client finds its tasks and reads every result") {
    Cluster cluster(2, profile + "-kill");
    const std::size_t n = 200;
    std::string items = "[";
    for (std::size_t i = 0; i < n; ++i) items += i ? ",0.02" : "0.02";
    items += "]";
    proc::SpawnOptions o;
    o.argv = {(bin_dir() / "crew").string(),
              "map",
              "sleep",
              items,
              "--lb",
              "--chunksize",
              "1",
              "--profile",
              cluster.profile()};
    o.log = fs::temp_directory_path() / ("crew-killed-client-" + std::to_string(::getpid()) + ".log");
    const pid_t submitter = proc::spawn(o);
    struct EndIt {  // also when a check below fails
      pid_t pid;
      ~EndIt() {
        ::kill(pid, SIGKILL);
        (void)proc::wait_gone(pid, deadline_after(10s));
      }
    } end_it{submitter};

    Client rc = cluster.client(30s);
    const auto count = [&](const char* status) { return rc.history({.status = {status}}).size(); };
    // Killed once every task is on record, some have finished and others still wait or run.
    REQUIRE(poll_for([&] { return rc.history().size() == n && count("ok") >= 10 && count("pending") > 0; }, 60s, 5ms));
    ::kill(submitter, SIGKILL);
    REQUIRE(proc::wait_gone(submitter, deadline_after(10s)));
    const std::size_t pending_at_kill = count("pending");
    MESSAGE("when the client died: " << n - pending_at_kill << " of " << n << " tasks done");

    // Its tasks go on; every result waits for whoever asks.
    REQUIRE(poll_for([&] { return count("ok") == n; }, 60s));
    CHECK(count("failed") == 0);
    std::size_t fetched = 0;
    for (const auto& t : rc.history()) {
      CHECK(t.function == "crew.map");
      CHECK(rc.get_result(t.msg_id).get(30s).as_list().size() == 1);
      ++fetched;
    }
    CHECK(fetched == n);
    fs::remove(o.log);
  }

  TEST_CASE("with --db-path elsewhere, crew results and history find the file through the profile once the "
            "controller is gone") {
    const fs::path dir = fs::temp_directory_path() / ("crew-db-path-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path file = dir / "records.sqlite";
    std::string id;
    {
      Cluster cluster(1, profile + "-path", {"--db-path", file.string()});
      const Client rc = cluster.client(30s);
      AsyncResult ar = rc.load_balanced_view().apply("echo", 7);
      CHECK(ar.get_as<int>(60s) == 7);
      id = ar.msg_ids().front();
    }
    CHECK(fs::exists(file));
    CHECK_FALSE(fs::exists(profile_dir(profile + "-path") / "tasks.db"));
    const auto result = crew_cli({"results", id, "--profile", profile + "-path", "--json"});
    INFO(result.err);
    CHECK(result.status == 0);
    CHECK(result.err.find(file.string()) != std::string::npos);
    CHECK(nlohmann::json::parse(result.out)[id]["value"] == 7);
    const auto history = crew_cli({"history", "--profile", profile + "-path", "--json"});
    CHECK(history.status == 0);
    CHECK(nlohmann::json::parse(history.out).size() == 1);
    fs::remove_all(dir);
  }
}
