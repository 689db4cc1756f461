#pragma once
// Streams: a large array that travels after its request as a run of chunk messages, so that no
// hop holds it whole. The client sends the request with the array described (Header::stream)
// but not attached, then stream_chunk messages of stream_chunk_bytes() each, in order; the
// controller forwards each chunk as it comes (cut at world boundaries); rank 0 of each world
// hands each chunk on to the ranks it belongs to. A hop touches a few chunks' worth of memory,
// reused chunk after chunk, where it used to take in the whole array: on machines where new
// memory is slow to fault in, that is most of a transfer's time.
//
// scatter streams from the client to the engines. gather of one world streams back: rank 0 sends
// the answer with the joined array described (stream set, no data), then the chunks, received
// from the ranks into buffers used again chunk after chunk; the controller passes them to the
// client, which joins them into the array it returns.
//
// A chunk: header {kind stream_chunk, msg_ids {the stream's task msg id}, stream.bytes (the
// array's total for this hop), stream.offset}, and one frame of bytes (no body).

#include <cstdint>
#include <string>

#include "common/env.hpp"
#include "crew/buffer.hpp"
#include "protocol/header.hpp"
#include "protocol/wire.hpp"

namespace crew::wire {

/// How large a chunk is (4 MiB; CREW_STREAM_CHUNK_BYTES overrides it, from 1 KiB, for tests).
/// Arrays of more than one chunk stream.
inline std::size_t stream_chunk_bytes() {
  static const auto bytes = static_cast<std::size_t>(env_integer("CREW_STREAM_CHUNK_BYTES", 1024, 1LL << 30, 4 << 20));
  return bytes;
}

/// One chunk message: `data` (a view, not copied) at `offset` of a stream of `total` bytes.
inline Outgoing make_chunk(const std::string& stream, std::uint64_t total, std::uint64_t offset, Buffer data) {
  Header h;
  h.kind = MsgKind::stream_chunk;
  h.msg_ids = {stream};
  h.stream.bytes = total;
  h.stream.offset = offset;
  Outgoing m;
  m.header_bytes = encode_header(h);
  m.payload.push_back(std::move(data));
  return m;
}

}  // namespace crew::wire
