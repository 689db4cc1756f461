#pragma once
// How an engine rank (or the bridge, while replies are due over MPI) waits for work it can only
// poll for: Open MPI's blocking receive spins a core, and a spinning rank cost the controller a
// third of its throughput on a 2-core machine (bench/limits), so waiting ranks sleep instead.
//
// Right after work it polls without sleeping for a moment; then it naps for short, doubling
// periods, capped at `busy_cap` while work flowed within `recent_window` (a task stream or a sequence of
// calls), and at `idle_cap` once the rank has been idle longer. A process with a doorbell
// (engine/doorbell.hpp) naps on it, so a ring cuts the nap short, and blocks on it for long once
// it is idle; a ring counts as work, because the message it announces may take a moment to show.

#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace crew::detail {

class IdleBackoff {
public:
  using clock = std::chrono::steady_clock;
  static constexpr auto spin = std::chrono::microseconds(20);
  static constexpr auto first_nap = std::chrono::microseconds(5);
  static constexpr auto busy_cap = std::chrono::microseconds(50);
  static constexpr auto idle_cap = std::chrono::microseconds(1000);
  static constexpr auto recent_window = std::chrono::milliseconds(50);

  /// Short naps need a small timer slack (the default, 50 µs, would double them).
  static void tighten_timer_slack() { ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0); }

  void worked() {
    last_work_ = clock::now();
    nap_ = first_nap;
  }

  /// True while work flowed within `recent_window`: naps stay short.
  bool recent() const { return clock::now() - last_work_ < recent_window; }

  /// How long to wait now before polling again (zero: poll again at once).
  std::chrono::nanoseconds next() {
    const auto since = clock::now() - last_work_;
    if (since < spin) return std::chrono::nanoseconds(0);
    const auto cap = since < recent_window ? std::chrono::nanoseconds(busy_cap) : std::chrono::nanoseconds(idle_cap);
    const auto nap = std::min<std::chrono::nanoseconds>(nap_, cap);
    nap_ = std::min<std::chrono::nanoseconds>(nap_ * 2, cap);
    return nap;
  }

  void sleep() {
    const auto nap = next();
    if (nap.count() > 0) std::this_thread::sleep_for(nap);
  }

private:
  clock::time_point last_work_ = clock::now();
  std::chrono::nanoseconds nap_ = first_nap;
};

}  // namespace crew::detail
