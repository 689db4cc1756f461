// crew.AsyncResult and crew.AsyncMapResult.
#include "py_results.hpp"

#include <pybind11/stl.h>

#include <optional>
#include <string>

#include <crew/error.hpp>

#include "py_values.hpp"
#include "py_waiting.hpp"

namespace crew::python {
namespace {

using std::chrono::milliseconds;

py::dict metadata_dict(const ResultMetadata& m) {
  py::dict d;
  d["msg_id"] = m.msg_id;
  d["engine_id"] = m.engine_id;
  d["function"] = m.function;
  d["status"] = m.status;
  d["submitted"] = to_datetime(m.submitted);
  d["started"] = to_datetime(m.started);
  d["completed"] = to_datetime(m.completed);
  d["received"] = to_datetime(m.received);
  d["stdout"] = m.stdout_text;
  d["stderr"] = m.stderr_text;
  return d;
}

std::string state_name(result_state s) {
  switch (s) {
  case result_state::pending: return "pending";
  case result_state::succeeded: return "succeeded";
  case result_state::failed: return "failed";
  }
  return "pending";
}

/// One per task, or the one alone for a single-engine result.
template <class F>
py::object per_task(const PyAsyncResult& self, F&& one) {
  if (self.single) return one(0);
  py::list out;
  for (std::size_t i = 0; i < self.result.size(); ++i) out.append(one(i));
  return out;
}

[[noreturn]] void throw_late(std::size_t arrived, std::size_t of, milliseconds timeout, const char* unit) {
  throw_error(errc::wait_timeout,
              std::to_string(arrived) + " of " + std::to_string(of) + " " + unit + " arrived within " +
                  std::to_string(static_cast<double>(timeout.count()) / 1000.0) + " s",
              "the tasks go on: get() them later, or wait longer with get(timeout=...)");
}

/// Waits for the whole result; TimeoutError (crew's) if `timeout` passes first.
void wait_or_throw(const AsyncResult& r, milliseconds timeout) {
  if (!wait_interruptibly([&](milliseconds t) { return r.wait(t); }, timeout))
    throw_late(r.progress(), r.size(), timeout, "results");
}

py::object value_at(const AsyncResult& r, std::size_t i) {
  if (i >= r.size()) throw py::index_error("task " + std::to_string(i) + " of " + std::to_string(r.size()));
  std::optional<Value> v;
  wait_interruptibly(
      [&](milliseconds t) {
        try {
          v = r.value(i, t);
          return true;
        } catch (const TimeoutError&) {
          return false;
        }
      },
      milliseconds(-1));
  return to_python(*v);
}

py::object result_get(const PyAsyncResult& self, std::optional<double> timeout) {
  wait_or_throw(self.result, to_timeout(timeout));
  const Value v = without_gil([&] { return self.result.get(); });
  return to_python(v);
}

py::object map_get(const PyAsyncMap& self, std::optional<double> timeout) {
  wait_or_throw(self.map.result(), to_timeout(timeout));
  const Value v = without_gil([&] { return self.map.get(); });
  return to_python(v);
}

std::string result_repr(const PyAsyncResult& self) {
  const result_state s = self.result.status();
  std::string out = "<AsyncResult(" + self.function + "): " + state_name(s);
  if (s == result_state::pending)
    out += ", " + std::to_string(self.result.progress()) + "/" + std::to_string(self.result.size()) + " done";
  return out + ">";
}

std::string map_repr(const PyAsyncMap& self) {
  const result_state s = self.map.status();
  std::string out = "<AsyncMapResult(" + self.function + "): " + state_name(s);
  if (s == result_state::pending)
    out += ", " + std::to_string(self.map.progress()) + "/" + std::to_string(self.map.size()) + " items";
  return out + ">";
}

/// Iterates a result's values in task order, each waited for as it is reached.
struct ResultValues {
  AsyncResult result;
  std::size_t next_task = 0;

  py::object next() {
    if (next_task >= result.size()) throw py::stop_iteration();
    return value_at(result, next_task++);
  }
};

/// Iterates a map's results item by item as their chunks arrive (in item order, or as the chunks
/// finish for an unordered map).
struct MapItems {
  PyAsyncMap map;
  std::size_t position = 0;  ///< the next chunk to read, in reading order
  py::list items;            ///< the chunk being read
  std::size_t next_item = 0;

