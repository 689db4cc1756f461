#pragma once
// From an array's runtime dtype to its C++ element type: with_element_type(t, f) calls f(T{}).

#include <cstdint>

#include "crew/value.hpp"

namespace crew {

/// Calls f(T{}) with the C++ element type of `t`, and returns what it returns.
template <class F>
decltype(auto) with_element_type(dtype t, F&& f) {
  switch (t) {
  case dtype::int8: return f(std::int8_t{});
  case dtype::int16: return f(std::int16_t{});
  case dtype::int32: return f(std::int32_t{});
  case dtype::int64: return f(std::int64_t{});
  case dtype::uint8: return f(std::uint8_t{});
  case dtype::uint16: return f(std::uint16_t{});
  case dtype::uint32: return f(std::uint32_t{});
  case dtype::uint64: return f(std::uint64_t{});
  case dtype::float32: return f(float{});
  case dtype::float64: return f(double{});
  }
  return f(double{});
}

}  // namespace crew
