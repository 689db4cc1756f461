#pragma once
// Wall-clock stamps for task metadata (µs since the Unix epoch) and steady deadlines.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace crew {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::chrono::system_clock::time_point from_us(std::int64_t us) {
  return std::chrono::system_clock::time_point(std::chrono::microseconds(us));
}

/// A wall-clock time as µs since the Unix epoch (from_us's inverse).
inline std::int64_t to_us(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

/// The steady clock in ns: cheap stamps for intervals.
inline std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

inline Deadline deadline_after(std::chrono::nanoseconds d) { return SteadyClock::now() + d; }

/// Time left until `d`, never negative.
inline std::chrono::nanoseconds time_left(Deadline d) {
  const auto left = d - SteadyClock::now();
  return left.count() > 0 ? std::chrono::duration_cast<std::chrono::nanoseconds>(left) : std::chrono::nanoseconds(0);
}

/// "1.5 s": durations in messages.
inline std::string seconds_text(double seconds, int digits = 1) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f s", digits, seconds);
  return buf;
}
template <class Rep, class Period>
std::string seconds_text(std::chrono::duration<Rep, Period> d, int digits = 1) {
  return seconds_text(std::chrono::duration<double>(d).count(), digits);
}

}  // namespace crew