  py::object next() {
    while (next_item >= items.size()) {
      if (position >= map.map.chunks()) throw py::stop_iteration();
      std::optional<std::size_t> chunk;
      wait_interruptibly(
          [&](milliseconds t) {
            chunk = map.map.finished_chunk(position, t);
            return chunk.has_value();
          },
          milliseconds(-1));
      const Value values = without_gil([&] { return map.map.result().value(*chunk); });
      items = items_of(values);
      next_item = 0;
      ++position;
    }
    return items[next_item++];
  }
};

const char* result_doc = R"(The handle of remote work, returned at once by every call that is not blocking.

    ar = dv.apply_async("summary")
    ar.ready(); ar.wait(2.0); ar.progress         # without waiting / up to 2 s / engines done
    ar.get(timeout=5)                             # the result: one value (rc[3], balanced), else a list
    ar.get_dict()                                 # {engine id: value}
    ar.metadata                                   # timestamps, engine, stdout/stderr of each task
    for value in ar: ...                          # each engine's value, in order

A wait releases the GIL and ends at Ctrl-C (KeyboardInterrupt); the tasks go on.)";

const char* map_doc = R"(The handle of a map, one task per chunk of items.

    amr = lbv.map("price", items, chunksize=100)
    for y in amr: ...                 # each item's result as its chunk arrives
    amr.get(timeout=60)               # all of them: a NumPy array for numbers, else a list
    amr.progress, len(amr)            # items done, items in all
    amr.wait_interactive()            # waits, showing progress (Jupyter, or a line in a terminal))";

void collect_ids(py::handle item, std::vector<std::string>& ids) {
  if (py::isinstance<py::str>(item)) {
    ids.push_back(item.cast<std::string>());
  } else if (py::isinstance<PyAsyncResult>(item)) {
    const auto& r = item.cast<const PyAsyncResult&>().result;
    ids.insert(ids.end(), r.msg_ids().begin(), r.msg_ids().end());
  } else if (py::isinstance<PyAsyncMap>(item)) {
    const auto& r = item.cast<const PyAsyncMap&>().map;
    ids.insert(ids.end(), r.msg_ids().begin(), r.msg_ids().end());
  } else if (py::isinstance<Dependency>(item)) {
    const auto& d = item.cast<const Dependency&>();
    ids.insert(ids.end(), d.msg_ids.begin(), d.msg_ids.end());
  } else if (py::isinstance<py::iterable>(item)) {
    for (const py::handle one : item) collect_ids(one, ids);
  } else {
    throw_error(errc::bad_option, "expected an AsyncResult, an AsyncMapResult, a msg id or a list of them; got " +
                                      std::string(py::repr(item)).substr(0, 80));
  }
}

}  // namespace

py::dict abort_dict(const AbortReport& report) {
  py::dict out;
  out["aborted"] = report.aborted;
  out["done"] = report.done;
  out["running"] = report.running;
  return out;
}

std::vector<std::string> msg_ids_of(py::handle jobs) {
  std::vector<std::string> ids;
  collect_ids(jobs, ids);
  return ids;
}

