// Doorbells: abstract UNIX datagram sockets carrying {sender rank, message count}.
#include "engine/doorbell.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crew/error.hpp"

namespace crew::detail {
namespace {

socklen_t address_of(const std::string& tag, int rank, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  const std::string name = "crew-" + tag + "-" + std::to_string(rank);
  // Abstract namespace: a leading NUL, no file on disk, gone with the process.
  const std::size_t n = std::min(name.size(), sizeof addr.sun_path - 2);
  std::memcpy(addr.sun_path + 1, name.data(), n);
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
}

}  // namespace

/// One ring: who rang, and how many MPI messages it announces.
struct Doorbell::Announcement {
  std::uint32_t from;
  std::uint32_t messages;
};

struct Doorbell::Inbox {
  static constexpr unsigned size = 64;
  Announcement rings[size];
  iovec io[size];
  mmsghdr msgs[size] = {};
  Inbox() {
    for (unsigned i = 0; i < size; ++i) {
      io[i] = {&rings[i], sizeof rings[i]};
      msgs[i].msg_hdr.msg_iov = &io[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
};

Doorbell::Doorbell(std::string world_tag, int rank)
    : tag_(std::move(world_tag)), rank_(rank), inbox_(std::make_unique<Inbox>()) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw_error(errc::internal, std::string("doorbell socket: ") + std::strerror(errno));
  sockaddr_un addr;
  const socklen_t len = address_of(tag_, rank, addr);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    const int err = errno;
    ::close(fd_);
    throw_error(errc::internal, std::string("doorbell bind: ") + std::strerror(err));
  }
}

Doorbell::~Doorbell() {
  if (fd_ >= 0) ::close(fd_);
}

bool Doorbell::send(int rank, std::uint32_t messages) {
  sockaddr_un addr;
  const socklen_t len = address_of(tag_, rank, addr);
  const Announcement a{static_cast<std::uint32_t>(rank_), messages};
  return ::sendto(fd_, &a, sizeof a, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&addr), len) == sizeof a;
}

bool Doorbell::ring(int rank, std::uint32_t messages) {
  const auto r = static_cast<std::size_t>(rank);
  if (r >= unsent_.size()) unsent_.resize(r + 1, 0);
  const std::uint32_t total = unsent_[r] + messages;
  if (send(rank, total)) {
    unsent_[r] = 0;
    return true;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    unsent_[r] = total;  // its queue is full (so it is being woken anyway): say it later
    return true;
  }
  unsent_[r] = 0;
  return false;  // no such doorbell on this host
}

bool Doorbell::retry() {
  bool all_sent = true;
  for (std::size_t r = 0; r < unsent_.size(); ++r) {
    if (unsent_[r] == 0) continue;
    if (send(static_cast<int>(r), unsent_[r]))
      unsent_[r] = 0;
    else
      all_sent = false;
  }
  return all_sent;
}

bool Doorbell::collect(std::vector<std::int64_t>& announced) {
  // Up to a batch of rings per system call; a short batch means the queue is empty (a ring that
  // comes later makes the socket readable again, for the caller's next poll).
  Inbox& in = *inbox_;
  bool rung = false;
  for (;;) {
    const int n = ::recvmmsg(fd_, in.msgs, Inbox::size, MSG_DONTWAIT, nullptr);
    if (n <= 0) break;
    rung = true;
    for (int i = 0; i < n; ++i) {
      if (in.msgs[i].msg_len != sizeof(Announcement)) continue;  // not one of ours
      const auto from = static_cast<std::size_t>(in.rings[i].from);
      if (from > (1u << 24)) continue;
      if (from >= announced.size()) announced.resize(from + 1, 0);
      announced[from] += in.rings[i].messages;
    }
    if (static_cast<unsigned>(n) < Inbox::size) break;
  }
  return rung;
}

bool Doorbell::wait(std::chrono::nanoseconds timeout, std::vector<std::int64_t>& announced) {
  pollfd p{fd_, POLLIN, 0};
  const timespec ts{static_cast<time_t>(timeout.count() / 1'000'000'000),
                    static_cast<long>(timeout.count() % 1'000'000'000)};
  if (::ppoll(&p, 1, &ts, nullptr) <= 0) return false;
  return collect(announced);
}

}  // namespace crew::detail
