#pragma once
// Batches: several crew messages travelling as one ZeroMQ (or MPI) message, signed once.
//
// Small messages cost more in per-message work (a syscall, a signature, a poll wake-up) than in
// bytes, so every hop queues what it has to send to one peer and sends the queue at once: runs of
// small messages as one batch, large ones on their own (with their original signature when they
// have one, so bulk data is never signed twice).
//
// A batch is two frames: [batch header] [data]. The data frame holds every member's frames
// (its header, body and out-of-band frames) one after the other, each at an 8-byte aligned
// offset; the receiver takes them as views of that one frame, so a batch of a thousand tasks
// costs one allocation, not thousands. The batch header (little-endian): u8 MsgKind::batch,
// u8 version, u32 member count, then per member a u32 frame count and a u32 length per frame.

#include <cstdint>
#include <span>
#include <vector>

#include "common/internal_api.hpp"
#include "crew/buffer.hpp"
#include "protocol/payload.hpp"

namespace crew::wire {

/// A message whose frames add up to more than this travels alone, never in a batch.
inline constexpr std::size_t batch_member_limit = 64 * 1024;
/// A batch holds at most this many members and about this many bytes.
inline constexpr std::size_t batch_max_members = 4096;
inline constexpr std::size_t batch_max_bytes = 1024 * 1024;

/// One message ready to send: header, payload and, if it arrived signed and is forwarded
/// unchanged, its signature (empty: sign when sending).
struct CREW_INTERNAL_API Frames {
  Buffer header_bytes;
  Payload payload;
  Buffer signature;
};

/// True if `header_bytes` is a batch header rather than a message header.
CREW_INTERNAL_API bool is_batch(const Buffer& header_bytes) noexcept;

/// The members of a batch (`header_bytes` its batch header, `payload` its data frame), or the
/// message itself if it is not a batch. Throws ProtocolError [crew.protocol.malformed] if the
/// lengths do not add up. Members are views of the data frame (no copies).
CREW_INTERNAL_API std::vector<Frames> split_batch(Buffer header_bytes, Payload payload);

/// Messages queued for one peer, in order.
class CREW_INTERNAL_API Batcher {
public:
  void add(Buffer header_bytes, Payload payload, Buffer signature = {});
  void add(const Buffer& header_bytes, std::span<const Buffer> payload, const Buffer& signature = {});
  bool empty() const noexcept { return queued_.empty(); }
  std::size_t size() const noexcept { return queued_.size(); }
  /// The queue as units to send, in order: each run of small messages as one batch (a run of
  /// one stays a plain message), each large message alone. Leaves the queue empty.
  std::vector<Frames> take();
  void clear() noexcept { queued_.clear(); }

private:
  std::vector<Frames> queued_;
};

}  // namespace crew::wire
