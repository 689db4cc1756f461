#pragma once
// CurveZMQ on crew's sockets: key pairs, and what a socket needs to be a CURVE server (the
// controller's two ROUTERs) or client (a client's DEALER, a bridge's two). Keys are Z85 text,
// 40 characters, as libzmq's own tools print them and as the profile's files keep them.
//
// CURVE encrypts and authenticates each connection; crew's HMAC signature stays on every message
// on top of it (a message is checked the same way whatever carried it).

#include <string>
#include <string_view>

#include "common/internal_api.hpp"

namespace crew::transport {

struct CREW_INTERNAL_API CurveKeyPair {
  std::string public_key;  ///< Z85, 40 characters
  std::string secret_key;
};

/// A fresh key pair from libsodium (through libzmq).
CREW_INTERNAL_API CurveKeyPair new_curve_key_pair();
/// The public key of a secret key; throws InputError [crew.input.bad_profile] if it is no key.
CREW_INTERNAL_API std::string curve_public_key_of(const std::string& secret_key);
/// Whether `text` is a Z85-encoded 32-byte key (40 characters of Z85's alphabet).
CREW_INTERNAL_API bool is_curve_key(std::string_view text);
/// The first characters of a public key, enough for a person to tell keys apart.
CREW_INTERNAL_API std::string key_fingerprint(std::string_view public_key);

/// What a connecting socket presents: its own pair and the server's public key.
struct CREW_INTERNAL_API CurveClient {
  CurveKeyPair own;
  std::string server_key;
  bool on() const { return !server_key.empty(); }
};

/// What a binding socket needs: its secret key and the ZAP domain its peers are checked in.
struct CREW_INTERNAL_API CurveServer {
  std::string secret_key;
  std::string domain;  ///< "clients" or "worlds": which keys the ZAP handler admits there
  bool on() const { return !secret_key.empty(); }
};

}  // namespace crew::transport
