// crew.DirectView, crew.LoadBalancedView, crew.Dependency.
#include "py_views.hpp"

#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <crew/error.hpp>

#include "py_results.hpp"
#include "py_values.hpp"
#include "py_waiting.hpp"

namespace crew::python {
namespace {

using std::chrono::milliseconds;
using block_t = std::optional<bool>;

/// The view's answer: the handle, or (blocking) its result.
template <class View, class Handle>
py::object finish(const View& self, Handle handle, block_t block) {
  py::object out = py::cast(std::move(handle));
  if (block.value_or(self.block)) return out.attr("get")();
  return out;
}

py::object result(const PyDirectView& self, AsyncResult r, std::string function, block_t block) {
  return finish(self, PyAsyncResult{std::move(r), self.single, std::move(function)}, block);
}

void refuse_kwargs(const py::kwargs& kwargs, const std::string& function) {
  if (kwargs.empty()) return;
  throw_error(errc::bad_option,
              "crew functions take positional arguments only; " + function + " was given keyword arguments " +
                  std::string(py::str(py::list(kwargs.attr("keys")()))),
              "pass them in the order the function declares them (`crew functions` shows signatures)");
}

/// The sequences of a map: the first and any more (map(f, xs, ys) calls f(xs[i], ys[i])).
std::vector<Value> sequences_of(py::handle first, const py::args& more) {
  std::vector<Value> out;
  out.reserve(1 + more.size());
  out.push_back(to_value(first));
  for (const py::handle one : more) out.push_back(to_value(one));
  return out;
}

/// `targets` of a view: one id for a single-engine view, else the list.
py::object targets_of(const std::vector<int>& targets, bool single) {
  if (single && targets.size() == 1) return py::int_(targets.front());
  return py::cast(targets);
}

// --- dependencies --------------------------------------------------------------------------------

Dependency to_dependency(py::handle deps) {
  if (deps.is_none()) return {};
  if (py::isinstance<Dependency>(deps)) return deps.cast<Dependency>();
  return Dependency(msg_ids_of(deps));
}

// --- load-balanced flags -------------------------------------------------------------------------

/// Sets one flag in `o` (or `block`); throws InputError [crew.input.bad_option] for a bad one.
void apply_flag(TaskOptions& o, bool& block, const std::string& name, py::handle value) {
  if (name == "after") {
    o.after = to_dependency(value);
  } else if (name == "follow") {
    o.follow = to_dependency(value);
  } else if (name == "timeout") {
    const double t = value.is_none() ? 0.0 : value.cast<double>();
    if (!std::isfinite(t) || t < 0 || t > 1e8)
      throw_error(errc::bad_option, "timeout must be from 0 to 1e8 seconds, got " + std::string(py::repr(value)),
                  "0 or None: no limit");
    o.timeout = milliseconds(std::llround(t * 1000.0));
  } else if (name == "retries") {
    const int retries = value.is_none() ? 0 : value.cast<int>();
    if (retries < 0) throw_error(errc::bad_option, "retries must be >= 0");
    o.retries = retries;
  } else if (name == "require") {
    const Value require = value.is_none() ? Value(Value::Dict{}) : to_value(value);
    if (!require.is_dict()) throw_error(errc::bad_option, "require is a dict {property: value}");
    o.require = require.as_dict();
  } else if (name == "block") {
    block = value.cast<bool>();
  } else {
    throw_error(errc::bad_option, "no flag '" + name + "' on a LoadBalancedView",
                "its flags: after, follow, timeout, retries, require, block");
  }
}

/// Sets these flags, all or none.
void set_flags(PyLoadBalancedView& self, const py::kwargs& flags) {
  TaskOptions o = self.view.options();
  bool block = self.block;
  for (const auto& [name, value] : flags) apply_flag(o, block, name.cast<std::string>(), value);
  self.view = self.view.with(std::move(o));
  self.block = block;
}

void set_flag(PyLoadBalancedView& self, const char* name, py::handle value) {
  py::kwargs one;
  one[name] = value;
  set_flags(self, one);
}

py::dict flags_of(const PyLoadBalancedView& self) {
  const TaskOptions& o = self.view.options();
  py::dict d;
  d["after"] = self.view.options().after;
  d["follow"] = o.follow;
  d["timeout"] = static_cast<double>(o.timeout.count()) / 1000.0;
  d["retries"] = o.retries;
  d["require"] = to_python(Value(o.require));
  d["block"] = self.block;
  return d;
}

py::object lb_result(const PyLoadBalancedView& self, AsyncResult r, std::string function, block_t block) {
  return finish(self, PyAsyncResult{std::move(r), true, std::move(function)}, block);
}

py::object lb_map(const PyLoadBalancedView& self, const std::string& f, py::handle sequence, const py::args& more,
                  std::optional<std::size_t> chunksize, bool ordered, block_t block) {
  const MapOptions o{chunksize.value_or(0), ordered};
  AsyncMap map;
  if (more.empty() && PyRange_Check(sequence.ptr())) {  // cut into chunks without building the whole list
    const Range r = crew::range(sequence.attr("start").cast<std::int64_t>(), sequence.attr("stop").cast<std::int64_t>(),
                                sequence.attr("step").cast<std::int64_t>());
    const LoadBalancedView view = self.view;  // set_flags in another thread may replace it
    map = without_gil([&] { return view.map(f, r, o); });
  } else {
    auto sequences = sequences_of(sequence, more);
    const LoadBalancedView view = self.view;
    map = without_gil([&] { return view.map_values(f, std::move(sequences), o); });
  }
  return finish(self, PyAsyncMap{std::move(map), f}, block);
}

/// apply, apply_async (block false) and apply_sync (true) of a DirectView.
auto dv_apply(block_t block) {
  return [block](const PyDirectView& self, const std::string& f, const py::args& args, const py::kwargs& kwargs) {
    refuse_kwargs(kwargs, f);
    Value::List list = to_value_list(args);
    return result(self, without_gil([&] { return self.view.apply_list(f, std::move(list)); }), f, block);
  };
}

/// The same for a LoadBalancedView.
auto lb_apply(block_t block) {
  return [block](const PyLoadBalancedView& self, const std::string& f, const py::args& args, const py::kwargs& kwargs) {
    refuse_kwargs(kwargs, f);
    Value::List list = to_value_list(args);
    const LoadBalancedView view = self.view;  // set_flags in another thread may replace it
    return lb_result(self, without_gil([&] { return view.apply_list(f, std::move(list)); }), f, block);
  };
}

const char* direct_doc = R"(Work addressed to exactly these engines (rc[:], rc[0], rc[::2], rc[[0, 2]]).

