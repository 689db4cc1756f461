#pragma once
// Numeric knobs from the environment (chunk sizes and timeouts that tests turn down).

#include <cstdlib>

namespace crew {

/// The integer in environment variable `name` if it is set and within [lo, hi]; else `fallback`.
inline long long env_integer(const char* name, long long lo, long long hi, long long fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr) return fallback;
  const long long v = std::atoll(text);
  return v >= lo && v <= hi ? v : fallback;
}

}  // namespace crew
