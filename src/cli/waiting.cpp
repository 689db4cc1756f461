// Waiting for results on the command line (see waiting.hpp).
#include "cli/waiting.hpp"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli/live_output.hpp"
#include "cli/output.hpp"
#include "common/clock.hpp"

namespace crew::cli {
namespace {

volatile std::sig_atomic_t interrupted = 0;
bool in_shell = false;

void on_interrupt(int) { interrupted = 1; }

/// Ctrl-C sets a flag while it lives (the wait then ends on its next look); the handler removes
/// itself when it runs (SA_RESETHAND), so a second Ctrl-C ends the program as usual.
class InterruptWatch {
public:
  InterruptWatch() {
    interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = in_shell ? 0 : SA_RESETHAND;
    ::sigaction(SIGINT, &sa, &previous_);
  }
  ~InterruptWatch() { ::sigaction(SIGINT, &previous_, nullptr); }
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

private:
  struct sigaction previous_ {};
};

}  // namespace

void keep_running_on_interrupt(bool on) { in_shell = on; }

namespace {

/// How often a wait looks at Ctrl-C, the deadline and the progress line.
constexpr std::chrono::milliseconds look_period{100};
/// A wait shorter than this shows no progress line.
constexpr std::chrono::milliseconds progress_after{500};

/// The progress line on stderr, redrawn in place and wiped when the wait ends.
class ProgressLine {
public:
  ProgressLine(const Common& c, const Progress* p) : p_(::isatty(2) != 0 && !c.json ? p : nullptr) {}
  ~ProgressLine() {
    if (shown_) std::cerr << "\r\033[K" << std::flush;
  }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void update() {
    if (!p_) return;
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - start_).count();
    if (seconds < std::chrono::duration<double>(progress_after).count()) return;
    const auto [done, total] = p_->count();
    char line[160];
    std::snprintf(line, sizeof line, "\r\033[Kcrew: %zu/%zu %s done, %.1f/s, %s elapsed", done, total, p_->unit.c_str(),
                  static_cast<double>(done) / seconds, seconds_text(seconds).c_str());
    std::cerr << line << std::flush;
    shown_ = true;
  }

private:
  const Progress* p_;
  SteadyClock::time_point start_ = SteadyClock::now();
  bool shown_ = false;
};

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

}  // namespace

Progress results_of(const AsyncResult& ar) {
  return {[ar] { return std::pair{ar.progress(), ar.size()}; }, "results"};
}

std::vector<std::string> pending_ids(const AsyncResult& ar) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < ar.size(); ++i)
    if (ar.metadata(i).status == "pending") ids.push_back(ar.msg_ids()[i]);
  // A joined answer (gather, reduce) comes for all its tasks at once.
  if (ids.empty() && !ar.ready()) ids = ar.msg_ids();
  return ids;
}

void wait_for(const Common& c, const AsyncResult& ar, const Progress* progress, FollowedOutput* output) {
  const InterruptWatch watch;
  ProgressLine line(c, progress);
  const auto deadline = c.deadline();
  for (;;) {
    auto slice = look_period;
    if (deadline)
      slice = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - SteadyClock::now()),
                         std::chrono::milliseconds(0), slice);
    if (output != nullptr) {
      // A task's output comes before its result: once the result is in, so is all its output.
      const auto show = [&](const OutputEvent& e) {
        print_output_event(e, c.json);
        if (e.kind != OutputEvent::Kind::status && !e.text.empty()) output->shown.insert(e.msg_id);
      };
      if (auto e = output->feed.next(slice)) show(*e);
      if (ar.wait(std::chrono::milliseconds(0))) {
        while (auto e = output->feed.next(std::chrono::milliseconds(0))) show(*e);
        return;
      }
    } else if (ar.wait(slice)) {
      return;
    }
    if (interrupted) throw Unfinished(Unfinished::Why::interrupted, pending_ids(ar));
    if (deadline && SteadyClock::now() >= *deadline) throw Unfinished(Unfinished::Why::timed_out, pending_ids(ar));
    line.update();
  }
}

int report_unfinished(const Common& c, const Unfinished& u) {
  const bool timed_out = u.why() == Unfinished::Why::timed_out;
  const errc code = timed_out ? errc::wait_timeout : errc::interrupted;
  const std::string fetch = "crew results " + joined(u.pending()) + " --wait" + c.profile_flag();
  const std::string n = std::to_string(u.pending().size());
  const std::string message =
      (timed_out ? "--timeout " + seconds_text(c.timeout_s) + " passed" : std::string("interrupted (Ctrl-C)")) +
      " with " + n + (u.pending().size() == 1 ? " result" : " results") +
      " still to come; the tasks continue on the engines (the engines' next tasks start after them). Pending: " +
      joined(u.pending()) + ". Fetch them later with: " + fetch;
  std::cerr << format_error(code, message) << std::endl;
  if (c.json) {
    auto out = error_object(code, "crew." + std::string(errc_name(code)), message);
    out["pending"] = u.pending();
    out["fetch"] = fetch;
    std::cout << out.dump() << std::endl;
  }
  return timed_out ? exit_timed_out : exit_interrupted;
}

}  // namespace crew::cli
