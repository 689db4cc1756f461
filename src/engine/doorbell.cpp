// Doorbells: abstract UNIX datagram sockets.
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

Doorbell::Doorbell(std::string world_tag, int rank) : tag_(std::move(world_tag)) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw Error(errc::internal, std::string("doorbell socket: ") + std::strerror(errno));
  sockaddr_un addr;
  const socklen_t len = address_of(tag_, rank, addr);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    const int err = errno;
    ::close(fd_);
    throw Error(errc::internal, std::string("doorbell bind: ") + std::strerror(err));
  }
}

Doorbell::~Doorbell() {
  if (fd_ >= 0) ::close(fd_);
}

bool Doorbell::ring(int rank) {
  sockaddr_un addr;
  const socklen_t len = address_of(tag_, rank, addr);
  const char byte = 1;
  if (::sendto(fd_, &byte, 1, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&addr), len) == 1) return true;
  // A full queue still wakes the peer; anything else means no such doorbell on this host.
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

bool Doorbell::wait(std::chrono::nanoseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  const timespec ts{static_cast<time_t>(timeout.count() / 1'000'000'000),
                    static_cast<long>(timeout.count() % 1'000'000'000)};
  const bool rung = ::ppoll(&p, 1, &ts, nullptr) > 0;
  if (rung) clear();
  return rung;
}

bool Doorbell::clear() {
  char buf[256];
  bool rung = false;
  while (::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) > 0) rung = true;
  return rung;
}

}  // namespace crew::detail
