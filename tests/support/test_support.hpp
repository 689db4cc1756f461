#pragma once
// Test support: running programs, waiting on conditions with deadlines, and a Cluster fixture
// that starts a real controller and a real `mpirun` world through `crew cluster start`.
// Multi-process tests run under crew-test-guard, which gives them a private $CREW_HOME.

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/process.hpp"
#include "crew/client.hpp"

namespace crew::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// Where the built `crew` and `crew-engine` live.
fs::path bin_dir();
/// Where the built test programs and plugins live.
fs::path test_bin_dir();

using RunResult = proc::CommandResult;

/// Runs bin_dir()/crew with `args`.
RunResult crew_cli(const std::vector<std::string>& args, std::vector<std::pair<std::string, std::string>> env = {},
                   std::chrono::milliseconds timeout = 120s);

/// Polls `done` until it returns true or `timeout` passes; true if it did.
template <class Pred>
bool poll_for(Pred done, std::chrono::milliseconds timeout, std::chrono::milliseconds step = 10ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
  return true;
}

/// A fresh directory under /tmp, removed with everything in it when the test is done.
class TempDir {
public:
  explicit TempDir(const std::string& prefix = "crew-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

/// A gate that a task waits at: the test plugin's `hold(path)` runs until the gate opens. It opens
/// when the test says so, or when the gate is destroyed, so that a failed test never leaves an
/// engine held. Tests use it where a `sleep` would have to outlast something (a race on a loaded
/// machine): the task runs for exactly as long as the test needs.
class Gate {
public:
  Gate();
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  /// The path to pass to `hold`.
  const std::string& path() const { return path_; }
  /// Lets every task that holds at this gate finish.
  void open();
  /// Waits until a task holds at this gate (it has started on its engine); false after `timeout`.
  bool wait_held(std::chrono::milliseconds timeout) const;

private:
  std::string path_;
};

/// A cluster started with `crew cluster start -n <engines> --profile <profile>`; the destructor
/// stops it with `crew cluster stop` and checks that every process it started is gone.
class Cluster {
public:
  explicit Cluster(int engines, std::string profile = "test", std::vector<std::string> extra_args = {});
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const std::string& profile() const { return profile_; }
  int engines() const { return engines_; }
  Client client(std::chrono::milliseconds timeout = 10s) const;
  /// Every pid `cluster start` recorded (controller, mpirun, engines).
  std::vector<pid_t> pids() const;
  /// Stops it now; throws if `crew cluster stop` fails or a process survives.
  void stop();

private:
  std::string profile_;
  int engines_;
  bool running_ = false;
};

}  // namespace crew::testing
