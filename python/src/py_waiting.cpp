// Waiting from Python without the GIL, in slices that let Ctrl-C through.
#include "py_waiting.hpp"

#include <algorithm>
#include <cmath>

#include <crew/error.hpp>

namespace crew::python {

namespace {
constexpr std::chrono::milliseconds slice{100};
}

std::chrono::milliseconds to_timeout(std::optional<double> seconds) {
  if (seconds && std::isnan(*seconds))
    throw_error(errc::bad_option, "a timeout of NaN seconds", "give seconds, or None to wait without limit");
  // Beyond three years is no limit: the steady clock's deadline could not hold it.
  if (!seconds || *seconds < 0 || *seconds > 1e8) return std::chrono::milliseconds(-1);
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
      wait = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()),
                        std::chrono::milliseconds::zero(), slice);
    if (without_gil([&] { return wait_slice(wait); })) return true;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (!forever && clock::now() >= deadline) return false;
  }
}

}  // namespace crew::python
