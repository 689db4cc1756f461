#pragma once
// Doorbell: a wake-up call between the processes of one world on one host.
//
// MPI gives a waiting rank nothing to block on (Open MPI's blocking receive spins a core), so
// after every MPI send to a rank on its own host, crew also "rings" that rank: one byte on an
// abstract-namespace UNIX datagram socket named after the world and rank. A waiting rank blocks
// in poll() on its doorbell and wakes at once. Ranks on other hosts have no doorbell and fall
// back to polling with a backoff (IdleBackoff).

#include <chrono>
#include <string>

namespace crew::detail {

class Doorbell {
public:
  /// Binds this process's doorbell for `rank` of the world tagged `world_tag`.
  Doorbell(std::string world_tag, int rank);
  ~Doorbell();
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

  /// Wakes `rank` if it listens on this host; false if it has no doorbell here.
  bool ring(int rank);
  /// Blocks until rung or `timeout` passes (true if rung); clears the bell.
  bool wait(std::chrono::nanoseconds timeout);
  /// Clears pending rings without waiting; true if there were any.
  bool clear();
  int fd() const noexcept { return fd_; }

private:
  std::string tag_;
  int fd_ = -1;
};

}  // namespace crew::detail
