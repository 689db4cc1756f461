// Signals noted while a cluster starts.
#include "cluster/interruption.hpp"

#include <signal.h>
#include <string.h>

#include <atomic>
#include <string>

#include "crew/error.hpp"

namespace crew::cluster {
namespace {

std::atomic<int> noted{0};
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction previous[3];

void note(int sig) { noted.store(sig, std::memory_order_relaxed); }

}  // namespace

InterruptionScope::InterruptionScope() {
  noted.store(0);
  struct sigaction sa {};
  sa.sa_handler = note;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &sa, &previous[i]);
}

InterruptionScope::~InterruptionScope() {
  for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &previous[i], nullptr);
}

int interruption() noexcept { return noted.load(std::memory_order_relaxed); }

void throw_if_interrupted() {
  if (const int sig = interruption(); sig != 0)
    throw_error(errc::interrupted, std::string("interrupted by ") + sigabbrev_np(sig) +
                                       " while the engines registered; what was started is stopped and what "
                                       "was submitted is cancelled");
}

}  // namespace crew::cluster
