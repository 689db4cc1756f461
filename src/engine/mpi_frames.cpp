// crew messages over MPI.
#include "engine/mpi_frames.hpp"

#include <climits>
#include <cstring>
#include <memory>

#include "crew/error.hpp"
#include "engine/mpi_check.hpp"

namespace crew::detail::mpi_frames {
namespace {

constexpr std::size_t max_chunk = std::size_t{1} << 30;

struct FrameInfo {
  std::uint64_t size;
  std::uint8_t inline_data;
};

/// [u32 count] [count x (u64 size, u8 inline)] [inline bytes...]
Buffer make_envelope(const Buffer& header, std::span<const Buffer> payload) {
  const std::uint32_t count = static_cast<std::uint32_t>(payload.size() + 1);
  std::size_t total = 4 + count * 9;
  auto frame = [&](std::size_t i) -> const Buffer& { return i == 0 ? header : payload[i - 1]; };
  for (std::size_t i = 0; i < count; ++i)
    if (frame(i).size() < inline_limit) total += frame(i).size();
  std::vector<std::byte> out(total);
  std::byte* p = out.data();
  std::memcpy(p, &count, 4);
  p += 4;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t size = frame(i).size();
    const std::uint8_t inl = size < inline_limit ? 1 : 0;
    std::memcpy(p, &size, 8);
    std::memcpy(p + 8, &inl, 1);
    p += 9;
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (frame(i).size() < inline_limit && !frame(i).empty()) {
      std::memcpy(p, frame(i).data(), frame(i).size());
      p += frame(i).size();
    }
  }
  return Buffer::adopt(std::move(out));
}

[[noreturn]] void malformed(const std::string& why) { throw_error(errc::malformed, "bad MPI envelope: " + why); }

}  // namespace

void send(MPI_Comm comm, int dest, const Buffer& header, std::span<const Buffer> payload) {
  const Buffer envelope = make_envelope(header, payload);
  CREW_MPI_CHECK(MPI_Send, (envelope.data(), static_cast<int>(envelope.size()), MPI_BYTE, dest, tag_envelope, comm));
  auto send_outside = [&](const Buffer& b) {
    if (b.size() < inline_limit) return;
    for (std::size_t off = 0; off < b.size(); off += max_chunk) {
      const std::size_t n = std::min(max_chunk, b.size() - off);
      CREW_MPI_CHECK(MPI_Send, (b.data() + off, static_cast<int>(n), MPI_BYTE, dest, tag_data, comm));
    }
  };
  // Every frame above the limit follows the envelope, the header too (a reply carrying a task's
  // long output has a header that large).
  send_outside(header);
  for (const Buffer& b : payload) send_outside(b);
}

void SendQueue::post(MPI_Comm comm, int dest, int tag, const Buffer& buffer) {
  MPI_Request req = MPI_REQUEST_NULL;
  CREW_MPI_CHECK(MPI_Isend, (buffer.data(), static_cast<int>(buffer.size()), MPI_BYTE, dest, tag, comm, &req));
  requests_.push_back(req);
  keep_.push_back(buffer);
}

void SendQueue::send(MPI_Comm comm, int dest, const Buffer& header, std::span<const Buffer> payload) {
  post(comm, dest, tag_envelope, make_envelope(header, payload));
  auto post_outside = [&](const Buffer& b) {
    if (b.size() < inline_limit) return;
    for (std::size_t off = 0; off < b.size(); off += max_chunk)
      post(comm, dest, tag_data, b.slice(off, std::min(max_chunk, b.size() - off)));
  };
  post_outside(header);  // (as send() says)
  for (const Buffer& b : payload) post_outside(b);
}

void SendQueue::progress() {
  if (requests_.empty()) return;
  std::vector<int> done(requests_.size());
  int count = 0;
  CREW_MPI_CHECK(MPI_Testsome,
                 (static_cast<int>(requests_.size()), requests_.data(), &count, done.data(), MPI_STATUSES_IGNORE));
  if (count <= 0) return;
  std::size_t keep = 0;
  for (std::size_t i = 0; i < requests_.size(); ++i) {
    if (requests_[i] == MPI_REQUEST_NULL) continue;  // completed ones were set to null
    requests_[keep] = requests_[i];
    keep_[keep] = std::move(keep_[i]);
    ++keep;
  }
  requests_.resize(keep);
  keep_.resize(keep);
}

void SendQueue::wait_all() {
  if (requests_.empty()) return;
  CREW_MPI_CHECK(MPI_Waitall, (static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE));
  requests_.clear();
  keep_.clear();
}

namespace {
Message receive_matched(MPI_Comm comm, MPI_Message handle, const MPI_Status& status);
}

std::optional<Message> try_recv(MPI_Comm comm, int source) {
  int flag = 0;
  MPI_Message handle = MPI_MESSAGE_NULL;
  MPI_Status status;
  CREW_MPI_CHECK(MPI_Improbe, (source, tag_envelope, comm, &flag, &handle, &status));
  if (!flag) return std::nullopt;
  return receive_matched(comm, handle, status);
}

Message recv(MPI_Comm comm, int source) {
  MPI_Message handle = MPI_MESSAGE_NULL;
  MPI_Status status;
  CREW_MPI_CHECK(MPI_Mprobe, (source, tag_envelope, comm, &handle, &status));
  return receive_matched(comm, handle, status);
}

namespace {

Message receive_matched(MPI_Comm comm, MPI_Message handle, const MPI_Status& status) {
  int bytes = 0;
  MPI_Get_count(&status, MPI_BYTE, &bytes);
  std::vector<std::byte> raw(static_cast<std::size_t>(bytes));
  CREW_MPI_CHECK(MPI_Mrecv, (raw.data(), bytes, MPI_BYTE, &handle, MPI_STATUS_IGNORE));
  const Buffer envelope = Buffer::adopt(std::move(raw));

  Message m;
  m.source = status.MPI_SOURCE;
  const std::byte* p = envelope.data();
  const std::size_t size = envelope.size();
  if (size < 4) malformed("shorter than its frame count");
  std::uint32_t count = 0;
  std::memcpy(&count, p, 4);
  if (count == 0 || 4 + std::size_t{count} * 9 > size) malformed("frame table does not fit");
  std::vector<FrameInfo> frames(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::memcpy(&frames[i].size, p + 4 + i * 9, 8);
    std::memcpy(&frames[i].inline_data, p + 4 + i * 9 + 8, 1);
  }
  std::size_t offset = 4 + std::size_t{count} * 9;
  wire::Payload all;
  all.reserve(count);
  for (const FrameInfo& f : frames) {
    if (f.inline_data) {
      if (f.size > size - offset) malformed("inline frame runs past the envelope");
      all.push_back(envelope.slice(offset, f.size));
      offset += f.size;
    } else {
      std::shared_ptr<std::byte[]> data(new std::byte[f.size]);  // left uninitialised: MPI fills it
      for (std::size_t off = 0; off < f.size; off += max_chunk) {
        const std::size_t n = std::min<std::size_t>(max_chunk, f.size - off);
        CREW_MPI_CHECK(MPI_Recv,
                       (data.get() + off, static_cast<int>(n), MPI_BYTE, m.source, tag_data, comm, MPI_STATUS_IGNORE));
      }
      all.push_back(Buffer::view(data, data.get(), f.size));
    }
  }
  m.header = std::move(all.front());
  m.payload.assign(std::make_move_iterator(all.begin() + 1), std::make_move_iterator(all.end()));
  return m;
}

}  // namespace

}  // namespace crew::detail::mpi_frames
