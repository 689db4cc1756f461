// Batches of crew messages.
#include "protocol/batch.hpp"

#include <cstring>
#include <string>

#include "crew/error.hpp"
#include "protocol/header.hpp"

namespace crew::wire {
namespace {

constexpr std::uint8_t batch_version = 2;
constexpr std::size_t fixed_bytes = 6;  // kind, version, u32 count
constexpr std::size_t alignment = 8;

std::size_t frames_bytes(const Frames& m) {
  std::size_t n = m.header_bytes.size();
  for (const auto& b : m.payload) n += b.size();
  return n;
}

std::size_t aligned(std::size_t n) { return (n + alignment - 1) / alignment * alignment; }

void put_u32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

std::uint32_t get_u32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
  return v;
}

[[noreturn]] void malformed(const std::string& why) { throw_error(errc::malformed, "bad batch: " + why); }

/// One batch of queued[begin, end): the batch header, and every member's frames copied into one
/// data frame.
Frames make_batch(const std::vector<Frames>& queued, std::size_t begin, std::size_t end) {
  std::size_t head_bytes = fixed_bytes, data_bytes = 0;
  for (std::size_t i = begin; i < end; ++i) {
    head_bytes += 4 + 4 * (1 + queued[i].payload.size());
    data_bytes += aligned(queued[i].header_bytes.size());
    for (const auto& f : queued[i].payload) data_bytes += aligned(f.size());
  }
  std::vector<std::byte> head(head_bytes);
  std::vector<std::byte> data(data_bytes);
  head[0] = static_cast<std::byte>(MsgKind::batch);
  head[1] = static_cast<std::byte>(batch_version);
  put_u32(head.data() + 2, static_cast<std::uint32_t>(end - begin));
  std::byte* h = head.data() + fixed_bytes;
  std::byte* d = data.data();
  auto put_frame = [&](const Buffer& f) {
    put_u32(h, static_cast<std::uint32_t>(f.size()));
    h += 4;
    if (!f.empty()) std::memcpy(d, f.data(), f.size());
    d += aligned(f.size());
  };
  for (std::size_t i = begin; i < end; ++i) {
    put_u32(h, static_cast<std::uint32_t>(1 + queued[i].payload.size()));
    h += 4;
    put_frame(queued[i].header_bytes);
    for (const auto& f : queued[i].payload) put_frame(f);
  }
  Frames batch;
  batch.header_bytes = Buffer::adopt(std::move(head));
  batch.payload.push_back(Buffer::adopt(std::move(data)));
  return batch;
}

}  // namespace

bool is_batch(const Buffer& header_bytes) noexcept {
  return !header_bytes.empty() && header_bytes.data()[0] == static_cast<std::byte>(MsgKind::batch);
}

std::vector<Frames> split_batch(Buffer header_bytes, Payload payload) {
  std::vector<Frames> out;
  if (!is_batch(header_bytes)) {
    out.push_back({std::move(header_bytes), std::move(payload), {}});
    return out;
  }
  const std::byte* p = header_bytes.data();
  const std::size_t size = header_bytes.size();
  if (size < fixed_bytes) malformed("header shorter than its member count");
  if (std::to_integer<std::uint8_t>(p[1]) != batch_version)
    malformed("version " + std::to_string(std::to_integer<int>(p[1])) + " (this is crew's version " +
              std::to_string(batch_version) + ")");
  if (payload.size() != 1) malformed(std::to_string(payload.size()) + " frames after its header, not 1");
  const Buffer& data = payload.front();
  const std::uint32_t count = get_u32(p + 2);
  if (count == 0 || count > batch_max_members * 16) malformed(std::to_string(count) + " members");
  out.reserve(count);
  std::size_t at = fixed_bytes, offset = 0;
  auto next_u32 = [&](const char* what) {
    if (at + 4 > size) malformed(std::string("header ends inside a ") + what);
    const std::uint32_t v = get_u32(p + at);
    at += 4;
    return v;
  };
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t frames = next_u32("frame count");
    if (frames == 0) malformed("member " + std::to_string(i) + " has no header frame");
    Frames m;
    m.payload.reserve(frames - 1);
    for (std::uint32_t k = 0; k < frames; ++k) {
      const std::size_t length = next_u32("frame length");
      if (length > data.size() - std::min(offset, data.size()))
        malformed("member " + std::to_string(i) + " runs past the end of the data");
      Buffer frame = data.slice(offset, length);
      offset = std::min(data.size(), offset + aligned(length));
      if (k == 0)
        m.header_bytes = std::move(frame);
      else
        m.payload.push_back(std::move(frame));
    }
    if (is_batch(m.header_bytes)) malformed("a batch inside a batch");
    out.push_back(std::move(m));
  }
  if (at != size) malformed(std::to_string(size - at) + " stray bytes after " + std::to_string(count) + " members");
  if (offset != data.size()) malformed(std::to_string(data.size() - offset) + " bytes of data left over");
  return out;
}

void Batcher::add(Buffer header_bytes, Payload payload, Buffer signature) {
  queued_.push_back({std::move(header_bytes), std::move(payload), std::move(signature)});
}

void Batcher::add(const Buffer& header_bytes, std::span<const Buffer> payload, const Buffer& signature) {
  queued_.push_back({header_bytes, Payload(payload.begin(), payload.end()), signature});
}

std::vector<Frames> Batcher::take() {
  std::vector<Frames> out;
  std::size_t run_begin = 0, run_bytes = 0;
  auto close_run = [&](std::size_t end) {
    if (end - run_begin == 1)
      out.push_back(std::move(queued_[run_begin]));
    else if (end > run_begin)
      out.push_back(make_batch(queued_, run_begin, end));
    run_begin = end;
    run_bytes = 0;
  };
  for (std::size_t i = 0; i < queued_.size(); ++i) {
    const std::size_t bytes = frames_bytes(queued_[i]);
    if (bytes > batch_member_limit) {
      close_run(i);
      out.push_back(std::move(queued_[i]));
      run_begin = i + 1;
      continue;
    }
    if (i - run_begin >= batch_max_members || run_bytes + bytes > batch_max_bytes) close_run(i);
    run_bytes += bytes;
  }
  close_run(queued_.size());
  // The queue's room goes too: kept, every client that ever had a burst (most of them gone)
  // would hold its room for the rest of the run (25 KB each for 256 replies).
  std::vector<Frames>().swap(queued_);
  return out;
}

}  // namespace crew::wire
