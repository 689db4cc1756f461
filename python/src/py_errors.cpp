// crew::Error -> crew.errors.*
#include "py_errors.hpp"

#include <exception>
#include <string>

#include <crew/error.hpp>

namespace crew::python {
namespace {

namespace py = pybind11;

py::object python_error(const Error& e);

void set_remote_fields(py::object& out, const RemoteError& e) {
  out.attr("engine_id") = e.engine_id();
  out.attr("remote_type") = e.type();
  out.attr("remote_message") = e.remote_message();
  out.attr("context") = e.context();
}

/// The Python exception for `e`: the class crew/error.hpp's table names for its code.
py::object python_error(const Error& e) {
  const py::module_ errors = py::module_::import("crew.errors");
  const auto* composite = dynamic_cast<const CompositeError*>(&e);
  const std::string name = composite != nullptr ? "CompositeError" : std::string(exception_type_name(e.code()));
  py::object out = errors.attr(name.c_str())(e.what());
  out.attr("code") = "crew." + std::string(errc_name(e.code()));
  out.attr("number") = static_cast<int>(e.code());
  out.attr("message") = e.message();
  if (const auto* remote = dynamic_cast<const RemoteError*>(&e)) set_remote_fields(out, *remote);
  if (composite != nullptr) out.attr("engine_id") = -1;  // several engines
  if (const auto* mpi = dynamic_cast<const MpiError*>(&e)) {
    out.attr("routine") = mpi->routine();
    out.attr("error_class") = mpi->error_class();
  }
  if (composite != nullptr) {
    py::list each;
    for (const RemoteError& one : composite->errors()) each.append(python_error(one));
    out.attr("errors") = each;
  }
  return out;
}

}  // namespace

void register_error_translator() {
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const Error& e) {
      try {
        const py::object error = python_error(e);
        PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
      } catch (const py::error_already_set&) {
        // crew.errors could not make it (a broken installation): the message still reaches the user.
        PyErr_SetString(PyExc_RuntimeError, e.what());
      }
    }
  });
}

}  // namespace crew::python
