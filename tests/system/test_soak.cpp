// A soak, scaled down for CI (bench/soak.sh runs 1,000,000 tasks): 150,000 balanced tasks in
// bursts through one client. Every result is right; the controller holds at most --max-records
// finished records (and a step); and neither the controller's resident memory nor the client's
// grows with the tasks run once the limit is reached.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "crew/crew.hpp"
#include "test_support.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

/// Resident memory of a process, in bytes (VmRSS).
std::int64_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  FAIL("no VmRSS in /proc/" << pid << "/status");
  return 0;
}

constexpr double mib = 1024.0 * 1024.0;

}  // namespace

TEST_SUITE("system.soak") {

  TEST_CASE("150,000 balanced tasks: all right, records and resident memory bounded once the limit is reached") {
    constexpr int bursts = 30;
    constexpr int burst = 5000;
    constexpr std::int64_t max_records = 5000;
    Cluster cluster(2, "soak", {"--max-records", std::to_string(max_records)});
    Client rc = cluster.client(30s);
    const auto controller = static_cast<pid_t>(rc.controller_stats()["pid"].as_int());
    auto lb = rc.load_balanced_view();
    std::int64_t right = 0;
    std::int64_t controller_then = 0, client_then = 0;
    for (int b = 0; b < bursts; ++b) {
      std::vector<AsyncResult> results;
      results.reserve(burst);
      for (int i = 0; i < burst; ++i) results.push_back(lb.apply("echo", b * burst + i));
      for (int i = 0; i < burst; ++i)
        right += results[static_cast<std::size_t>(i)].get_as<int>(120s) == b * burst + i ? 1 : 0;
      if (b == bursts / 3 - 1) {  // 50,000 tasks in: well past the limit, memory at its level
        controller_then = resident_bytes(controller);
        client_then = resident_bytes(::getpid());
      }
    }
    const std::int64_t total = std::int64_t{bursts} * burst;
    CHECK(right == total);
    const Value stats = rc.controller_stats();
    CHECK(stats["tasks_completed"].as_int() == total);
    const std::int64_t step = stats["retire_step"].as_int();  // records retire in steps past the limit
    CHECK(step < max_records / 4);
    CHECK(stats["tasks_stored"].as_int() <= max_records + step);
    CHECK(stats["tasks_retired"].as_int() >= total - max_records - step);
    const std::int64_t controller_now = resident_bytes(controller), client_now = resident_bytes(::getpid());
    MESSAGE("after " << total / 3 << " tasks: controller " << controller_then / mib << " MiB, client "
                     << client_then / mib << " MiB; after " << total << ": controller " << controller_now / mib
                     << " MiB, client " << client_now / mib << " MiB; " << stats["tasks_stored"].as_int()
                     << " records held");
#if !defined(__SANITIZE_ADDRESS__)  // (AddressSanitizer keeps freed memory aside, by design)
    // Held, 100,000 more tasks' records would be 30 MB or more (about 300 bytes each).
    CHECK(controller_now - controller_then < std::int64_t{12} << 20);
    CHECK(client_now - client_then < std::int64_t{12} << 20);
#endif
  }

  TEST_CASE("tasks with deadlines far off, and tasks that waited on others, retire too") {
    // Their records are pointed at from the deadlines' heap and the dependencies' lists after they
    // finish: the heap is cleaned of finished tasks once they are most of it.
    constexpr int n = 6000;
    constexpr std::int64_t max_records = 1000;
    Cluster cluster(2, "soak-deadlines", {"--max-records", std::to_string(max_records)});
    Client rc = cluster.client(30s);
    auto lb = rc.load_balanced_view();
    const auto later = lb.with({.timeout = std::chrono::hours(1)});
    std::vector<AsyncResult> results;
    for (int i = 0; i < n; ++i) {
      if (i % 100 == 1)  // after the one before it
        results.push_back(lb.with({.after = {results.back()}, .timeout = std::chrono::hours(1)}).apply("echo", i));
      else
        results.push_back(later.apply("echo", i));
    }
    int right = 0;
    for (int i = 0; i < n; ++i) right += results[static_cast<std::size_t>(i)].get_as<int>(120s) == i ? 1 : 0;
    CHECK(right == n);
    // One more turn of the controller's loop after the last result: the step is taken at a turn's end.
    CHECK(lb.apply("echo", 0).get_as<int>(60s) == 0);
    const Value stats = rc.controller_stats();
    const std::int64_t step = stats["retire_step"].as_int();
    CHECK(step < max_records);
    CHECK(stats["tasks_stored"].as_int() <= max_records + step);
    CHECK(stats["tasks_retired"].as_int() >= n + 1 - max_records - step);
  }

}  // TEST_SUITE
