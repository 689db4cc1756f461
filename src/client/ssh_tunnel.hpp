#pragma once
// Reaching a controller through ssh (`--ssh [user@]host[:port]`, ClientOptions::ssh): the
// client's one connection to the controller goes to a local UNIX socket that the system's
// OpenSSH client forwards to the controller's client port, as the login host sees that port
// (a controller bound to the login node's loopback is reachable so, and only so).
//
// One master connection per target (ssh's ControlMaster) carries every forward and serves every
// crew command of the session: the first command starts it, with the user's own ~/.ssh/config,
// agent, ProxyJump and prompts (a terminal's two-factor login works); it ends by itself after
// `idle_minutes` without a command (ControlPersist). Its control socket and the forwarded
// sockets live in a private directory ($XDG_RUNTIME_DIR/crew, else /tmp/crew-<uid>, mode 0700).

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/internal_api.hpp"
#include "common/process.hpp"

namespace crew::detail {

struct SshTarget {
  std::string destination;  ///< [user@]host, as ssh takes it
  std::string port;         ///< "" for ssh's own choice (~/.ssh/config, else 22)
  std::string text() const { return port.empty() ? destination : destination + ":" + port; }
};

/// Parses "[user@]host[:port]"; throws InputError [crew.input.bad_option] naming what is wrong.
CREW_INTERNAL_API SshTarget parse_ssh_target(std::string_view text);

/// Where the master connections' sockets live (created, mode 0700, checked to be this user's).
CREW_INTERNAL_API std::filesystem::path ssh_socket_dir();

/// The endpoint to connect to instead of `controller_url` ("tcp://HOST:PORT" as the target host
/// sees it): "ipc://<socket>", forwarded there through the target's master connection, which is
/// started if none runs (waiting `connect_timeout` for it; longer on a terminal, where ssh may
/// ask for a password or a second factor). Throws ConnectionError [crew.connection.ssh_failed]
/// with ssh's own words and what to check.
CREW_INTERNAL_API std::string ssh_forward(const SshTarget& target, const std::string& controller_url,
                                          std::chrono::milliseconds connect_timeout);

/// Runs `remote_command` on the target through its master connection (started if needed) and
/// returns its standard output; throws as ssh_forward does, with the command's stderr.
CREW_INTERNAL_API std::string ssh_run(const SshTarget& target, const std::string& remote_command,
                                      std::chrono::milliseconds connect_timeout);

/// Runs `remote_command` there as ssh_run does, its output passed to `options.on_output` as it
/// comes; returns its exit status (255: ssh failed).
CREW_INTERNAL_API int ssh_run_shown(const SshTarget& target, const std::string& remote_command,
                                    std::chrono::milliseconds connect_timeout, proc::RunOptions options);

inline constexpr int ssh_idle_minutes = 10;

/// A forward kept up for a client that lives long (a program, a shell, a notebook). It forwards at
/// once (throwing as ssh_forward does); once kept, it looks every `period` whether the forward
/// still answers, and when it does not (its master connection died: a network change, a sleep, a
/// kill) forwards again, at the same path, where ZeroMQ reconnects by itself; then `healed` runs
/// on its thread, for the client to ask for what it may have missed meanwhile.
class CREW_INTERNAL_API SshForwardKeeper {
public:
  SshForwardKeeper(SshTarget target, std::string controller_url, std::chrono::milliseconds connect_timeout);
  ~SshForwardKeeper();
  SshForwardKeeper(const SshForwardKeeper&) = delete;
  SshForwardKeeper& operator=(const SshForwardKeeper&) = delete;

  /// "ipc://<socket>": where the client connects.
  const std::string& endpoint() const noexcept { return endpoint_; }
  /// Starts looking after it.
  void keep(std::function<void()> healed);

  static constexpr std::chrono::milliseconds period{2000};

private:
  void run();

  const SshTarget target_;
  const std::string controller_url_;
  const std::chrono::milliseconds connect_timeout_;
  std::string endpoint_;
  std::function<void()> healed_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace crew::detail
