// Waiting from Python without the GIL, in slices that let Ctrl-C through.
#include "py_waiting.hpp"

#include <algorithm>
#include <cmath>

namespace crew::python {

namespace {
constexpr std::chrono::milliseconds slice{100};
}

std::chrono::milliseconds to_timeout(std::optional<double> seconds) {
  if (!seconds || *seconds < 0 || std::isinf(*seconds)) return std::chrono::milliseconds(-1);
  if (std::isnan(*seconds)) throw py::value_error("timeout is NaN: give seconds, or None to wait without limit");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(*seconds * 1000.0)));
}

bool wait_interruptibly(const std::function<bool(std::chrono::milliseconds)>& wait_slice,
                        std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  const bool forever = timeout < std::chrono::milliseconds::zero();
  const auto deadline = clock::now() + (forever ? std::chrono::milliseconds::zero() : timeout);
  for (;;) {
    std::chrono::milliseconds wait = slice;
    if (!forever)
      wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()),
                        std::chrono::milliseconds::zero(), slice);
    if (without_gil([&] { return wait_slice(wait); })) return true;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (!forever && clock::now() >= deadline) return false;
  }
}

}  // namespace crew::python
