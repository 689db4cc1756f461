#pragma once
// Task dependencies, as the seeds define them: a load-balanced task may name other tasks it must
// run `after` (time) or `follow` (place: on an engine where they ran).
//
// A dependency on tasks S with flags all / success / failure counts a prerequisite as satisfying
// when it finished ok (if success) or failed (if failure). It is met when every one of S
// satisfies (all) or at least one does (any), and unreachable once that can no longer happen.
// A `follow` is met on an engine where the satisfying prerequisites ran: with all, the one engine
// that ran every one of them (unreachable if they ran on different engines); with any, each
// engine that ran one.

#include <functional>
#include <string>
#include <vector>

#include "crew/error.hpp"
#include "protocol/header.hpp"

namespace crew::controller {

/// What the hub knows of a prerequisite.
struct Prerequisite {
  bool known = false;  ///< the hub has a record of this msg_id
  bool done = false;
  bool failed = false;
  int engine = -1;  ///< where it ran (-1: nowhere, e.g. rejected or aborted before running)
};

using PrerequisiteLookup = std::function<Prerequisite(const std::string& msg_id)>;

struct Verdict {
  enum class State { waiting, met, unreachable } state = State::met;
  errc code = errc::none;    ///< unreachable: impossible_dependency or dependency_failed
  std::string why;           ///< unreachable: which prerequisite, and what became of it
  std::vector<int> engines;  ///< met `follow`: where the task may run (ascending)
};

/// Evaluates one dependency; `location` for follow, else after. Empty: met, anywhere.
Verdict evaluate(const wire::DependencySpec& dep, bool location, const PrerequisiteLookup& lookup);

}  // namespace crew::controller
