#pragma once
// crew's C++ exceptions as the Python exceptions of crew/errors.py: the same names (crew.Error,
// crew.RemoteError, crew.CompositeError, ...), the message with its [crew.<family>.<name>] code,
// and the fields (code, engine_id, remote_type, ...) as attributes.

#include <pybind11/pybind11.h>

namespace crew::python {

/// Installs the translator: from then on a crew::Error leaving a bound function raises its
/// Python counterpart.
void register_error_translator();

}  // namespace crew::python
