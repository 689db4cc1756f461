// Live output on the command line: `crew tail`, and how each event prints.
#include "cli/live_output.hpp"

#include <csignal>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/output.hpp"
#include "cli/session.hpp"
#include "common/clock.hpp"
#include "common/targets.hpp"
#include "crew/client.hpp"

namespace crew::cli {
namespace {

volatile std::sig_atomic_t stop_tail = 0;
extern "C" void on_tail_signal(int) { stop_tail = 1; }

/// Ctrl-C and SIGTERM end a tail while it lives; the handlers before come back after (crew shell
/// goes on with its own).
class TailSignals {
public:
  TailSignals() {
    stop_tail = 0;
    struct sigaction sa {};
    sa.sa_handler = on_tail_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &int_before_);
    ::sigaction(SIGTERM, &sa, &term_before_);
  }
  ~TailSignals() {
    ::sigaction(SIGINT, &int_before_, nullptr);
    ::sigaction(SIGTERM, &term_before_, nullptr);
  }
  TailSignals(const TailSignals&) = delete;
  TailSignals& operator=(const TailSignals&) = delete;

private:
  struct sigaction int_before_ {
  }, term_before_{};
};

std::string tag_of(const OutputEvent& e) {
  std::string tag = "[engine " + std::to_string(e.engine_id);
  if (e.rank >= 0) tag += ", rank " + std::to_string(e.rank);
  return tag + (e.kind == OutputEvent::Kind::err ? ", stderr] " : "] ");
}

}  // namespace

void print_output_event(const OutputEvent& e, bool json) {
  if (e.dropped_bytes > 0)
    std::cerr << "[crew] " << e.dropped_bytes << " bytes of output were dropped here (read too slowly, or an "
              << "engine wrote faster than it could send)" << std::endl;
  if (json) {
    nlohmann::json j;
    if (e.kind == OutputEvent::Kind::status) {
      j = {{"status", e.text}, {"engines", e.engines}, {"detail", e.detail}};
    } else {
      j = {{"engine", e.engine_id},
           {"world", e.world},
           {"rank", e.rank},
           {"msg_id", e.msg_id},
           {"stream", e.kind == OutputEvent::Kind::err ? "stderr" : "stdout"},
           {"text", e.text}};
    }
    if (e.dropped_bytes > 0) j["dropped_bytes"] = e.dropped_bytes;
    std::cout << j.dump() << std::endl;
    return;
  }
  if (e.kind == OutputEvent::Kind::status) {
    std::cout << (e.engines.size() == 1 ? "[engine " : "[engines ") << format_id_ranges(e.engines) << "] " << e.text
              << (e.detail.empty() ? "" : ": " + e.detail) << std::endl;
    return;
  }
  if (e.text.empty()) return;  // only the drop, said above
  std::ostream& out = e.kind == OutputEvent::Kind::err ? std::cerr : std::cout;
  const std::string tag = tag_of(e);
  std::string lines;
  for (std::size_t begin = 0; begin < e.text.size();) {
    std::size_t end = e.text.find('\n', begin);
    end = end == std::string::npos ? e.text.size() : end + 1;
    lines += tag;
    lines.append(e.text, begin, end - begin);
    begin = end;
  }
  if (lines.back() != '\n') lines += '\n';  // a line the task has not ended yet
  out << lines << std::flush;
}

int tail(const Common& c, const TailArgs& t) {
  const Client rc = connect(c);
  OutputFilter filter;
  // Engines that register later are followed too: ids are not checked against those alive now.
  if (auto ids = parse_targets(c.targets)) filter.targets = std::move(*ids);
  filter.msg_ids = t.msg_ids;
  filter.status = !t.no_status;
  filter.activity = t.activity;
  OutputFeed feed = rc.subscribe_output(filter);
  const TailSignals signals;
  std::cerr << "[crew] following the output of " << (c.targets == "all" ? "every engine" : "engines " + c.targets)
            << (t.msg_ids.empty() ? "" : " (" + std::to_string(t.msg_ids.size()) + " tasks)")
            << (c.timeout_s > 0 ? " for " + seconds_text(c.timeout_s) : std::string(" until Ctrl-C")) << std::endl;
  const auto deadline = c.deadline();
  while (stop_tail == 0) {
    auto slice = std::chrono::milliseconds(200);
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - SteadyClock::now());
      if (left.count() <= 0) break;
      slice = std::min(slice, left);
    }
    if (auto e = feed.next(slice)) print_output_event(*e, c.json);
  }
  return exit_ok;
}

}  // namespace crew::cli
