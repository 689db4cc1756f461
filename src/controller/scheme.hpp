#pragma once
// Load-balancing schemes: which of the engines that can take a task now gets it.
//
//   leastload  the engine with the fewest tasks in flight; ties go to the least recently used
//   lru        the least recently used engine
//   weighted   two engines drawn at random, weighted by inverse load; the less loaded of them
//   random     any engine, uniformly
//   twobin     two engines drawn at random; the less recently used of them
//
// The controller applies a scheme only to engines below their high-water mark that meet the
// task's constraints (view targets, `requires`, `follow`), so every scheme respects them.

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>

namespace crew::controller {

enum class Scheme : std::uint8_t { leastload, lru, weighted, random, twobin };

std::string_view scheme_name(Scheme s) noexcept;
std::optional<Scheme> scheme_from_name(std::string_view name) noexcept;
/// "leastload, lru, weighted, random, twobin": for error messages and --help.
std::string scheme_names();

/// What a scheme sees of an engine that can take the task.
struct Candidate {
  int engine = -1;
  int load = 0;                ///< tasks in flight
  std::uint64_t last_use = 0;  ///< when it last got a task (a counter; 0: never)
};

/// The index in `candidates` (not empty) of the engine to use.
std::size_t pick(Scheme scheme, std::span<const Candidate> candidates, std::mt19937_64& rng);

}  // namespace crew::controller
