#pragma once
// Message bodies that are cereal structs (protocol/registration.hpp): the struct's bytes, in
// protocol/archive.hpp's encoding, are the message's one body frame. No field is looked up by a
// string key, so a field cannot be missing or of the wrong type without the read saying so.
//
// A body struct has `serialize` (its fields as cereal::make_nvp, so an error can name the one
// that went wrong) and may have `std::string problem() const`: what is wrong with fields that
// decoded but do not make sense together ("" when nothing is).

#include <string>
#include <vector>

#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "protocol/archive.hpp"
#include "protocol/wire.hpp"

namespace crew::wire {

/// The bytes of a typed body: what its one body frame holds.
template <class Body>
std::vector<std::byte> typed_bytes(const Body& body) {
  std::vector<std::byte> bytes;
  Writer out(bytes);
  out(body);
  return bytes;
}

/// A message whose body is `body`'s bytes.
template <class Body>
Outgoing make_typed_message(const Header& h, const Body& body) {
  Outgoing m;
  m.header_bytes = encode_header(h);
  m.payload.push_back(Buffer::adopt(typed_bytes(body)));
  return m;
}

/// The body of `p` as a `Body`. Throws ProtocolError [crew.protocol.malformed] naming the kind,
/// and the field, that is wrong: a body that ends early, has bytes after its last field, comes
/// with frames a typed body never has, or whose fields do not make sense (Body::problem).
inline constexpr std::string_view typed_body_hint =
    "a crew of another version may send other fields: run the same crew version on both sides";

template <class Body>
Body read_typed_body(const Packet& p) {
  const std::string what = std::string(kind_name(p.header.kind)) + " body";
  if (p.payload.size() != 1)
    throw_error(errc::malformed,
                what + " came in " + std::to_string(p.payload.size()) + " frames; it is one frame of fields");
  Body body;
  Reader in(p.payload.front().bytes());
  try {
    in(body);
  } catch (const Error& e) {
    const std::string field = in.field_path();
    throw_error(errc::malformed, what + (field.empty() ? "" : ", field " + field) + ": " + e.message(),
                typed_body_hint);
  } catch (const cereal::Exception& e) {
    throw_error(errc::malformed, what + ", field " + in.field_path() + ": " + e.what());
  }
  if (in.remaining() != 0)
    throw_error(errc::malformed,
                what + " has " + std::to_string(in.remaining()) +
                    (in.remaining() == 1 ? " stray byte" : " stray bytes") + " after its last field",
                typed_body_hint);
  if constexpr (requires { body.problem(); }) {
    if (const std::string problem = body.problem(); !problem.empty())
      throw_error(errc::malformed, what + ": " + problem);
  }
  return body;
}

}  // namespace crew::wire
