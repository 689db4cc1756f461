// crew messages: made and taken apart (the ZeroMQ side is transport/zmq_frames.cpp).
#include "protocol/wire.hpp"

#include <cstring>
#include <memory>

#include "protocol/scratch.hpp"
#include "protocol/value_codec.hpp"

namespace crew::wire {

Value Packet::body() const { return decode_value(payload); }

// Header and body share one heap block (the body 8-byte aligned after the header): a message
// costs two allocations, that block and the frame list.
Outgoing make_message(const Header& h, const Value& body) {
  Outgoing m;
  ScratchBytes head, bytes;
  encode_header_into(h, *head);
  m.payload.emplace_back();
  encode_value_into(body, *bytes, m.payload, 0);
  const std::size_t at = (head->size() + 7) & ~std::size_t{7};
  auto block = std::make_shared_for_overwrite<std::byte[]>(at + bytes->size());
  std::memcpy(block.get(), head->data(), head->size());
  if (!bytes->empty()) std::memcpy(block.get() + at, bytes->data(), bytes->size());
  std::byte* base = block.get();
  m.header_bytes = Buffer::view(block, base, head->size());
  m.payload.front() = Buffer::view(std::move(block), base + at, bytes->size());
  return m;
}

std::vector<Packet> unpack(Buffer header_bytes, Payload payload) {
  std::vector<Frames> members = split_batch(std::move(header_bytes), std::move(payload));
  std::vector<Packet> out;
  out.reserve(members.size());
  for (auto& m : members) {
    Packet p;
    p.header = decode_header(m.header_bytes.bytes());
    p.header_bytes = std::move(m.header_bytes);
    p.payload = std::move(m.payload);
    out.push_back(std::move(p));
  }
  return out;
}

Buffer signature_of(const Buffer& header_bytes, std::span<const Buffer> payload, Signer& signer) {
  signer.begin();
  signer.add(header_bytes.bytes());
  for (const auto& b : payload) signer.add(b.bytes());
  const Signer::Signature sig = signer.finish();
  return Buffer::copy(sig.data(), sig.size());
}

bool is_signature(const Buffer& signature) noexcept {
  return signature.size() == Signer::signature_size || signature.size() == Signer::bulk_signature_size;
}

}  // namespace crew::wire
