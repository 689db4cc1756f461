#pragma once
// Python objects <-> crew::Value, both ways, and the Python classes of crew's value types
// (crew.Ref, crew.Object).
//
//   None, bool, int, float, str, bytes, list, tuple, dict, range  <->  crew::Value
//   a NumPy array of a numeric dtype  ->  an Array that views the array's memory (no copy;
//                                          the array is kept alive until crew is done with it)
//   an Array  ->  a read-only NumPy array that views the received buffer (no copy)
//
// Everything here needs the GIL.

#include <pybind11/pybind11.h>

#include <chrono>

#include <crew/value.hpp>

namespace crew::python {

namespace py = pybind11;

/// `object` as a Value; throws InputError [crew.input.value_type] naming what cannot be sent.
Value to_value(py::handle object);
/// Positional arguments as a Value::List.
Value::List to_value_list(const py::args& args);
/// `value` as a Python object.
py::object to_python(const Value& value);
/// The items of a sequence Value (a map's chunk): a 1-d array's elements as Python numbers, an
/// n-d array's rows as read-only arrays, a list's elements.
py::list items_of(const Value& sequence);

/// A time as an aware UTC datetime.datetime; None for the epoch (crew's "not yet").
py::object to_datetime(std::chrono::system_clock::time_point t);
/// A datetime.datetime (naive: local time) as a time point.
std::chrono::system_clock::time_point from_datetime(py::handle t);

void bind_values(py::module_& m);

}  // namespace crew::python
