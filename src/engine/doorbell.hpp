#pragma once
// Doorbell: a wake-up call between the processes of one world on one host, that also says how
// many MPI messages it announces.
//
// MPI gives a waiting rank nothing to block on (Open MPI's blocking receive spins a core, and a
// probe that finds nothing yields the CPU with a system call when the node is oversubscribed),
// so after every MPI send to a rank on its own host, crew also "rings" that rank: a datagram on
// an abstract-namespace UNIX socket named after the world and rank, carrying the sender's rank
// and the number of messages it just sent. A waiting rank blocks in poll() on its doorbell; once
// rung it receives exactly the messages announced, and never probes MPI for nothing. Ranks on
// other hosts have no doorbell and fall back to polling with a backoff (IdleBackoff).
//
// An announcement is never lost: if the receiver's queue is full, the count waits here and goes
// with the next ring (or retry()).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace crew::detail {

class Doorbell {
public:
  /// Binds this process's doorbell for `rank` of the world tagged `world_tag`.
  Doorbell(std::string world_tag, int rank);
  ~Doorbell();
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

  /// Tells `rank` that `messages` more MPI messages from this rank are on their way; false if it
  /// has no doorbell on this host (then nothing is kept for it). One thread rings (and retries).
  bool ring(int rank, std::uint32_t messages);
  /// Sends announcements that found the receiver's queue full; true if none is left waiting.
  bool retry();
  /// Blocks until rung or `timeout` passes; adds what was announced to `announced` (by sender
  /// rank, grown as needed). True if rung.
  bool wait(std::chrono::nanoseconds timeout, std::vector<std::int64_t>& announced);
  /// The same without waiting.
  bool collect(std::vector<std::int64_t>& announced);
  int fd() const noexcept { return fd_; }

private:
  bool send(int rank, std::uint32_t messages);
  std::string tag_;
  int rank_;
  int fd_ = -1;
  std::vector<std::uint32_t> unsent_;  ///< by receiver rank: counts its full queue refused
  struct Announcement;
  struct Inbox;  ///< collect's receive buffers, set up once
  std::unique_ptr<Inbox> inbox_;
};

}  // namespace crew::detail
