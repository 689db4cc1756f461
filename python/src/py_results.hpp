#pragma once
// crew.AsyncResult and crew.AsyncMapResult: Python's handles of crew::AsyncResult and crew::AsyncMap,
// with ipyparallel's names (get, wait, ready, successful, metadata, progress, elapsed, ...).

#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include <crew/async_map.hpp>
#include <crew/async_result.hpp>
#include <crew/load_balanced_view.hpp>

namespace crew::python {

namespace py = pybind11;

struct PyAsyncResult {
  AsyncResult result;
  bool single = false;   ///< from a one-engine view (rc[3]) or a balanced apply: get() is one value
  std::string function;  ///< what ran, for repr()
};

struct PyAsyncMap {
  AsyncMap map;
  std::string function;
};

/// The msg ids of `jobs`: an AsyncResult, an AsyncMapResult, a crew.Dependency, a msg id, or an
/// iterable of them. Throws InputError [crew.input.bad_option] for anything else.
std::vector<std::string> msg_ids_of(py::handle jobs);

/// What an abort did, as a dict of msg id lists: {aborted, done, running}.
py::dict abort_dict(const AbortReport& report);

void bind_results(py::module_& m);

}  // namespace crew::python
