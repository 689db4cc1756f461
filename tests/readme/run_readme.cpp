// crew-readme-test: runs the command blocks of README.md as written and checks what they print.
//
//   crew-readme-test README.md BUILD_DIR
//
// Each ```sh block runs as one bash script in a scratch directory (so its lines share shell
// variables and files, as they would in a user's terminal), with BUILD_DIR/src first on PATH and
// `build-release` there pointing at BUILD_DIR (where scripts/demo.sh builds the example plugins
// that the README loads). Every line's exit status and output (stdout and stderr, as a terminal
// shows them) are compared with what the README says (readme_blocks.hpp). A failure names the
// README line, the command, and the expected and actual exit status and output. After a block
// that failed, and at the end, a cluster left running is stopped; crew-test-guard (ctest runs
// this under it) ends anything that is still left.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "readme_blocks.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The slowest block takes about 8 s here; a block still running after this is hung.
constexpr auto block_deadline = 150s;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// `text` without its trailing white space, each line indented under a failure's heading.
std::string indent(const std::string& text) {
  std::string out = "      ";
  const auto end = text.find_last_not_of(" \t\r\n");
  for (std::size_t i = 0; end != std::string::npos && i <= end; ++i)
    out += text[i] == '\n' ? std::string("\n      ") : std::string(1, text[i]);
  return out;
}

/// Runs `bash script` in `dir` in its own process group; false if it outlived `deadline` (then
/// the group is killed).
bool run_script(const fs::path& script, const fs::path& dir, std::chrono::seconds deadline) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    if (::chdir(dir.c_str()) != 0) ::_exit(127);
    ::execlp("bash", "bash", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  const auto until = std::chrono::steady_clock::now() + deadline;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return false;
    }
    std::this_thread::sleep_for(20ms);  // polling the child's end, with a deadline
  }
  return true;
}

/// The script of one block: each command that runs writes its output and exit status to files
/// named after its README line.
std::string block_script(const crew::readme::Block& block, const fs::path& results) {
  std::ostringstream s;
  for (const auto& c : block.commands) {
    if (!c.skipped.empty()) continue;
    const std::string at = (results / std::to_string(c.line)).string();
    s << "echo " << c.line << " > '" << (results / "current").string() << "'\n"
      << "{ " << c.text << "\n} > '" << at << ".out' 2>&1 < /dev/null; echo $? > '" << at << ".status'\n";
  }
  return s.str();
}

struct Tally {
  int ran = 0, checked = 0, illustrative = 0, failed = 0;
  std::map<std::string, int> skipped;  // reason -> lines
};

/// Compares one command's recorded outcome with the README; prints a failure.
void check(const crew::readme::Command& c, const fs::path& results, const std::string& readme, Tally& t) {
  const fs::path at = results / std::to_string(c.line);
  ++t.ran;
  if (c.output && !c.illustrative) ++t.checked;
  if (c.illustrative) ++t.illustrative;
  const std::string status_text = read_file(at.string() + ".status");
  const std::string output = read_file(at.string() + ".out");
  const int status = status_text.empty() ? -1 : std::atoi(status_text.c_str());
  const bool output_ok = !c.output || c.illustrative || crew::readme::matches(*c.output, output);
  if (status == c.exit_status && output_ok) return;
  ++t.failed;
  std::cout << readme << ":" << c.line << ": `" << c.text << "`\n"
            << "  expected: exit " << c.exit_status;
  if (c.output && !c.illustrative) std::cout << ", output (`...` is any text):\n" << indent(*c.output);
  std::cout << "\n  actual:   "
            << (status < 0 ? std::string("did not finish (its block was stopped)") : "exit " + std::to_string(status))
            << ", output:\n"
            << indent(output) << "\n";
}

/// Stops a cluster that a block left running (after a failure, or at the end).
void stop_cluster(const fs::path& dir) {
  const fs::path script = dir / ".readme-stop.sh";
  std::ofstream(script) << "crew cluster status > /dev/null 2>&1 && crew cluster stop > /dev/null 2>&1\ntrue\n";
  run_script(script, dir, 60s);
}

