// crew-test-guard: runs one multi-process test so that it cannot leave processes behind.
//
//   crew-test-guard --timeout 110 -- ./test_cluster ...
//
// The test runs in a fresh $CREW_HOME (a temporary directory) in its own process group. When it
// ends, or when the timeout kills it, the guard ends every process that carries that CREW_HOME
// in its environment (controllers, mpirun, engines) and removes the directory. A test that left
// processes behind fails, even if its assertions passed: cleaning up is part of the contract.
// When the test failed, the last lines of every log under that CREW_HOME (controller, worlds)
// are printed first, so that a failure in CI can be read after the directory is gone.

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

/// The last `n` lines of every crew log under `home` (profile_*/log/*.log), on stderr.
void print_log_tails(const fs::path& home, std::size_t n) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(home, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != ".log" || p.parent_path().filename() != "log") continue;
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
    const std::size_t from = lines.size() > n ? lines.size() - n : 0;
    std::cerr << "crew-test-guard: == " << fs::relative(p, home, ec).string() << " (" << lines.size() - from << " of "
              << lines.size() << " lines) ==" << std::endl;
    for (std::size_t i = from; i < lines.size(); ++i) std::cerr << "  " << lines[i] << std::endl;
  }
}

std::vector<pid_t> processes_with_env(const std::string& entry) {
  std::vector<pid_t> out;
  DIR* dir = ::opendir("/proc");
  if (!dir) return out;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == ::getpid()) continue;
    std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
    std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t start = 0;
    while (start < env.size()) {
      const auto stop = env.find('\0', start);
      const auto len = (stop == std::string::npos ? env.size() : stop) - start;
      if (env.compare(start, len, entry) == 0) {
        // zombies have no environ worth killing; skip them
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string text;
        std::getline(stat, text);
        const auto paren = text.rfind(')');
        if (paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z')
          out.push_back(static_cast<pid_t>(pid));
        break;
      }
      if (stop == std::string::npos) break;
      start = stop + 1;
    }
  }
  ::closedir(dir);
  return out;
}

std::string comm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  int timeout_s = 120;
  int first = 1;
  for (; first < argc; ++first) {
    const std::string a = argv[first];
    if (a == "--timeout" && first + 1 < argc)
      timeout_s = std::atoi(argv[++first]);
    else if (a == "--") {
      ++first;
      break;
    } else
      break;
  }
  if (first >= argc) {
    std::cerr << "usage: crew-test-guard [--timeout S] -- command args..." << std::endl;
    return 2;
  }
  char templ[] = "/tmp/crew-test.XXXXXX";
  const char* home = ::mkdtemp(templ);
  if (!home) {
    std::perror("mkdtemp");
    return 2;
  }
  ::setenv("CREW_HOME", home, 1);
  const std::string marker = std::string("CREW_HOME=") + home;

  const pid_t child = ::fork();
  if (child == 0) {
    ::setpgid(0, 0);
    ::execvp(argv[first], argv + first);
    std::perror(argv[first]);
    ::_exit(127);
  }
  ::setpgid(child, child);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  bool timed_out = false;
  for (;;) {
    if (::waitpid(child, &status, WNOHANG) == child) break;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      std::cerr << "crew-test-guard: the test ran past " << timeout_s << " s; killing it" << std::endl;
      ::kill(-child, SIGKILL);
      ::waitpid(child, &status, 0);
      break;
    }
    pollfd p{pidfd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
  }
  if (pidfd >= 0) ::close(pidfd);

  // Whatever still carries our CREW_HOME was started by the test and outlived it.
  std::vector<pid_t> left;
  for (int round = 0; round < 3; ++round) {
    const auto found = processes_with_env(marker);
    if (found.empty()) break;
    for (pid_t p : found) {
      if (round == 0) left.push_back(p);
      if (round == 0) std::cerr << "crew-test-guard: left behind: pid " << p << " (" << comm(p) << ")" << std::endl;
      ::kill(p, SIGKILL);
    }
    // give the kernel a moment to reap what we killed before looking again
    for (pid_t p : found) {
      const int fd = static_cast<int>(::syscall(SYS_pidfd_open, p, 0));
      if (fd < 0) continue;
      pollfd pf{fd, POLLIN, 0};
      ::poll(&pf, 1, 2000);
      ::close(fd);
    }
  }
  const bool failed = timed_out || !left.empty() || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  if (failed) print_log_tails(home, 60);
  std::error_code ec;
  if (std::getenv("CREW_TEST_KEEP_HOME") == nullptr)
    fs::remove_all(home, ec);
  else
    std::cerr << "crew-test-guard: kept " << home << std::endl;

  if (timed_out) return 124;
  if (!left.empty()) {
    std::cerr << "crew-test-guard: FAIL: the test left " << left.size() << " process(es) running" << std::endl;
    return 1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    std::cerr << "crew-test-guard: the test died of signal " << WTERMSIG(status) << std::endl;
    return 128 + WTERMSIG(status);
  }
  return 1;
}
