#pragma once
// Waiting for results on the command line: until every one is in, until --timeout passes, or
// until Ctrl-C; with a progress line on stderr when it is a terminal. A wait that ends early
// throws Unfinished, which says what goes on and how to fetch it (report_unfinished).

#include <cstddef>
#include <exception>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli/verbs.hpp"
#include "crew/async_result.hpp"
#include "crew/output.hpp"

namespace crew::cli {

/// A wait that ended before every result came: the tasks go on, on the engines.
class Unfinished : public std::exception {
public:
  enum class Why { timed_out, interrupted };
  Unfinished(Why why, std::vector<std::string> pending) : why_(why), pending_(std::move(pending)) {}
  Why why() const noexcept { return why_; }
  /// The msg ids whose results had not come.
  const std::vector<std::string>& pending() const noexcept { return pending_; }
  const char* what() const noexcept override { return "the wait ended before every result came"; }

private:
  Why why_;
  std::vector<std::string> pending_;
};

/// `crew shell`: a second Ctrl-C during a wait ends that wait too, not the program.
void keep_running_on_interrupt(bool on);

/// Done and total, for the progress line ("37/100 items").
struct Progress {
  std::function<std::pair<std::size_t, std::size_t>()> count;
  std::string unit = "tasks";
};

/// "3/4 results done": the answers of `ar`'s tasks.
Progress results_of(const AsyncResult& ar);

/// A call's own tasks' output, shown as it comes (--follow-output), and the tasks it came for:
/// their reply's text is not shown again. (A task on a rank other than 0 streams nothing yet: its
/// text comes with its reply, and is shown then.)
struct FollowedOutput {
  OutputFeed feed;
  std::set<std::string> shown;  ///< msg ids whose output was shown as it came
  bool was_shown(const std::string& msg_id) const { return shown.count(msg_id) != 0; }
};

/// Waits for every result of `ar`. Throws Unfinished once c.deadline() passes or on Ctrl-C (a
/// second Ctrl-C ends the program at once). With `progress`, a line "37/100 tasks, 12.3/s, 4 s"
/// on stderr, redrawn in place, while stderr is a terminal and not --json (quiet when piped).
/// With `output`, what it brings is printed while waiting (print_output_event), and all of it
/// that came before the last result.
void wait_for(const Common& c, const AsyncResult& ar, const Progress* progress = nullptr,
              FollowedOutput* output = nullptr);

/// The msg ids of `ar` whose results have not come.
std::vector<std::string> pending_ids(const AsyncResult& ar);

/// What a wait that ended early leaves: on stderr, "[crew.timeout.wait] ..." or
/// "[crew.launch.interrupted] ..." with the pending msg ids and the command that fetches them
/// (`crew results ID... --wait`); with --json, one error object on stdout that also holds
/// "pending" and "fetch". Returns exit_timed_out (4) or exit_interrupted (130).
int report_unfinished(const Common& c, const Unfinished& u);

}  // namespace crew::cli
