// Reaching a controller through ssh: one master connection per target, a forwarded UNIX socket.
#include "client/ssh_tunnel.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/file_lock.hpp"
#include "common/process.hpp"
#include "crew/error.hpp"

namespace crew::detail {

namespace fs = std::filesystem;

namespace {

/// FNV-1a, in hex: short, stable names for sockets (a UNIX socket's path has 107 bytes at most).
std::string short_hash(std::string_view text) {
  std::uint64_t h = 1469598103934665603ull;
  for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  static const char* digits = "0123456789abcdef";
  std::string out(12, '0');
  for (auto& d : out) {
    d = digits[h & 15];
    h >>= 4;
  }
  return out;
}

[[noreturn]] void ssh_failed(const SshTarget& t, const std::string& what) {
  throw_error(errc::ssh_failed, "--ssh " + t.text() + ": " + what);
}

fs::path ssh_program(const SshTarget& t) {
  if (auto p = proc::find_program("ssh")) return *p;
  ssh_failed(t, "no ssh client on PATH; install OpenSSH's (Debian: apt-get install openssh-client)");
}

/// True if something accepts connections on the UNIX socket `path`.
bool socket_answers(const fs::path& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

/// The last lines ssh wrote, for an error message ("" if none).
std::string last_words(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  const auto cut = t.size() > 600 ? t.rfind('\n', t.size() - 600) : std::string::npos;
  if (cut != std::string::npos) t = t.substr(cut + 1);
  for (auto& c : t)
    if (c == '\n' || c == '\r') c = ' ';
  return t;
}

struct Master {
  SshTarget target;
  fs::path program, control, log;

  std::vector<std::string> control_args(const char* operation) const {
    return {program.string(), "-S", control.string(), "-O", operation, target.destination};
  }
  bool running() const {
    proc::RunOptions o;
    o.timeout = std::chrono::seconds(10);
    return proc::run(control_args("check"), o).status == 0;
  }
  /// Starts it (the lock held): ssh authenticates, then goes to the background (-f).
  void start(std::chrono::milliseconds timeout) const {
    const bool terminal = ::isatty(STDIN_FILENO) && ::isatty(STDERR_FILENO);
    std::vector<std::string> argv{program.string(),
                                  "-M",
                                  "-N",
                                  "-f",
                                  "-S",
                                  control.string(),
                                  "-o",
                                  "ControlPersist=" + std::to_string(ssh_idle_minutes) + "m",
                                  "-o",
                                  "ServerAliveInterval=30",
                                  "-o",
                                  "ConnectTimeout=" + std::to_string(std::max<long>(1, timeout.count() / 1000))};
    // Without a terminal nobody can answer a prompt: fail at once rather than hang.
    if (!terminal) argv.insert(argv.end(), {"-o", "BatchMode=yes"});
    if (!target.port.empty()) argv.insert(argv.end(), {"-p", target.port});
    argv.push_back(target.destination);
    std::error_code ec;
    fs::remove(log, ec);
    proc::SpawnOptions s;
    s.argv = argv;
    s.log = log;
    s.new_session = !terminal;  // on a terminal, ssh asks there (/dev/tty)
    pid_t pid = -1;
    try {
      pid = proc::spawn(s);
    } catch (const Error& e) {
      ssh_failed(target, "could not start " + program.string() + ": " + e.message());
    }
    // A person may be typing a password or a code: give them two minutes.
    const auto wait = terminal ? std::max<std::chrono::milliseconds>(timeout, std::chrono::minutes(2)) : timeout;
    if (!proc::wait_gone(pid, deadline_after(wait))) {
      ::kill(pid, SIGKILL);
      proc::wait_gone(pid, deadline_after(std::chrono::seconds(5)));
      ssh_failed(target, "ssh did not connect within " + std::to_string(wait.count() / 1000) + " s; check that `ssh " +
                             target.text() + "` works from here");
    }
    if (!running()) {
      std::ifstream in(log);
      const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      ssh_failed(target, "ssh could not connect" + (said.empty() ? std::string() : ": " + last_words(said)) +
                             "; check that `ssh " + target.text() + "` works from here without crew" +
                             (terminal ? "" : " and without a password or passphrase prompt (an agent or a key)"));
    }
  }
};

Master master_for(const SshTarget& target, std::chrono::milliseconds timeout) {
  const fs::path dir = ssh_socket_dir();
  const std::string name = short_hash(target.text());
  Master m{target, ssh_program(target), dir / ("ssh-" + name), dir / ("ssh-" + name + ".log")};
  FileLock lock(dir / ("ssh-" + name + ".lock"));
  if (!m.running()) {
    std::error_code ec;
    fs::remove(m.control, ec);  // left by a master that died
    m.start(timeout);
  }
  return m;
}

/// HOST and PORT of "tcp://HOST:PORT"; a wildcard host is the login host's loopback.
std::pair<std::string, std::string> host_and_port(const SshTarget& t, const std::string& url) {
  const std::string prefix = "tcp://";
  const auto colon = url.rfind(':');
  if (url.rfind(prefix, 0) != 0 || colon == std::string::npos || colon < prefix.size())
    ssh_failed(t, "the controller's client address " + url + " is not tcp://HOST:PORT");
  std::string host = url.substr(prefix.size(), colon - prefix.size());
  if (host == "*" || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "[::]") host = "[::1]";
  return {host, url.substr(colon + 1)};
}

}  // namespace

SshTarget parse_ssh_target(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    throw_error(errc::bad_option, "--ssh '" + std::string(text) + "': " + why + " (expected [user@]host[:port])");
  };
  if (text.empty()) bad("empty");
  for (const char c : text)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '\'' || c == '"')
      bad("contains '" + std::string(1, c) + "'");
  if (text.front() == '-') bad("starts with '-'");
  SshTarget t;
  std::string s(text);
  if (const auto colon = s.rfind(':'); colon != std::string::npos && s.find(']') == std::string::npos) {
    t.port = s.substr(colon + 1);
    s.resize(colon);
    if (t.port.empty() || t.port.find_first_not_of("0123456789") != std::string::npos || std::stol(t.port) < 1 ||
        std::stol(t.port) > 65535)
      bad("the port must be a number from 1 to 65535");
  }
  const auto at = s.rfind('@');
  if (s.empty() || at == s.size() - 1 || at == 0) bad("no host");
  t.destination = s;
  return t;
}

