// One world's gather of an array larger than a chunk, streamed back (protocol/stream.hpp): the
// root sends the answer with the joined array described, then the array in chunks, in engine
// order: its own part as views of its value, the other ranks' parts received piece by piece into
// buffers that ZeroMQ gives back once sent. At most `window` such buffers are out at once, so the
// root's memory for the transfer is a few chunks, used again and again.
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "engine/collective_call.hpp"
#include "engine/mpi_check.hpp"
#include "engine/mpi_wait.hpp"
#include "protocol/stream.hpp"

namespace crew::detail {
namespace {

constexpr int tag_gather = 7302;
constexpr int window = 8;

/// A buffer of `n` bytes that counts itself in `out` while it lives.
Buffer counted_buffer(std::size_t n, const std::shared_ptr<std::atomic<int>>& out, std::byte*& data) {
  data = new std::byte[n];
  ++*out;
  std::shared_ptr<std::byte> owner(data, [out](std::byte* p) {
    delete[] p;
    --*out;
  });
  return Buffer::view(std::move(owner), data, n);
}

}  // namespace

std::optional<wire::Outgoing> Collectives::gather_streamed(Call& call, const collective::Verdict& v,
                                                           const std::vector<collective::Holding>& held,
                                                           const std::string& name) {
  const auto& bytes = v.info.bytes;
  const std::size_t chunk = wire::stream_chunk_bytes();
  const std::uint64_t mine = bytes[static_cast<std::size_t>(call.me)];
  if (!call.root()) {
    if (mine == 0) return std::nullopt;
    const Buffer& data = ns_.find(name)->as_array().data();
    std::vector<MPI_Request> requests;
    for (std::uint64_t at = 0; at < mine; at += chunk) {
      requests.emplace_back();
      CREW_MPI_CHECK(MPI_Isend, (data.data() + at, static_cast<int>(std::min<std::uint64_t>(chunk, mine - at)),
                                 MPI_BYTE, 0, tag_gather, call.comm, &requests.back()));
    }
    wait_napping(requests);
    return std::nullopt;
  }

  wire::StreamSpec spec;
  for (const auto n : bytes) spec.bytes += n;
  auto [type, shape] = collective::joined_shape(call, held);
  spec.dtype = static_cast<std::uint8_t>(type);
  spec.shape = std::move(shape);
  sink_(collective::world_reply(call, v, Value(), spec));

  const std::string& stream = call.task->msg_ids.front();
  auto out = std::make_shared<std::atomic<int>>(0);
  std::uint64_t offset = 0;
  for (int p = 0; p < call.participants(); ++p) {
    const std::uint64_t n = bytes[static_cast<std::size_t>(p)];
    if (n == 0) continue;
    if (p == 0) {
      const Buffer& own = ns_.find(name)->as_array().data();
      for (std::uint64_t at = 0; at < n; at += chunk)
        sink_(wire::make_chunk(stream, spec.bytes, offset + at, own.slice(at, std::min<std::uint64_t>(chunk, n - at))));
    } else {
      for (std::uint64_t at = 0; at < n; at += chunk) {
        while (out->load() >= window) std::this_thread::sleep_for(std::chrono::microseconds(50));
        const auto length = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, n - at));
        std::byte* data = nullptr;
        Buffer piece = counted_buffer(length, out, data);
        std::vector<MPI_Request> request(1);
        CREW_MPI_CHECK(MPI_Irecv, (data, static_cast<int>(length), MPI_BYTE, p, tag_gather, call.comm, &request[0]));
        wait_napping(request);
        sink_(wire::make_chunk(stream, spec.bytes, offset + at, std::move(piece)));
      }
    }
    offset += n;
  }
  return std::nullopt;
}

}  // namespace crew::detail
