#pragma once
// crew messages between the ranks of a world, as raw MPI buffers on crew's own communicator.
//
// A message (header + payload frames) is one envelope message (tag_envelope) holding every
// frame under `inline_limit` bytes; larger frames follow as their own messages (tag_data, in
// chunks of at most 1 GiB), received straight into their final buffer. MPI's non-overtaking
// rule keeps them in order.

#include <mpi.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/internal_api.hpp"
#include "crew/buffer.hpp"
#include "protocol/payload.hpp"

namespace crew::detail::mpi_frames {

inline constexpr int tag_envelope = 7101;
inline constexpr int tag_data = 7102;
inline constexpr std::size_t inline_limit = 64 * 1024;

struct CREW_INTERNAL_API Message {
  int source = -1;
  Buffer header;
  wire::Payload payload;
};

/// Sends and returns when the buffers may be reused.
CREW_INTERNAL_API void send(MPI_Comm comm, int dest, const Buffer& header, std::span<const Buffer> payload);

/// Non-blocking sends; the buffers stay alive until MPI is done with them.
class CREW_INTERNAL_API SendQueue {
public:
  void send(MPI_Comm comm, int dest, const Buffer& header, std::span<const Buffer> payload);
  /// Releases the buffers of completed sends.
  void progress();
  bool idle() const noexcept { return requests_.empty(); }
  void wait_all();

private:
  void post(MPI_Comm comm, int dest, int tag, const Buffer& buffer);
  std::vector<MPI_Request> requests_;
  std::vector<Buffer> keep_;  ///< parallel to requests_
};

/// Receives one message from `source` (or MPI_ANY_SOURCE) if one is waiting.
CREW_INTERNAL_API std::optional<Message> try_recv(MPI_Comm comm, int source = MPI_ANY_SOURCE);
/// Receives one message from `source`, waiting for it: for a message known to be on its way
/// (a doorbell announced it), so the wait is short.
CREW_INTERNAL_API Message recv(MPI_Comm comm, int source);

}  // namespace crew::detail::mpi_frames
