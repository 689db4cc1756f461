#pragma once
// The frames of one crew message after its header: the body, then its out-of-band frames.
//
// Nearly every message carries only its body, so one frame lives inside the list: a task's
// frames cost no allocation of their own at any hop (client, controller, bridge, rank), where a
// std::vector cost one per message per hop.

#include <span>

#include <boost/container/small_vector.hpp>

#include "crew/buffer.hpp"

namespace crew::wire {

class Payload : public boost::container::small_vector<Buffer, 1> {
public:
  using small_vector::small_vector;
  Payload() noexcept = default;
  Payload(const Payload&) = default;
  Payload& operator=(const Payload&) = default;
  /// A move takes the other's frames (moving each kept inside, taking the room of those outside)
  /// and allocates nothing, so it is declared so: vectors of messages then move them when they
  /// grow, where they copied them (small_vector does not say it cannot throw).
  Payload(Payload&& other) noexcept : small_vector(std::move(other)) {}
  Payload& operator=(Payload&& other) noexcept {
    small_vector::operator=(std::move(other));
    return *this;
  }
  /// The frames as the functions that read them take them.
  operator std::span<const Buffer>() const noexcept { return {data(), size()}; }
};

}  // namespace crew::wire
