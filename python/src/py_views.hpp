#pragma once
// crew.DirectView and crew.LoadBalancedView: Python's handles of crew's views, with
// ipyparallel's names and its `block` flag (False: calls return AsyncResults; True: results).

#include <pybind11/pybind11.h>

#include <crew/load_balanced_view.hpp>
#include <crew/view.hpp>

namespace crew::python {

namespace py = pybind11;

struct PyDirectView {
  DirectView view;
  bool single = false;  ///< rc[3]: results are one value, targets one id
  bool block = false;
};

struct PyLoadBalancedView {
  LoadBalancedView view;  ///< with the current flags (after, follow, timeout, retries, require)
  bool block = false;
};

void bind_views(py::module_& m);

}  // namespace crew::python
