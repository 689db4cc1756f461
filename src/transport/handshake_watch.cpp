// HandshakeWatch (transport/handshake_watch.hpp).
#include "transport/handshake_watch.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace crew::transport {

namespace {
std::string next_monitor_address() {
  static std::atomic<unsigned> next{0};
  return fmt::format("inproc://crew-handshake-watch-{}", next.fetch_add(1));
}

constexpr int watched_events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
}  // namespace

std::string HandshakeFailure::reason() const {
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    return fmt::format("the controller refused this key (ZAP status {})", value);
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
    return fmt::format("the controller closed the connection during the handshake, {} times in a row: its security "
                       "(CURVE or plaintext) is not this connection file's",
                       value);
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
      return "the two sides do not agree on encryption: one uses CURVE, the other plaintext";
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC || value == ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA)
      return "the CURVE handshake failed: the connection file's server key is not the controller's";
    return fmt::format("the handshake broke a rule of ZMTP (protocol error 0x{:x})", value);
  }
  return "the handshake failed";
}

bool HandshakeFailure::refused_key() const { return event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH; }

HandshakeWatch::HandshakeWatch(zmq::context_t& context, Endpoint& socket)
    : socket_(socket), events_(context, zmq::socket_type::pair) {
  const std::string address = next_monitor_address();
  socket_.monitor(address, watched_events);
  events_.connect(address);
}

HandshakeWatch::~HandshakeWatch() {
  try {
    socket_.monitor("", 0);
  } catch (const zmq::error_t&) {
  }
}

std::optional<HandshakeFailure> HandshakeWatch::first_outcome(std::chrono::steady_clock::time_point until,
                                                              int closed_limit) {
  int closed = 0;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    zmq::pollitem_t item{events_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, left) == 0) return std::nullopt;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;  // a signal (Ctrl-C in crew shell): its handler decides
      throw;
    }
    // An event is two frames: 16-bit event id and 32-bit value, then the peer's address.
    zmq::message_t head, address;
    if (!events_.recv(head, zmq::recv_flags::dontwait)) continue;
    if (head.more()) (void)events_.recv(address);
    if (head.size() < 6) continue;
    std::uint16_t event = 0;
    std::uint32_t value = 0;
    std::memcpy(&event, head.data(), 2);
    std::memcpy(&value, static_cast<const char*>(head.data()) + 2, 4);
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) return std::nullopt;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
      if (closed_limit <= 0 || ++closed < closed_limit) continue;
      return HandshakeFailure{event, closed};
    }
    return HandshakeFailure{event, static_cast<int>(value)};
  }
}

}  // namespace crew::transport
