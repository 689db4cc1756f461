#pragma once
// Wire encoding of crew::Value.
//
// A value becomes one "body" frame plus zero or more out-of-band frames: bytes and array buffers
// of at least `out_of_band_threshold` bytes are never copied into the body; they travel as their
// own frames (zero-copy through ZeroMQ) and come back as Buffers viewing the received frames.

#include <span>
#include <vector>

#include "common/internal_api.hpp"
#include "crew/value.hpp"
#include "protocol/payload.hpp"

namespace crew::wire {

inline constexpr std::size_t out_of_band_threshold = 32 * 1024;
/// Out-of-band buffers larger than this travel as several frames of this size: ZeroMQ moves
/// 1-4 MiB messages several times faster than one huge one, and no hop needs one huge allocation.
inline constexpr std::size_t frame_chunk_bytes = 4 * 1024 * 1024;
inline constexpr int max_nesting = 200;

/// Appends the body frame, then the out-of-band frames, to `frames`.
CREW_INTERNAL_API void encode_value(const Value& v, Payload& frames, std::size_t threshold = out_of_band_threshold);

/// The body's bytes appended to `body`, its out-of-band frames to `frames` (numbered from
/// `body_index`, the place the caller keeps for the body frame). For callers that pack the body
/// with other bytes into one buffer.
CREW_INTERNAL_API void encode_value_into(const Value& v, std::vector<std::byte>& body, Payload& frames,
                                         std::size_t body_index, std::size_t threshold = out_of_band_threshold);

/// Decodes frames[0] (the body) with frames[1..] as its out-of-band buffers. A buffer that came
/// as one frame is a zero-copy view of it; one that came in chunks is joined (one copy).
/// Throws ProtocolError [crew.protocol.malformed] on anything that does not decode.
CREW_INTERNAL_API Value decode_value(std::span<const Buffer> frames);

/// Decodes only the body frame: every buffer that travels out of band (large arrays, bytes,
/// objects) becomes null. For a hop that needs the small arguments around bulk data (the
/// bridge stripping a scatter's data for ranks that do not need it) without touching the data.
CREW_INTERNAL_API Value decode_value_skeleton(const Buffer& body);

}  // namespace crew::wire