std::string summary(const Tally& t, const std::string& readme, std::size_t blocks) {
  int skipped = 0;
  std::string reasons;
  for (const auto& [why, n] : t.skipped) {
    skipped += n;
    reasons += "\n    " + std::to_string(n) + ": " + why;
  }
  std::ostringstream s;
  s << readme << ": " << blocks << " command blocks, " << t.ran + skipped << " command lines\n  " << t.ran
    << " ran: " << t.checked << " with their output checked, " << t.illustrative << " illustrative, "
    << t.ran - t.checked - t.illustrative << " by their exit status only\n  " << skipped << " not in CI" << reasons
    << "\n  " << t.failed << " failed";
  return s.str();
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::cerr << "usage: crew-readme-test README.md BUILD_DIR\n";
    return 2;
  }
  const fs::path readme = fs::weakly_canonical(argv[1]), build = fs::weakly_canonical(argv[2]);
  const auto blocks = crew::readme::command_blocks(read_file(readme));

  char pattern[] = "/tmp/crew-readme-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("cannot make a scratch directory in /tmp");
  const fs::path dir = pattern, results = dir / ".readme";
  fs::create_directories(results);
  fs::create_directory_symlink(build, dir / "build-release");
  // As in a user's terminal on Debian after demo.sh: this build's crew first, Debian's python3 (not a
  // pyenv one earlier on PATH), and `import crew` finding this build's module.
  const std::string path = (build / "src").string() + ":/usr/bin:" + (std::getenv("PATH") ? std::getenv("PATH") : "");
  ::setenv("PATH", path.c_str(), 1);
  if (const char* preload = std::getenv("CREW_README_PYTHON_PRELOAD")) {
    // A sanitized build: the README's `python3` is Debian's with the sanitizer runtime the module
    // needs preloaded, and without the leak check (CPython's allocations look like leaks). Only
    // python3: crew and mpirun run as they are.
    const fs::path bin = dir / ".bin";
    fs::create_directories(bin);
    std::ofstream(bin / "python3")
        << "#!/bin/sh\nLD_PRELOAD='" << preload
        << "' ASAN_OPTIONS=\"${ASAN_OPTIONS:-}:detect_leaks=0\" exec /usr/bin/python3 \"$@\"\n";
    fs::permissions(bin / "python3", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    const std::string with_shim = bin.string() + ":" + std::getenv("PATH");
    ::setenv("PATH", with_shim.c_str(), 1);
  }
  const std::string python_path =
      (build / "python").string() + (std::getenv("PYTHONPATH") ? ":" + std::string(std::getenv("PYTHONPATH")) : "");
  ::setenv("PYTHONPATH", python_path.c_str(), 1);
  if (!std::getenv("CREW_HOME")) ::setenv("CREW_HOME", (dir / ".crew").c_str(), 1);

  Tally t;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const auto& block = blocks[b];
    const fs::path script = results / ("block-" + std::to_string(block.line) + ".sh");
    std::ofstream(script) << block_script(block, results);
    const int failed_before = t.failed;
    if (!run_script(script, dir, block_deadline)) {
      ++t.failed;
      const std::string line = read_file(results / "current");  // "N\n": the README line running
      std::cout << readme.string() << ":" << line.substr(0, line.find('\n')) << ": the block of line " << block.line
                << " did not finish within " << block_deadline.count() << " s; this command was running\n";
    }
    for (const auto& c : block.commands) {
      if (!c.skipped.empty())
        ++t.skipped[c.skipped];
      else
        check(c, results, readme.string(), t);
    }
    if (t.failed > failed_before) stop_cluster(dir);
  }
  stop_cluster(dir);
  std::cout << summary(t, readme.string(), blocks.size()) << std::endl;
  if (t.failed == 0)
    fs::remove_all(dir);
  else
    std::cout << "(the blocks' scripts and outputs are kept in " << dir.string() << ")\n";
  return t.failed == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "crew-readme-test: " << e.what() << std::endl;
  return 1;
}
