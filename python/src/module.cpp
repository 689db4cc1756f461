// crew._crew: the C++ client library as a Python extension module. The package crew (python/crew)
// re-exports it with the pure-Python parts.
#include <pybind11/pybind11.h>

#include <crew/version.hpp>

#include "module.hpp"
#include "py_errors.hpp"
#include "py_results.hpp"
#include "py_values.hpp"
#include "py_views.hpp"

PYBIND11_MODULE(_crew, m) {
  m.doc() = "crew's C++ client, bound with pybind11 (import crew, not this module)";
  m.attr("__version__") = crew::version_string;
  crew::python::register_error_translator();
  crew::python::bind_values(m);
  crew::python::bind_views(m);  // before the results: Dependency
  crew::python::bind_results(m);
  crew::python::bind_client(m);
}