fs::path ssh_socket_dir() {
  fs::path dir;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR");
      runtime != nullptr && *runtime == '/' && fs::is_directory(runtime))
    dir = fs::path(runtime) / "crew";
  else
    dir = fs::path("/tmp") / ("crew-" + std::to_string(::getuid()));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw_error(errc::ssh_failed, "cannot create " + dir.string() + " for ssh's sockets: " + std::strerror(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid() || (st.st_mode & 077) != 0)
    throw_error(errc::ssh_failed, dir.string() +
                                      " is not a private directory of this user (mode 0700); it holds ssh's sockets: "
                                      "remove it, or set XDG_RUNTIME_DIR to a private directory");
  return dir;
}

std::string ssh_forward(const SshTarget& target, const std::string& controller_url,
                        std::chrono::milliseconds connect_timeout) {
  const auto [host, port] = host_and_port(target, controller_url);
  const Master m = master_for(target, connect_timeout);
  const fs::path socket =
      ssh_socket_dir() / ("fwd-" + short_hash(target.text()) + "-" + short_hash(host + ":" + port) + ".sock");
  FileLock lock(ssh_socket_dir() / ("ssh-" + short_hash(target.text()) + ".lock"));
  if (!socket_answers(socket)) {
    std::error_code ec;
    fs::remove(socket, ec);  // a forward of a master that is gone
    auto argv = m.control_args("forward");
    argv.insert(argv.end() - 1, {"-L", socket.string() + ":" + host + ":" + port});
    proc::RunOptions o;
    o.timeout = std::chrono::seconds(10);
    const auto r = proc::run(argv, o);
    if (r.status != 0)
      ssh_failed(target, "ssh could not forward " + socket.string() + " to " + host + ":" + port + ": " +
                             last_words(r.err + r.out));
  }
  return "ipc://" + socket.string();
}

std::string ssh_run(const SshTarget& target, const std::string& remote_command,
                    std::chrono::milliseconds connect_timeout) {
  const Master m = master_for(target, connect_timeout);
  proc::RunOptions o;
  o.timeout = connect_timeout + std::chrono::seconds(30);
  const auto r = proc::run({m.program.string(), "-S", m.control.string(), target.destination, remote_command}, o);
  if (r.status != 0)
    ssh_failed(target, "`" + remote_command + "` on " + target.destination + " failed (exit " +
                           std::to_string(r.status) + ")" + (r.err.empty() ? "" : ": " + last_words(r.err)));
  return r.out;
}

int ssh_run_shown(const SshTarget& target, const std::string& remote_command, std::chrono::milliseconds connect_timeout,
                  proc::RunOptions options) {
  const Master m = master_for(target, connect_timeout);
  return proc::run({m.program.string(), "-S", m.control.string(), target.destination, remote_command}, options).status;
}

SshForwardKeeper::SshForwardKeeper(SshTarget target, std::string controller_url,
                                   std::chrono::milliseconds connect_timeout)
    : target_(std::move(target)), controller_url_(std::move(controller_url)), connect_timeout_(connect_timeout) {
  endpoint_ = ssh_forward(target_, controller_url_, connect_timeout_);
}

SshForwardKeeper::~SshForwardKeeper() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SshForwardKeeper::keep(std::function<void()> healed) {
  healed_ = std::move(healed);
  thread_ = std::thread([this] { run(); });
}

void SshForwardKeeper::run() {
  const fs::path socket = endpoint_.substr(std::string_view("ipc://").size());
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period, [&] { return stop_; })) {
    if (socket_answers(socket)) continue;
    lock.unlock();
    try {
      if (ssh_forward(target_, controller_url_, connect_timeout_) == endpoint_ && healed_) healed_();
    } catch (const Error&) {
      // (still unreachable: looked at again next period; the client's waits say it meanwhile)
    }
    lock.lock();
  }
}

}  // namespace crew::detail