void bind_results(py::module_& m) {
  using self_t = const PyAsyncResult&;
  py::class_<PyAsyncResult>(m, "AsyncResult", result_doc)
      .def("get", &result_get, py::arg("timeout") = py::none(),
           "Waits (at most `timeout` seconds; None: no limit), then the result, or raises the remote error "
           "(RemoteError, CompositeError) or crew.TimeoutError.")
      .def(
          "get_dict",
          [](self_t self, std::optional<double> timeout) {
            wait_or_throw(self.result, to_timeout(timeout));
            const auto by_engine = without_gil([&] { return self.result.get_dict(); });
            py::dict out;
            for (const auto& [engine, value] : by_engine) out[py::int_(engine)] = to_python(value);
            return out;
          },
          py::arg("timeout") = py::none(), "Waits like get(), then {engine id: value}.")
      .def(
          "wait",
          [](self_t self, std::optional<double> timeout) {
            return wait_interruptibly([&](milliseconds t) { return self.result.wait(t); }, to_timeout(timeout));
          },
          py::arg("timeout") = py::none(), "Waits at most `timeout` seconds (None: no limit); True if ready.")
      .def(
          "ready", [](self_t self) { return self.result.ready(); }, "True once every task has answered.")
      .def("done", [](self_t self) { return self.result.ready(); })
      .def(
          "successful", [](self_t self) { return self.result.successful(); },
          "True if every task succeeded (False while any is pending).")
      .def_property_readonly("status", [](self_t self) { return state_name(self.result.status()); })
      .def_property_readonly("msg_ids", [](self_t self) { return self.result.msg_ids(); })
      .def_property_readonly("engine_id",
                             [](self_t self) {
                               const auto targets = self.result.targets();
                               return per_task(self, [&](std::size_t i) { return py::int_(targets[i]); });
                             })
      .def_property_readonly("progress", [](self_t self) { return self.result.progress(); })
      .def_property_readonly("elapsed", [](self_t self) { return self.result.elapsed().count(); })
      .def_property_readonly("metadata",
                             [](self_t self) {
                               return per_task(self,
                                               [&](std::size_t i) { return metadata_dict(self.result.metadata(i)); });
                             })
      .def_property_readonly("stdout",
                             [](self_t self) {
                               return per_task(
                                   self, [&](std::size_t i) { return py::str(self.result.metadata(i).stdout_text); });
                             })
      .def_property_readonly("stderr",
                             [](self_t self) {
                               return per_task(
                                   self, [&](std::size_t i) { return py::str(self.result.metadata(i).stderr_text); });
                             })
      .def("__len__", [](self_t self) { return self.result.size(); })
      .def("__getitem__",
           [](self_t self, py::ssize_t i) {
             const auto n = static_cast<py::ssize_t>(self.result.size());
             if (i < 0) i += n;  // ar[-1]: the last task's value
             if (i < 0) throw py::index_error("task index out of range");
             return value_at(self.result, static_cast<std::size_t>(i));
           })
      .def("__iter__",
           [](self_t self) {
             return ResultValues{self.result, 0};
           })
      .def("__repr__", &result_repr);

  py::class_<ResultValues>(m, "_ResultValues")
      .def("__iter__", [](ResultValues& self) -> ResultValues& { return self; })
      .def("__next__", &ResultValues::next);

  using map_t = const PyAsyncMap&;
  py::class_<MapItems>(m, "_MapItems")
      .def("__iter__", [](MapItems& self) -> MapItems& { return self; })
      .def("__next__", &MapItems::next);

  py::class_<PyAsyncMap>(m, "AsyncMapResult", map_doc)
      .def("get", &map_get, py::arg("timeout") = py::none(),
           "Waits (at most `timeout` seconds), then every item's result joined: a NumPy array when the function "
           "returns numbers, else a list.")
      .def(
          "wait",
          [](map_t self, std::optional<double> timeout) {
            return wait_interruptibly([&](milliseconds t) { return self.map.wait(t); }, to_timeout(timeout));
          },
          py::arg("timeout") = py::none())
      .def("ready", [](map_t self) { return self.map.ready(); })
      .def("done", [](map_t self) { return self.map.ready(); })
      .def("successful", [](map_t self) { return self.map.successful(); })
      .def_property_readonly("status", [](map_t self) { return state_name(self.map.status()); })
      .def_property_readonly("msg_ids", [](map_t self) { return self.map.msg_ids(); })
      .def_property_readonly(
          "progress", [](map_t self) { return self.map.progress(); }, "Items whose results arrived.")
      .def_property_readonly("chunks", [](map_t self) { return self.map.chunks(); })
      .def_property_readonly("ordered", [](map_t self) { return self.map.ordered(); })
      .def_property_readonly("elapsed", [](map_t self) { return self.map.elapsed().count(); })
      .def_property_readonly("metadata",
                             [](map_t self) {
                               py::list out;
                               for (std::size_t i = 0; i < self.map.chunks(); ++i)
                                 out.append(metadata_dict(self.map.result().metadata(i)));
                               return out;
                             })
      .def("__len__", [](map_t self) { return self.map.size(); })
      .def("__iter__",
           [](map_t self) {
             return MapItems{self, 0, py::list(), 0};
           })
      .def("__repr__", &map_repr);
}

}  // namespace crew::python
