#pragma once
// Ctrl-C (or SIGTERM, SIGHUP) while `cluster start` or `cluster add` waits: the wait ends with an
// error, so that what was started is stopped and what was submitted is cancelled, instead of the
// process dying with jobs left in the queue and a controller nobody stops.

namespace crew::cluster {

/// While one lives, SIGINT, SIGTERM and SIGHUP are noted instead of ending the process.
class InterruptionScope {
public:
  InterruptionScope();
  ~InterruptionScope();
  InterruptionScope(const InterruptionScope&) = delete;
  InterruptionScope& operator=(const InterruptionScope&) = delete;
};

/// The signal noted since the scope began (0: none).
int interruption() noexcept;
/// Throws LaunchError [crew.launch.interrupted] if a signal was noted.
void throw_if_interrupted();

}  // namespace crew::cluster
