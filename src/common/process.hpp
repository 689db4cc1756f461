#pragma once
// Processes: starting detached programs, waiting for (non-child) processes to exit, finding and
// signalling the members of a session, running shell commands with captured output.

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/internal_api.hpp"

namespace crew::proc {

namespace fs = std::filesystem;

/// True while `pid` exists and is not a zombie.
CREW_INTERNAL_API bool alive(pid_t pid);

/// Waits until `pid` is gone (reaping it if it is our child). True if it is gone by `deadline`.
/// Uses pidfd_open + poll: no polling loop, works for processes that are not our children.
CREW_INTERNAL_API bool wait_gone(pid_t pid, Deadline deadline);

/// If `pid` is our child and has exited, reaps it and returns its exit status (or 128 + signal).
CREW_INTERNAL_API std::optional<int> reap_if_exited(pid_t pid);

/// Processes whose session id is `sid` (scans /proc).
CREW_INTERNAL_API std::vector<pid_t> session_members(pid_t sid);
/// Sends `sig` to every process in session `sid`; returns how many were signalled.
CREW_INTERNAL_API int signal_session(pid_t sid, int sig);

/// Full path of `program` found on PATH (or as given if it contains a '/'), if executable.
CREW_INTERNAL_API std::optional<fs::path> find_program(std::string_view program);
/// The running executable.
CREW_INTERNAL_API fs::path self_exe();

struct CREW_INTERNAL_API SpawnOptions {
  std::vector<std::string> argv;                         ///< argv[0] is resolved on PATH
  fs::path log;                                          ///< stdout+stderr appended here (none: inherit)
  bool new_session = true;                               ///< setsid(): detached, its own session
  int pass_fd = -1;                                      ///< a descriptor the child keeps open
  std::vector<std::pair<std::string, std::string>> env;  ///< added to (or replacing) the environment
};

/// Starts a program. Throws LaunchError [crew.launch.not_found] if argv[0] is not found or cannot
/// be executed (the exec error is reported back through a close-on-exec pipe).
CREW_INTERNAL_API pid_t spawn(const SpawnOptions& options);

struct CREW_INTERNAL_API CommandResult {
  std::string out;
  std::string err;
  int status = 0;  ///< exit code, or 128 + signal number
  int signal = 0;  ///< the signal that ended it, 0 if it exited
  bool truncated = false;
};

struct CREW_INTERNAL_API RunOptions {
  std::vector<std::pair<std::string, std::string>> env;  ///< added to (or replacing) the environment
  std::optional<std::chrono::milliseconds> timeout;      ///< then SIGKILL; status 128 + 9
  std::size_t max_output = 16u << 20;                    ///< per stream
  fs::path stdin_file;                                   ///< the program's standard input (none: /dev/null)
  /// Each piece of output as it is read (`err`: from stderr), besides keeping it in the result.
  std::function<void(bool err, std::string_view bytes)> on_output;
};

/// Runs a program (found on PATH) and captures its stdout and stderr. Uses posix_spawn, so it is
/// safe inside MPI processes.
CREW_INTERNAL_API CommandResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

/// Runs `/bin/sh -c command` as run() runs a program.
CREW_INTERNAL_API CommandResult run_shell(const std::string& command, const RunOptions& options = {});

/// Writes all of `bytes` to `fd` (again after EINTR and short writes); false on an error (errno says which).
CREW_INTERNAL_API bool write_all(int fd, std::string_view bytes);

/// A command line for people and logs: its words joined by spaces.
CREW_INTERNAL_API std::string command_text(const std::vector<std::string>& argv);

/// The last `lines` lines of a text file ("" if it cannot be read).
CREW_INTERNAL_API std::string tail_file(const fs::path& path, std::size_t lines);

}  // namespace crew::proc
