// Processes: spawn, wait, sessions, shell commands.
#include "common/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>

#include "crew/error.hpp"

extern char** environ;

namespace crew::proc {
namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return '\0';
  const auto paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return '\0';
  return text[paren + 2];
}

int decode_status(int status, int* signal_out) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    if (signal_out) *signal_out = WTERMSIG(status);
    return 128 + WTERMSIG(status);
  }
  return -1;
}

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (::pipe2(fd, O_CLOEXEC) != 0) throw_error(errc::internal, std::string("pipe2: ") + std::strerror(errno));
  }
  ~Pipe() { close_both(); }
  void close_read() {
    if (fd[0] >= 0) ::close(fd[0]);
    fd[0] = -1;
  }
  void close_write() {
    if (fd[1] >= 0) ::close(fd[1]);
    fd[1] = -1;
  }
  void close_both() {
    close_read();
    close_write();
  }
};

}  // namespace

bool alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  const char state = process_state(pid);
  return state != '\0' && state != 'Z' && state != 'X';
}

std::optional<int> reap_if_exited(pid_t pid) {
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) return decode_status(status, nullptr);
  return std::nullopt;
}

bool wait_gone(pid_t pid, Deadline deadline) {
  if (pid <= 0) return true;
  const int fd = pidfd_open(pid);
  if (fd < 0) {
    (void)reap_if_exited(pid);
    return !alive(pid);
  }
  bool gone = false;
  for (;;) {
    (void)reap_if_exited(pid);  // our own children become zombies until reaped
    if (!alive(pid)) {
      gone = true;
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(time_left(deadline)).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno != EINTR) break;
  }
  ::close(fd);
  return gone;
}

std::vector<pid_t> session_members(pid_t sid) {
  std::vector<pid_t> out;
  if (sid <= 0) return out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (::getsid(static_cast<pid_t>(pid)) == sid && alive(static_cast<pid_t>(pid)))
      out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(dir);
  return out;
}

int signal_session(pid_t sid, int sig) {
  int n = 0;
  for (pid_t pid : session_members(sid))
    if (::kill(pid, sig) == 0) ++n;
  return n;
}

std::optional<fs::path> find_program(std::string_view program) {
  auto executable = [](const fs::path& p) { return ::access(p.c_str(), X_OK) == 0 && !fs::is_directory(p); };
  if (program.find('/') != std::string_view::npos) {
    fs::path p(program);
    if (executable(p)) return p;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / std::string(program);
    if (executable(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

fs::path self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : p;
}

namespace {

std::vector<std::string> merged_environment(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const auto& [k, v] : extra)
      if (entry.substr(0, entry.find('=')) == k) replaced = true;
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

}  // namespace

pid_t spawn(const SpawnOptions& options) {
  if (options.argv.empty()) throw_error(errc::launcher_failed, "nothing to start (empty command)");
  const auto program = find_program(options.argv[0]);
  if (!program)
    throw_error(errc::launcher_not_found, "'" + options.argv[0] + "' was not found on PATH (PATH=" +
                                              (std::getenv("PATH") ? std::getenv("PATH") : "") + ")");
  // Everything the child needs is built before fork(): after it, only async-signal-safe calls.
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_storage = merged_environment(options.env);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string log = options.log.string();
  const std::string exe = program->string();

  Pipe status;  // the child writes errno here if exec fails; close-on-exec closes it on success
  const pid_t pid = ::fork();
  if (pid < 0) throw_error(errc::launcher_failed, std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    if (options.new_session) ::setsid();
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::close(devnull);
    }
    if (!log.empty()) {
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::close(out);
      }
    }
    // Keep 0-2, the status pipe and pass_fd; close everything else.
    for (int fd = 3; fd < 1024; ++fd)
      if (fd != status.fd[1] && fd != options.pass_fd) ::close(fd);
    if (options.pass_fd >= 0) ::fcntl(options.pass_fd, F_SETFD, 0);
    ::execve(exe.c_str(), argv.data(), envp.data());
    const int err = errno;
    (void)!::write(status.fd[1], &err, sizeof err);
    ::_exit(127);
  }
  status.close_write();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(status.fd[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof child_errno) {
    int ignored = 0;
    ::waitpid(pid, &ignored, 0);
    throw_error(errc::launcher_not_found, "cannot execute " + exe + ": " + std::strerror(child_errno));
  }
  return pid;
}

CommandResult run(const std::vector<std::string>& argv, const RunOptions& options) {
  CommandResult result;
  const auto program = argv.empty() ? std::nullopt : find_program(argv[0]);
  if (!program) {
    result.status = 127;
    result.err = (argv.empty() ? std::string("empty command") : argv[0] + ": not found on PATH") + "\n";
    return result;
  }
  Pipe out, err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string input = options.stdin_file.empty() ? std::string("/dev/null") : options.stdin_file.string();
  posix_spawn_file_actions_addopen(&actions, 0, input.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_storage = merged_environment(options.env);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const std::string exe = program->string();
  const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  out.close_write();
  err.close_write();
  if (rc != 0) {
    result.status = 127;
    result.err = "cannot start " + exe + ": " + std::strerror(rc) + "\n";
    return result;
  }
  const Deadline deadline = options.timeout ? deadline_after(*options.timeout) : Deadline::max();
  pollfd fds[2] = {{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  char buf[65536];
  bool killed = false;
  while (open_count > 0) {
    int wait_ms = -1;
    if (options.timeout) {
      wait_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(time_left(deadline)).count());
      if (wait_ms <= 0) {
        ::kill(pid, SIGKILL);
        killed = true;
        break;
      }
    }
    const int r = ::poll(fds, 2, wait_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        if (options.on_output) options.on_output(i == 1, {buf, static_cast<std::size_t>(n)});
        const std::size_t room = options.max_output > sinks[i]->size() ? options.max_output - sinks[i]->size() : 0;
        sinks[i]->append(buf, std::min(room, static_cast<std::size_t>(n)));
        if (static_cast<std::size_t>(n) > room) result.truncated = true;
      } else if (n == 0 || (n < 0 && errno != EINTR)) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = decode_status(status, &result.signal);
  if (killed) result.err += "\n[killed after the " + std::to_string(options.timeout->count()) + " ms timeout]\n";
  return result;
}

CommandResult run_shell(const std::string& command, const RunOptions& options) {
  return run({"/bin/sh", "-c", command}, options);
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string command_text(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& a : argv) text += (text.empty() ? "" : " ") + a;
  return text;
}

std::string tail_file(const fs::path& path, std::size_t lines) {
  std::ifstream in(path);
  if (!in) return "";
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += l + "\n";
  return out;
}

}  // namespace crew::proc
