// Batches of crew messages.
#include "protocol/batch.hpp"

#include <cstring>
#include <string>

#include "crew/error.hpp"
#include "protocol/header.hpp"

namespace crew::wire {
namespace {

constexpr std::uint8_t batch_version = 1;
constexpr std::size_t fixed_bytes = 6;  // kind, version, u32 count

std::size_t frames_bytes(const Frames& m) {
  std::size_t n = m.header_bytes.size();
  for (const auto& b : m.payload) n += b.size();
  return n;
}

void put_u32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

std::uint32_t get_u32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
  return v;
}

[[noreturn]] void malformed(const std::string& why) { throw ProtocolError(errc::malformed, "bad batch: " + why); }

/// One batch of queued[begin, end): the batch header and every member's frames in a row.
Frames make_batch(std::vector<Frames>& queued, std::size_t begin, std::size_t end) {
  const std::size_t count = end - begin;
  std::vector<std::byte> head(fixed_bytes + 4 * count);
  head[0] = static_cast<std::byte>(MsgKind::batch);
  head[1] = static_cast<std::byte>(batch_version);
  put_u32(head.data() + 2, static_cast<std::uint32_t>(count));
  Frames batch;
  std::size_t frames = 0;
  for (std::size_t i = begin; i < end; ++i) frames += 1 + queued[i].payload.size();
  batch.payload.reserve(frames);
  for (std::size_t i = begin; i < end; ++i) {
    put_u32(head.data() + fixed_bytes + 4 * (i - begin), static_cast<std::uint32_t>(queued[i].payload.size()));
    batch.payload.push_back(std::move(queued[i].header_bytes));
    for (auto& b : queued[i].payload) batch.payload.push_back(std::move(b));
  }
  batch.header_bytes = Buffer::adopt(std::move(head));
  return batch;
}

}  // namespace

bool is_batch(const Buffer& header_bytes) noexcept {
  return !header_bytes.empty() && header_bytes.data()[0] == static_cast<std::byte>(MsgKind::batch);
}

std::vector<Frames> split_batch(Buffer header_bytes, std::vector<Buffer> payload) {
  std::vector<Frames> out;
  if (!is_batch(header_bytes)) {
    out.push_back({std::move(header_bytes), std::move(payload), {}});
    return out;
  }
  const std::byte* p = header_bytes.data();
  if (header_bytes.size() < fixed_bytes) malformed("header shorter than its member count");
  if (std::to_integer<std::uint8_t>(p[1]) != batch_version)
    malformed("version " + std::to_string(std::to_integer<int>(p[1])));
  const std::uint32_t count = get_u32(p + 2);
  if (count == 0 || count > batch_max_members * 16) malformed(std::to_string(count) + " members");
  if (header_bytes.size() != fixed_bytes + 4 * std::size_t{count})
    malformed("header of " + std::to_string(header_bytes.size()) + " bytes for " + std::to_string(count) + " members");
  out.reserve(count);
  std::size_t next = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t n = get_u32(p + fixed_bytes + 4 * std::size_t{i});
    if (next >= payload.size() || n > payload.size() - next - 1)
      malformed("member " + std::to_string(i) + " runs past the last of " + std::to_string(payload.size()) + " frames");
    Frames m;
    m.header_bytes = std::move(payload[next]);
    if (is_batch(m.header_bytes)) malformed("a batch inside a batch");
    m.payload.assign(std::make_move_iterator(payload.begin() + static_cast<std::ptrdiff_t>(next + 1)),
                     std::make_move_iterator(payload.begin() + static_cast<std::ptrdiff_t>(next + 1 + n)));
    next += 1 + n;
    out.push_back(std::move(m));
  }
  if (next != payload.size())
    malformed(std::to_string(payload.size() - next) + " frames left over after " + std::to_string(count) + " members");
  return out;
}

void Batcher::add(Buffer header_bytes, std::vector<Buffer> payload, Buffer signature) {
  queued_.push_back({std::move(header_bytes), std::move(payload), std::move(signature)});
}

void Batcher::add(const Buffer& header_bytes, std::span<const Buffer> payload, const Buffer& signature) {
  queued_.push_back({header_bytes, std::vector<Buffer>(payload.begin(), payload.end()), signature});
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
  queued_.clear();
  return out;
}

}  // namespace crew::wire
