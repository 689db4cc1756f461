// Test support.
#include "test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "cluster/cluster_state.hpp"
#include "common/profile.hpp"
#include "crew/error.hpp"

namespace crew::testing {

fs::path bin_dir() { return CREW_TEST_BIN_DIR; }
fs::path test_bin_dir() { return CREW_TEST_BUILD_DIR; }

RunResult crew_cli(const std::vector<std::string>& args, std::vector<std::pair<std::string, std::string>> env,
                   std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{(bin_dir() / "crew").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  proc::RunOptions options;
  options.env = std::move(env);
  options.timeout = timeout;
  return proc::run(argv, options);
}

Gate::Gate() {
  // Under the test's private $CREW_HOME (crew-test-guard removes it), else the temp directory.
  static std::atomic<int> count{0};
  const char* home = std::getenv("CREW_HOME");
  const fs::path dir = home != nullptr ? fs::path(home) : fs::temp_directory_path();
  path_ = (dir / ("gate-" + std::to_string(::getpid()) + "-" + std::to_string(++count))).string();
  fs::remove(path_);
}

Gate::~Gate() { open(); }

void Gate::open() { std::ofstream(path_).flush(); }

bool Gate::wait_held(std::chrono::milliseconds timeout) const {
  return poll_for([&] { return fs::exists(path_ + ".held"); }, timeout, 1ms);
}

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot make a directory " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Cluster::Cluster(int engines, std::string profile, std::vector<std::string> extra_args)
    : profile_(std::move(profile)), engines_(engines) {
  std::vector<std::string> args{"cluster", "start", "-n", std::to_string(engines), "--profile", profile_};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  const auto r = crew_cli(args);
  if (r.status != 0) {
    // cluster start cleans up after itself on failure; say what happened
    throw_error(errc::launcher_failed, "crew cluster start failed (" + std::to_string(r.status) + "):\n" + r.err);
  }
  running_ = true;
}

Cluster::~Cluster() {
  if (!running_) return;
  try {
    stop();
  } catch (const std::exception& e) {
    std::cerr << "Cluster cleanup: " << e.what() << std::endl;
  }
}

Client Cluster::client(std::chrono::milliseconds timeout) const { return Client(profile_, ClientOptions{timeout}); }

std::vector<pid_t> Cluster::pids() const {
  const auto state = cluster::read_state(profile_dir(profile_));
  return state ? state->all_pids() : std::vector<pid_t>{};
}

void Cluster::stop() {
  if (!running_) return;
  const auto pids_before = pids();
  running_ = false;
  const auto r = crew_cli({"cluster", "stop", "--profile", profile_});
  if (r.status != 0) throw_error(errc::launcher_failed, "crew cluster stop failed:\n" + r.err);
  for (pid_t p : pids_before)
    if (proc::alive(p)) throw_error(errc::launcher_failed, "pid " + std::to_string(p) + " survived cluster stop");
}

}  // namespace crew::testing
