// FdCapture (engine/fd_capture.hpp).
#include "engine/fd_capture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.hpp"
#include "crew/error.hpp"
#include "engine/output_pump.hpp"

namespace crew::detail {
namespace {

constexpr std::size_t long_line = 4096;  ///< an unfinished line this long goes live anyway

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // where the output went is gone: nothing better to do with it
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

[[noreturn]] void fail(const char* what) {
  throw_error(errc::internal, std::string("capturing the engine's output: ") + what + ": " + std::strerror(errno));
}

}  // namespace

FdCapture::FdCapture() {
  std::fflush(stdout);
  std::fflush(stderr);
  for (int i = 0; i < 2; ++i) {
    const int target = i + 1;
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) fail("pipe2");
    (void)::fcntl(p[1], F_SETPIPE_SZ, 1 << 20);  // room for a burst; the reader keeps up anyway
    saved_[i] = ::fcntl(target, F_DUPFD_CLOEXEC, 3);
    if (saved_[i] < 0) fail("dup");
    if (::dup2(p[1], target) < 0) fail("dup2");  // children inherit it (dup2 clears CLOEXEC)
    ::close(p[1]);
    read_[i] = p[0];
    (void)::fcntl(read_[i], F_SETFL, ::fcntl(read_[i], F_GETFL) | O_NONBLOCK);
  }
  std::setvbuf(stdout, nullptr, _IOLBF, BUFSIZ);  // a pipe would make it fully buffered
  stop_ = ::eventfd(0, EFD_CLOEXEC);
  if (stop_ < 0) fail("eventfd");
  logging::write_to_fd(saved_[1]);  // the engine's log is not a task's output
  thread_ = std::thread([this] { run(); });
}

FdCapture::~FdCapture() {
  std::fflush(stdout);
  std::fflush(stderr);
  const std::uint64_t one = 1;
  (void)!::write(stop_, &one, sizeof one);
  thread_.join();
  {
    std::lock_guard lock(mutex_);
    in_task_ = false;
    for (int i = 0; i < 2; ++i) read_ready(i);  // the last words go to the original descriptors
  }
  for (int i = 0; i < 2; ++i) {
    ::dup2(saved_[i], i + 1);
    ::close(read_[i]);
  }
  logging::write_to_fd(-1);  // stderr again
  for (int fd : saved_) ::close(fd);
  ::close(stop_);
}

void FdCapture::begin(OutputPump* pump) {
  std::lock_guard lock(mutex_);
  in_task_ = true;
  pump_ = pump;
}

FdCapture::Text FdCapture::end() {
  std::fflush(stdout);
  std::fflush(stderr);
  std::lock_guard lock(mutex_);
  // What the task wrote is in the pipes now (a write to a pipe is done when it returns): take it
  // here rather than wait for the thread. One poll when there is nothing.
  pollfd fds[2] = {{read_[0], POLLIN, 0}, {read_[1], POLLIN, 0}};
  if (::poll(fds, 2, 0) > 0)
    for (int i = 0; i < 2; ++i)
      if (fds[i].revents != 0) read_ready(i);
  for (int i = 0; i < 2; ++i) pass_pending(i);
  in_task_ = false;
  pump_ = nullptr;
  Text t{std::move(text_[0]), std::move(text_[1])};
  text_[0].clear();
  text_[1].clear();
  return t;
}

void FdCapture::run() {
  pollfd fds[3] = {{read_[0], POLLIN, 0}, {read_[1], POLLIN, 0}, {stop_, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[2].revents != 0) return;
    std::lock_guard lock(mutex_);
    for (int i = 0; i < 2; ++i)
      if (fds[i].revents != 0) read_ready(i);
  }
}

void FdCapture::read_ready(int which) {
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(read_[which], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: all read
    deliver(which, {buf, static_cast<std::size_t>(n)});
  }
}

void FdCapture::deliver(int which, std::string_view bytes) {
  if (!in_task_) {
    write_all(saved_[which], bytes);
    return;
  }
  text_[which].append(bytes);
  if (pump_ == nullptr) return;
  std::string& pending = pending_[which];
  pending.append(bytes);
  const auto last_newline = pending.rfind('\n');
  if (last_newline != std::string::npos) {
    pump_->write(which == 1, {pending.data(), last_newline + 1});
    pending.erase(0, last_newline + 1);
  }
  if (pending.size() >= long_line) pass_pending(which);
}

void FdCapture::pass_pending(int which) {
  std::string& pending = pending_[which];
  if (pending.empty()) return;
  if (pump_ != nullptr) pump_->write(which == 1, pending);
  pending.clear();
}

}  // namespace crew::detail
