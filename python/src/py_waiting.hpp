#pragma once
// Waiting from Python: without the GIL (other Python threads run meanwhile), in slices, so that
// Ctrl-C (KeyboardInterrupt) ends a wait in a terminal or a notebook within a tenth of a second;
// the work goes on.

#include <pybind11/pybind11.h>

#include <chrono>
#include <functional>
#include <optional>

namespace crew::python {

namespace py = pybind11;

/// A Python timeout in seconds (None or a negative number: no limit) as crew's.
std::chrono::milliseconds to_timeout(std::optional<double> seconds);

/// Calls `wait_slice(t)` (true once done; waits at most t) without the GIL until it is done or
/// `timeout` passed; between slices, runs Python's signal handlers (a KeyboardInterrupt leaves
/// as py::error_already_set). True if done.
bool wait_interruptibly(const std::function<bool(std::chrono::milliseconds)>& wait_slice,
                        std::chrono::milliseconds timeout);

/// `call()` without the GIL (it may wait for crew's I/O thread).
template <class F>
auto without_gil(F&& call) {
  py::gil_scoped_release released;
  return call();
}

}  // namespace crew::python