    dv.apply_sync("summary")                  # one value per engine, in engine order
    dv.map_sync("square", range(8))           # one contiguous part per engine
    dv.scatter("x", np.arange(10**8.0))       # split along the first axis, with MPI in each world
    dv.gather("x", block=True)                # joined again: a NumPy array
    dv["a"] = {"k": 1}; dv["a"]               # push / pull
    dv.execute("hostname")                    # a shell command on each engine's host

`block` (default False) makes calls wait and return results instead of AsyncResults.)";

const char* balanced_doc = R"(Work that runs on whichever engine is free.

    lbv = rc.load_balanced_view()
    ar = lbv.apply("price", 100.0, 0.2)               # one task; ar.get() is its value
    amr = lbv.map("price", spots, chunksize=100)      # an AsyncMapResult
    with lbv.temp_flags(after=[ar], retries=2): lbv.apply("report")

Flags (set_flags, temp_flags, or as attributes): after, follow (dependencies), timeout (seconds
to wait for an engine), retries, require ({property: value}), block.)";

}  // namespace

void bind_views(py::module_& m) {
  using dv_t = const PyDirectView&;
  py::class_<PyDirectView>(m, "DirectView", direct_doc)
      .def_property_readonly("targets", [](dv_t self) { return targets_of(self.view.targets(), self.single); })
      .def_readwrite("block", &PyDirectView::block)
      .def("apply", dv_apply(std::nullopt), py::arg("f"),
           "Calls the registered function `f` on every target (waits if block).")
      .def("apply_async", dv_apply(false), py::arg("f"))
      .def("apply_sync", dv_apply(true), py::arg("f"))
      .def(
          "map",
          [](dv_t self, const std::string& f, py::handle sequence, const py::args& more, block_t block) {
            auto sequences = sequences_of(sequence, more);
            AsyncMap map = without_gil([&] { return self.view.map_values(f, std::move(sequences)); });
            return finish(self, PyAsyncMap{std::move(map), f}, block);
          },
          py::arg("f"), py::arg("sequence"), py::kw_only(), py::arg("block") = py::none(),
          "`f` on every item (several sequences: f(a[i], b[i], ...)), one contiguous part per engine.")
      .def(
          "map_async",
          [](dv_t self, const std::string& f, py::handle sequence, const py::args& more) {
            auto sequences = sequences_of(sequence, more);
            return PyAsyncMap{without_gil([&] { return self.view.map_values(f, std::move(sequences)); }), f};
          },
          py::arg("f"), py::arg("sequence"))
      .def(
          "map_sync",
          [](dv_t self, const std::string& f, py::handle sequence, const py::args& more) {
            auto sequences = sequences_of(sequence, more);
            return finish(
                self, PyAsyncMap{without_gil([&] { return self.view.map_values(f, std::move(sequences)); }), f}, true);
          },
          py::arg("f"), py::arg("sequence"))
      .def(
          "execute",
          [](dv_t self, const std::string& command, block_t block) {
            return result(self, without_gil([&] { return self.view.exec(command); }), "exec", block);
          },
          py::arg("command"), py::arg("block") = py::none(),
          "Runs a shell command on each engine's host (the `exec` builtin): {stdout, stderr, status} per engine.")
      .def(
          "push",
          [](dv_t self, const py::dict& ns, block_t block) {
            Value values = to_value(ns);
            return result(self, without_gil([&] { return self.view.push(std::move(values.as_dict())); }), "push",
                          block);
          },
          py::arg("ns"), py::arg("block") = py::none(), "Sets these names in every target's namespace.")
      .def(
          "pull",
          [](dv_t self, py::handle names, block_t block) {
            if (py::isinstance<py::str>(names)) {
              const auto name = names.cast<std::string>();
              return result(self, without_gil([&] { return self.view.pull(name); }), "pull", block);
            }
            const auto list = names.cast<std::vector<std::string>>();
            return result(self, without_gil([&] { return self.view.pull(list); }), "pull", block);
          },
          py::arg("names"), py::arg("block") = py::none(),
          "One name's value per engine, or (a list of names) a dict per engine.")
      .def("__setitem__",
           [](dv_t self, const std::string& name, py::handle value) {
             Value::Dict values{{name, to_value(value)}};
             result(self, without_gil([&] { return self.view.push(std::move(values)); }), "push", true);
           })
      .def("__getitem__",
           [](dv_t self, const std::string& name) {
             return result(self, without_gil([&] { return self.view.pull(name); }), "pull", true);
           })
      .def(
          "scatter",
          [](dv_t self, const std::string& name, py::handle sequence, block_t block) {
            Value items = to_value(sequence);
            return result(self, without_gil([&] { return self.view.scatter_value(name, std::move(items)); }), "scatter",
                          block);
          },
          py::arg("name"), py::arg("sequence"), py::arg("block") = py::none(),
          "Splits `sequence` (a NumPy array along its first axis, or a list) into one contiguous part per "
          "engine and sets `name` to it. A NumPy array is sent without a copy: leave it unchanged until the "
          "scatter is done.")
      .def(
          "gather",
          [](dv_t self, const std::string& name, block_t block) {
            return result(self, without_gil([&] { return self.view.gather(name); }), "gather", block);
          },
          py::arg("name"), py::arg("block") = py::none(), "The engines' `name` joined in engine order.")
      .def(
          "reduce",
          [](dv_t self, const std::string& name, const std::string& op_name, block_t block) {
            const auto o = op_from_name(op_name);
            if (!o) throw_error(errc::bad_option, "no reduce operator '" + op_name + "'", "use sum, prod, min or max");
            return result(self, without_gil([&] { return self.view.reduce(name, *o); }), "reduce", block);
          },
          py::arg("name"), py::arg("op") = "sum", py::arg("block") = py::none(),
          "The engines' `name` combined element by element (MPI_Reduce in each world).")
      .def(
          "save_h5",
          [](dv_t self, const std::string& file, const std::string& name, const std::string& dataset, block_t block) {
            return result(self, without_gil([&] { return self.view.save_h5(file, name, dataset); }), "save_h5", block);
          },
          py::arg("file"), py::arg("name"), py::arg("dataset") = "", py::arg("block") = py::none())
      .def(
          "load_h5",
          [](dv_t self, const std::string& file, const std::string& dataset, const std::string& name, block_t block) {
            return result(self, without_gil([&] { return self.view.load_h5(file, dataset, name); }), "load_h5", block);
          },
          py::arg("file"), py::arg("dataset"), py::arg("name"), py::arg("block") = py::none())
      .def(
          "clear",
          [](dv_t self, block_t block) {
            return result(self, without_gil([&] { return self.view.clear(); }), "clear", block);
          },
          py::arg("block") = py::none())
      .def(
          "load_plugin",
          [](dv_t self, const std::string& path, block_t block) {
            return result(self, without_gil([&] { return self.view.load_plugin(path); }), "load_plugin", block);
          },
          py::arg("path"), py::arg("block") = py::none())
      .def("__len__", [](dv_t self) { return self.view.targets().size(); })
      .def("__repr__", [](dv_t self) {
        return "<DirectView " + std::string(py::repr(targets_of(self.view.targets(), self.single))) + ">";
      });

  py::class_<Dependency>(m, "Dependency", R"(Tasks another task waits for (after=) or follows (follow=).

    crew.Dependency([ar1, ar2])                        # after both succeeded
    crew.Dependency([ar1, ar2], all=False)             # after either
    crew.Dependency(ar, success=False, failure=True)   # only if it failed)")
      .def(py::init([](py::handle deps, bool all, bool success, bool failure) {
             Dependency d = to_dependency(deps);
             d.all = all;
             d.success = success;
             d.failure = failure;
             if (!success && !failure)
               throw_error(errc::bad_option, "a Dependency with success=False and failure=False can never be met");
             return d;
           }),
           py::arg("dependencies"), py::arg("all") = true, py::arg("success") = true, py::arg("failure") = false)
      .def_readonly("msg_ids", &Dependency::msg_ids)
      .def_readonly("all", &Dependency::all)
      .def_readonly("success", &Dependency::success)
      .def_readonly("failure", &Dependency::failure)
      .def("__len__", [](const Dependency& d) { return d.msg_ids.size(); })
      .def("__repr__", [](const Dependency& d) {
        return "crew.Dependency(" + std::to_string(d.msg_ids.size()) + " tasks, all=" + (d.all ? "True" : "False") +
               ", success=" + (d.success ? "True" : "False") + ", failure=" + (d.failure ? "True" : "False") + ")";
      });

  using lb_t = const PyLoadBalancedView&;
  py::class_<PyLoadBalancedView>(m, "LoadBalancedView", balanced_doc)
      .def_property_readonly("targets",
                             [](lb_t self) -> py::object {
                               if (self.view.targets().empty()) return py::none();
                               return py::cast(self.view.targets());
                             })
      .def_readwrite("block", &PyLoadBalancedView::block)
      .def("apply", lb_apply(std::nullopt), py::arg("f"),
           "Runs the registered function `f` once, on an engine the controller picks.")
      .def("apply_async", lb_apply(false), py::arg("f"))
      .def("apply_sync", lb_apply(true), py::arg("f"))
      .def(
          "map",
          [](lb_t self, const std::string& f, py::handle sequence, const py::args& more,
             std::optional<std::size_t> chunksize, bool ordered,
             block_t block) { return lb_map(self, f, sequence, more, chunksize, ordered, block); },
          py::arg("f"), py::arg("sequence"), py::kw_only(), py::arg("chunksize") = py::none(),
          py::arg("ordered") = true, py::arg("block") = py::none(),
          "`f` on every item (several sequences: f(a[i], b[i], ...)), `chunksize` items per task (None: from the "
          "length and the engine count).")
      .def(
          "map_async",
          [](lb_t self, const std::string& f, py::handle sequence, const py::args& more,
             std::optional<std::size_t> chunksize,
             bool ordered) { return lb_map(self, f, sequence, more, chunksize, ordered, false); },
          py::arg("f"), py::arg("sequence"), py::kw_only(), py::arg("chunksize") = py::none(),
          py::arg("ordered") = true)
      .def(
          "map_sync",
          [](lb_t self, const std::string& f, py::handle sequence, const py::args& more,
             std::optional<std::size_t> chunksize,
             bool ordered) { return lb_map(self, f, sequence, more, chunksize, ordered, true); },
          py::arg("f"), py::arg("sequence"), py::kw_only(), py::arg("chunksize") = py::none(),
          py::arg("ordered") = true)
      .def(
          "abort",
          [](lb_t self, py::handle jobs) {
            const auto ids = msg_ids_of(jobs);
            const LoadBalancedView view = self.view;
            return abort_dict(without_gil([&] { return view.abort(ids); }));
          },
          py::arg("jobs"),
          "Aborts the tasks that have not started: {aborted, done, running} msg ids (running ones run on).")
      .def(
          "set_flags", [](PyLoadBalancedView& self, const py::kwargs& flags) { set_flags(self, flags); },
          "Sets flags for the tasks submitted from now on: after, follow, timeout, retries, require, block.")
      .def_property_readonly("flags", &flags_of)
      .def_property(
          "after", [](lb_t self) { return self.view.options().after; },
          [](PyLoadBalancedView& self, py::handle v) { set_flag(self, "after", v); })
      .def_property(
          "follow", [](lb_t self) { return self.view.options().follow; },
          [](PyLoadBalancedView& self, py::handle v) { set_flag(self, "follow", v); })
      .def_property(
          "timeout", [](lb_t self) { return static_cast<double>(self.view.options().timeout.count()) / 1000.0; },
          [](PyLoadBalancedView& self, py::handle v) { set_flag(self, "timeout", v); })
      .def_property(
          "retries", [](lb_t self) { return self.view.options().retries; },
          [](PyLoadBalancedView& self, py::handle v) { set_flag(self, "retries", v); })
      .def_property(
          "require", [](lb_t self) { return to_python(Value(self.view.options().require)); },
          [](PyLoadBalancedView& self, py::handle v) { set_flag(self, "require", v); })
      .def("__repr__", [](lb_t self) {
        return "<LoadBalancedView " +
               (self.view.targets().empty() ? std::string("any engine")
                                            : std::string(py::repr(py::cast(self.view.targets())))) +
               ">";
      });
}

}  // namespace crew::python
