#pragma once
// Live output on the command line: `crew tail` and `crew call --follow-output` (crew/output.hpp).
// Each line is tagged with where it came from, "[engine 2, rank 0] ..." on stdout (stderr's lines
// on stderr, tagged "[engine 2, rank 0, stderr]"); status changes read "[engines 0-3] dead: ...".
// With --json, one JSON object per event on stdout.

#include <string>
#include <vector>

#include "cli/verbs.hpp"
#include "crew/output.hpp"

namespace crew::cli {

struct TailArgs {
  bool follow = true;                ///< -f: accepted for habit's sake (tail always follows)
  std::vector<std::string> msg_ids;  ///< --task: these tasks only
  bool no_status = false;            ///< --no-status: output only
  bool activity = false;             ///< --activity: busy and idle too
};

/// Prints one event as the CLI shows live output.
void print_output_event(const OutputEvent& e, bool json);

/// `crew tail`: follows the engines' output (and status) until --timeout or Ctrl-C.
int tail(const Common& c, const TailArgs& t);

}  // namespace crew::cli
