// FdCapture (engine/fd_capture.hpp).
#include "engine/fd_capture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/log.hpp"
#include "common/process.hpp"
#include "crew/error.hpp"
#include "engine/output_pump.hpp"

namespace crew::detail {
namespace {

constexpr std::uint64_t capacity = std::uint64_t{1} << 30;         ///< each file's size, mapped
constexpr std::uint64_t start_over_at = std::uint64_t{512} << 20;  ///< read this far: begin again at 0
constexpr std::uint64_t give_back_every = std::uint64_t{8} << 20;  ///< read memory is punched out in steps
constexpr int tick_in_task_ms = 20;                                ///< how often live output is looked for
constexpr int tick_idle_ms = 200;                                  ///< ... and text between tasks
constexpr std::size_t long_line = 4096;                            ///< an unfinished line this long goes live

[[noreturn]] void fail(const char* what) {
  throw_error(errc::internal, std::string("capturing the engine's output: ") + what + ": " + std::strerror(errno));
}

std::uint64_t page_floor(std::uint64_t n) {
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return n / page * page;
}

void punch(int fd, std::uint64_t from, std::uint64_t to) {
  if (to > from)
    (void)::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                      static_cast<off_t>(to - from));
}

}  // namespace

FdCapture::FdCapture() {
  const auto release = [this] {
    for (Stream& s : streams_) {
      if (s.map != nullptr) ::munmap(const_cast<char*>(s.map), capacity);
      if (s.fd >= 0) ::close(s.fd);
      if (s.saved >= 0) ::close(s.saved);
    }
    if (stop_ >= 0) ::close(stop_);
  };
  try {
    for (int i = 0; i < 2; ++i) {
      Stream& s = streams_[i];
      s.fd = ::memfd_create(i == 0 ? "crew-stdout" : "crew-stderr", MFD_CLOEXEC);
      if (s.fd < 0) fail("memfd_create");
      if (::ftruncate(s.fd, static_cast<off_t>(capacity)) != 0) fail("ftruncate");  // sparse: no memory yet
      void* map = ::mmap(nullptr, capacity, PROT_READ, MAP_SHARED, s.fd, 0);
      if (map == MAP_FAILED) fail("mmap");
      s.map = static_cast<const char*>(map);
      s.saved = ::fcntl(i + 1, F_DUPFD_CLOEXEC, 3);
      if (s.saved < 0) fail("dup");
    }
    stop_ = ::eventfd(0, EFD_CLOEXEC);
    if (stop_ < 0) fail("eventfd");
  } catch (...) {
    release();
    throw;
  }
  // gfortran buffers WRITE(*,*) to anything but a terminal, out of reach of end(): unless asked
  // otherwise, plugins written in Fortran write as they go (read when libgfortran loads).
  ::setenv("GFORTRAN_UNBUFFERED_PRECONNECTED", "y", /*overwrite=*/0);
  std::fflush(stdout);
  std::fflush(stderr);
  for (int i = 0; i < 2; ++i) ::dup2(streams_[i].fd, i + 1);  // one offset, shared with children
  std::setvbuf(stdout, nullptr, _IOLBF, BUFSIZ);              // a file would make it fully buffered
  logging::write_to_fd(streams_[1].saved);                    // the engine's log is not a task's output
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
    for (int i = 0; i < 2; ++i) take(i, false);  // the last words go to the original descriptors
  }
  for (int i = 0; i < 2; ++i) ::dup2(streams_[i].saved, i + 1);
  logging::write_to_fd(-1);  // stderr again
  for (Stream& s : streams_) {
    ::munmap(const_cast<char*>(s.map), capacity);
    ::close(s.fd);
    ::close(s.saved);
  }
  ::close(stop_);
}

void FdCapture::begin(OutputPump* pump) {
  std::lock_guard lock(mutex_);
  for (int i = 0; i < 2; ++i) take(i, true);  // what came between tasks is not this task's
  in_task_ = true;
  pump_ = pump;
}

FdCapture::Text FdCapture::end() {
  std::fflush(stdout);  // no system call when nothing waits in its buffer
  std::fflush(stderr);
  std::lock_guard lock(mutex_);
  for (int i = 0; i < 2; ++i) {
    take(i, true);
    pass_pending(i);
  }
  in_task_ = false;
  pump_ = nullptr;
  Text t{std::move(streams_[0].text), std::move(streams_[1].text)};
  streams_[0].text.clear();
  streams_[1].text.clear();
  tidy();
  return t;
}

void FdCapture::run() {
  pollfd stop{stop_, POLLIN, 0};
  for (;;) {
    bool in_task = false;
    {
      std::lock_guard lock(mutex_);
      in_task = in_task_;
    }
    const int r = ::poll(&stop, 1, in_task ? tick_in_task_ms : tick_idle_ms);
    if (r > 0 || (r < 0 && errno != EINTR)) return;
    std::lock_guard lock(mutex_);
    for (int i = 0; i < 2; ++i) take(i, false);
    if (!in_task_) tidy();
  }
}

void FdCapture::take(int which, bool probe) {
  Stream& s = streams_[which];
  if (probe && s.read < capacity && s.map[s.read] == 0) return;  // nothing came (no system call)
  const off_t at = ::lseek(s.fd, 0, SEEK_CUR);
  if (at < 0 || static_cast<std::uint64_t>(at) <= s.read) return;
  const auto end = static_cast<std::uint64_t>(at);
  if (s.read < capacity) {
    const std::uint64_t upto = std::min(end, capacity);
    deliver(which, {s.map + s.read, static_cast<std::size_t>(upto - s.read)});
    s.read = upto;
  }
  char buf[64 * 1024];  // written past the mapping (more than `capacity` before a start over)
  while (s.read < end) {
    const ssize_t n = ::pread(s.fd, buf, static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buf, end - s.read)),
                              static_cast<off_t>(s.read));
    if (n <= 0) break;
    deliver(which, {buf, static_cast<std::size_t>(n)});
    s.read += static_cast<std::uint64_t>(n);
  }
}

void FdCapture::deliver(int which, std::string_view bytes) {
  Stream& s = streams_[which];
  if (!in_task_) {
    (void)proc::write_all(s.saved, bytes);  // where the output went is gone: nothing better to do
    return;
  }
  s.text.append(bytes);
  if (pump_ == nullptr) return;
  s.pending.append(bytes);
  const auto last_newline = s.pending.rfind('\n');
  if (last_newline != std::string::npos) {
    pump_->write(which == 1, {s.pending.data(), last_newline + 1});
    s.pending.erase(0, last_newline + 1);
  }
  if (s.pending.size() >= long_line) pass_pending(which);
}

void FdCapture::pass_pending(int which) {
  std::string& pending = streams_[which].pending;
  if (pending.empty()) return;
  if (pump_ != nullptr) pump_->write(which == 1, pending);
  pending.clear();
}

void FdCapture::tidy() {
  for (Stream& s : streams_) {
    if (s.read >= start_over_at) {
      // Begin again at 0, if nothing came meanwhile (else next time): what was read is zeroed.
      const off_t at = ::lseek(s.fd, 0, SEEK_CUR);
      if (at >= 0 && static_cast<std::uint64_t>(at) == s.read) {
        punch(s.fd, 0, s.read);
        ::lseek(s.fd, 0, SEEK_SET);
        s.read = s.given_back = 0;
      }
    } else if (s.read - s.given_back >= give_back_every) {
      const std::uint64_t upto = page_floor(s.read);  // the page being written to stays
      punch(s.fd, s.given_back, upto);
      s.given_back = upto;
    }
  }
}

}  // namespace crew::detail
