// CurveZMQ keys (transport/curve.hpp).
#include "transport/curve.hpp"

#include <zmq.h>

#include "crew/error.hpp"

namespace crew::transport {

namespace {
constexpr std::size_t z85_key_length = 40;
constexpr std::string_view z85_alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
}  // namespace

CurveKeyPair new_curve_key_pair() {
  char public_key[z85_key_length + 1] = {};
  char secret_key[z85_key_length + 1] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0)
    throw_error(errc::internal, std::string("cannot make a CURVE key pair: ") + zmq_strerror(zmq_errno()) +
                                    " (libzmq built without libsodium?)");
  return {public_key, secret_key};
}

std::string curve_public_key_of(const std::string& secret_key) {
  char public_key[z85_key_length + 1] = {};
  if (!is_curve_key(secret_key) || zmq_curve_public(public_key, secret_key.c_str()) != 0)
    throw_error(errc::bad_profile, "a CURVE secret key must be 40 characters of Z85 text");
  return public_key;
}

bool is_curve_key(std::string_view text) {
  return text.size() == z85_key_length && text.find_first_not_of(z85_alphabet) == std::string_view::npos;
}

std::string key_fingerprint(std::string_view public_key) { return std::string(public_key.substr(0, 8)); }

}  // namespace crew::transport
