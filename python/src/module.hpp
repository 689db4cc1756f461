#pragma once
// The binders of crew's Python module (module.cpp calls them in order: each may use the classes
// the ones before it registered).

#include <pybind11/pybind11.h>

namespace crew::python {

namespace py = pybind11;

void bind_client(py::module_& m);

}  // namespace crew::python
