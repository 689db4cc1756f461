// crew.Client.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <crew/client.hpp>
#include <crew/error.hpp>

#include "module.hpp"
#include "py_results.hpp"
#include "py_values.hpp"
#include "py_views.hpp"
#include "py_waiting.hpp"

namespace crew::python {
namespace {

using std::chrono::milliseconds;

/// The Python Client: the C++ one until close(). Calls hold their own reference (taken with the
/// GIL), so a close() in another thread ends the connection only once they are done with it.
struct PyClient {
  std::shared_ptr<const Client> client;

  std::shared_ptr<const Client> get() const {
    if (!client) throw_error(errc::client_closed, "this Client was closed", "make a new one: crew.Client(...)");
    return client;
  }
  void close() {
    std::shared_ptr<const Client> closing = std::move(client);
    without_gil([&] { closing.reset(); });
  }
};

py::dict engine_dict(const EngineInfo& e) {
  py::dict d;
  d["id"] = e.id;
  d["host"] = e.host;
  d["pid"] = e.pid;
  d["rank"] = e.rank;
  d["world"] = e.world;
  d["world_size"] = e.world_size;
  d["state"] = e.state;
  d["tasks"] = e.tasks;
  d["completed"] = e.completed;
  d["properties"] = to_python(Value(e.properties));
  d["launcher"] = e.launcher;
  d["job_id"] = e.job_id;
  d["job_end"] = e.job_end;
  d["draining"] = e.draining;
  return d;
}

py::dict purge_dict(const PurgeReport& r) {
  py::dict d;
  d["purged"] = r.purged;
  d["bytes"] = r.bytes;
  d["pending"] = r.pending;
  d["unknown"] = r.unknown;
  return d;
}

/// An engine id from an int or a NumPy integer (operator.index).
int id_of(py::handle h) {
  PyObject* index = PyNumber_Index(h.ptr());
  if (index == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::int_>(index).cast<int>();
}

/// Engine ids from a Python key: an id (negative: counted from the last engine), a slice of the
/// alive ids, or a list of ids. `single`: the key was one id.
std::vector<int> ids_of(const Client& client, py::handle key, bool& single) {
  single = false;
  if (PyBool_Check(key.ptr()))
    throw_error(errc::bad_targets, "targets are engine ids, not " + std::string(py::repr(key)));
  if (PyIndex_Check(key.ptr()) && !py::isinstance<py::iterable>(key)) {  // an int, or a NumPy integer
    single = true;
    int id = id_of(key);
    if (id < 0) {
      const auto ids = without_gil([&] { return client.ids(); });
      if (static_cast<std::size_t>(-id) > ids.size())
        throw_error(errc::unknown_target,
                    "engine index " + std::to_string(id) + " with " + std::to_string(ids.size()) + " engines alive");
      id = ids[ids.size() - static_cast<std::size_t>(-id)];
    }
    return {id};
  }
  if (py::isinstance<py::slice>(key)) {
    const auto ids = without_gil([&] { return client.ids(); });
    py::list chosen = py::cast(ids)[key];
    return chosen.cast<std::vector<int>>();
  }
  if (py::isinstance<py::str>(key)) {
    if (key.cast<std::string>() == "all") return without_gil([&] { return client.ids(); });
  } else if (py::isinstance<py::iterable>(key)) {
    std::vector<int> ids;
    for (const py::handle one : key) {
      if (PyBool_Check(one.ptr()) || !PyIndex_Check(one.ptr()))
        throw_error(errc::bad_targets, "targets are engine ids; this list has " + std::string(py::repr(one)));
      ids.push_back(id_of(one));
    }
    return ids;
  }
  throw_error(errc::bad_targets, "targets are an engine id, a slice, a list of ids or 'all'; got " +
                                     std::string(py::repr(key)).substr(0, 80));
}

PyDirectView direct_view(const PyClient& self, py::handle targets) {
  const auto client_ref = self.get();
  const Client& client = *client_ref;
  if (targets.is_none()) return PyDirectView{without_gil([&] { return client.view(); }), false};
  bool single = false;
  auto ids = ids_of(client, targets, single);
  if (single) return PyDirectView{without_gil([&] { return client[ids.front()]; }), true};
  return PyDirectView{without_gil([&] { return client[std::move(ids)]; }), false};
}

/// The results `jobs` names: AsyncResults and maps as they are, msg ids fetched from the controller.
void collect_results(const Client& client, py::handle jobs, std::vector<AsyncResult>& out) {
  if (py::isinstance<PyAsyncResult>(jobs)) {
    out.push_back(jobs.cast<const PyAsyncResult&>().result);
  } else if (py::isinstance<PyAsyncMap>(jobs)) {
    out.push_back(jobs.cast<const PyAsyncMap&>().map.result());
  } else if (py::isinstance<py::str>(jobs)) {
    const auto id = jobs.cast<std::string>();
    out.push_back(without_gil([&] { return client.get_result(id); }));
  } else if (py::isinstance<py::iterable>(jobs)) {
    for (const py::handle one : jobs) collect_results(client, one, out);
  } else {
    throw_error(errc::bad_option, "wait() takes AsyncResults, AsyncMapResults, msg ids or a list of them; got " +
                                      std::string(py::repr(jobs)).substr(0, 80));
  }
}

bool wait_for_jobs(const PyClient& self, py::handle jobs, std::optional<double> timeout) {
  const auto client_ref = self.get();
  const Client& client = *client_ref;
  const milliseconds limit = to_timeout(timeout);
  if (jobs.is_none()) return wait_interruptibly([&](milliseconds t) { return client.wait(t); }, limit);
  std::vector<AsyncResult> results;
  collect_results(client, jobs, results);
  const auto start = std::chrono::steady_clock::now();
  for (const AsyncResult& r : results) {
    milliseconds left = limit;
    if (limit >= milliseconds::zero())
      left = std::max(milliseconds::zero(),
                      limit - std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start));
    if (!wait_interruptibly([&](milliseconds t) { return r.wait(t); }, left)) return false;
  }
  return true;
}

const char* client_doc = R"(The connection to a crew cluster's controller.

    rc = crew.Client()                          # the profile "default" ($CREW_HOME/profile_default)
    rc = crew.Client(profile="hpc")             # another profile
    rc = crew.Client("path/to/controller.json") # a connection file
    rc = crew.Client(profile="hpc", ssh="login.cluster.org")   # through ssh to a login node
    rc.ids                                      # [0, 1, 2, 3]
    dv = rc[:]; one = rc[0]; some = rc[::2]     # DirectViews
    lbv = rc.load_balanced_view()

A Client may be used from several threads at once.)";

}  // namespace

void bind_client(py::module_& m) {
  using self_t = const PyClient&;
  py::class_<PyClient>(m, "Client", client_doc)
      .def(py::init([](std::optional<std::string> url_file, std::optional<std::string> profile,
                       std::optional<double> timeout, std::string ssh) {
             if (url_file && profile) throw_error(errc::bad_option, "give a connection file or a profile, not both");
             ClientOptions options;
             if (!timeout || !(*timeout > 0) || *timeout > 1e8)
               throw_error(errc::bad_option, "a Client's timeout is from 0 to 1e8 seconds (how long to wait for the "
                                             "controller at connect and for each query)");
             options.timeout = to_timeout(timeout);
             options.ssh = std::move(ssh);
             const std::string where = url_file ? *url_file : profile ? *profile : "default";
             return PyClient{without_gil([&] { return std::make_shared<const Client>(where, options); })};
           }),
           py::arg("url_file") = py::none(), py::arg("profile") = py::none(), py::kw_only(), py::arg("timeout") = 10.0,
           py::arg("ssh") = "")
      .def_property_readonly(
          "ids",
          [](self_t self) {
            const auto c = self.get();
            return without_gil([&] { return c->ids(); });
          },
          "Ids of the alive engines, ascending.")
      .def("__len__",
           [](self_t self) {
             const auto c = self.get();
             return without_gil([&] { return c->ids().size(); });
           })
      .def("__getitem__", [](self_t self, py::handle key) { return direct_view(self, key); })
      .def(
          "direct_view", [](self_t self, py::handle targets) { return direct_view(self, targets); },
          py::arg("targets") = "all", "A DirectView of these engines ('all': every engine alive now).")
      .def("broadcast_view", [](self_t self) { return direct_view(self, py::none()); })
      .def(
          "load_balanced_view",
          [](self_t self, py::handle targets) {
            const auto client_ref = self.get();
            const Client& client = *client_ref;
            std::vector<int> ids;
            if (!targets.is_none()) {
              bool single = false;
              ids = ids_of(client, targets, single);
            }
            return PyLoadBalancedView{without_gil([&] { return client.load_balanced_view(ids); })};
          },
          py::arg("targets") = py::none(),
          "A LoadBalancedView over any engine (None: also those that register later) or these.")
      .def(
          "engines",
          [](self_t self) {
            py::list out;
            const auto c = self.get();
            for (const EngineInfo& e : without_gil([&] { return c->engines(); })) out.append(engine_dict(e));
            return out;
          },
          "Every engine the controller knows, alive or not, as dicts.")
      .def(
          "wait_for_engines",
          [](self_t self, int n, std::optional<double> timeout) {
            const auto client_ref = self.get();
            const Client& client = *client_ref;
            const auto enough = [&](milliseconds t) {
              int alive = 0;
              for (const EngineInfo& e : client.engines(n, t)) alive += e.state == "alive" ? 1 : 0;
              return alive >= n;
            };
            if (!wait_interruptibly(enough, to_timeout(timeout)))
              without_gil([&] { return client.wait_for_engines(n, milliseconds(0)); });  // raises, with counts
            return without_gil([&] { return client.ids(); });
          },
          py::arg("n"), py::arg("timeout") = py::none(), "Waits until at least n engines are alive; their ids.")
      .def("wait", &wait_for_jobs, py::arg("jobs") = py::none(), py::arg("timeout") = py::none(),
           "Waits for these results (None: every one this client is owed); True if all are done.")
      .def_property_readonly(
          "outstanding", [](self_t self) { return self.get()->outstanding(); }, "Results this client is still owed.")
      .def("queue_status",
           [](self_t self) {
             const auto c = self.get();
             const QueueStatus q = without_gil([&] { return c->queue_status(); });
             py::dict out;
             for (const auto& e : q.engines) {
               py::dict one;
               one["queue"] = e.queue;
               one["completed"] = e.completed;
               one["depth"] = e.depth;
               one["world"] = e.world;
               one["state"] = e.state;
               out[py::int_(e.id)] = one;
             }
             out["unassigned"] = q.unassigned;
             out["waiting"] = q.waiting;
             out["scheme"] = q.scheme;
             out["submitted"] = q.submitted;
             out["completed"] = q.completed;
             out["failed"] = q.failed;
             out["retried"] = q.retried;
             return out;
           })
      .def(
          "result_status",
          [](self_t self, py::handle jobs) {
            const auto ids = msg_ids_of(jobs);
            const auto c = self.get();
            const ResultStatus s = without_gil([&] { return c->result_status(ids); });
            py::dict out;
            out["pending"] = s.pending;
            out["completed"] = s.completed;
            out["failed"] = s.failed;
            out["unknown"] = s.unknown;
            return out;
          },
          py::arg("jobs"))
      .def(
          "get_result",
          [](self_t self, const std::string& msg_id) {
            const auto c = self.get();
            AsyncResult r = without_gil([&] { return c->get_result(msg_id); });
            return PyAsyncResult{std::move(r), true, "get_result"};
          },
          py::arg("msg_id"), "A task's result by msg id (also another client's).")
      .def(
          "abort",
          [](self_t self, py::handle jobs) {
            const auto ids = msg_ids_of(jobs);
            const auto c = self.get();
            return abort_dict(without_gil([&] { return c->abort(ids); }));
          },
          py::arg("jobs"))
      .def(
          "history",
          [](self_t self, py::handle since, std::vector<std::string> status, std::vector<int> targets,
             std::size_t last) {
            HistoryFilter filter;
            if (!since.is_none()) filter.since = from_datetime(since);
            filter.status = std::move(status);
            filter.targets = std::move(targets);
            filter.last = last;
            py::list out;
            const auto c = self.get();
            for (const TaskSummary& t : without_gil([&] { return c->history(filter); })) {
              py::dict d;
              d["msg_id"] = t.msg_id;
              d["function"] = t.function;
              d["engine_id"] = t.engine_id;
              d["status"] = t.status;
              d["error"] = t.error;
              d["submitted"] = to_datetime(t.submitted);
              d["started"] = to_datetime(t.started);
              d["completed"] = to_datetime(t.completed);
              out.append(d);
            }
            return out;
          },
          py::arg("since") = py::none(), py::arg("status") = std::vector<std::string>{},
          py::arg("targets") = std::vector<int>{}, py::arg("last") = 0,
          "The tasks the controller has records of, oldest first, as dicts.")
      .def(
          "purge_results",
          [](self_t self, py::handle jobs, py::handle before) {
            const auto client_ref = self.get();
            const Client& client = *client_ref;
            if (!before.is_none()) {
              const auto t = from_datetime(before);
              return purge_dict(without_gil([&] { return client.purge_results_before(t); }));
            }
            if (py::isinstance<py::str>(jobs) && jobs.cast<std::string>() == "all")
              return purge_dict(without_gil([&] { return client.purge_all_results(); }));
            const auto ids = msg_ids_of(jobs);
            return purge_dict(without_gil([&] { return client.purge_results(ids); }));
          },
          py::arg("jobs") = py::list(), py::arg("before") = py::none(),
          "Forgets finished tasks and their results: these, 'all', or those submitted before a datetime.")
      .def("controller_stats",
           [](self_t self) {
             const auto c = self.get();
             return to_python(without_gil([&] { return c->controller_stats(); }));
           })
      .def(
          "shutdown",
          [](self_t self) {
            const auto c = self.get();
            without_gil([&] { c->shutdown(); });
          },
          "Stops the engines and the controller.")
      .def_property_readonly("connection_file", [](self_t self) { return self.get()->connection_file().string(); })
      .def(
          "close", [](PyClient& self) { self.close(); },
          "Closes the connection (results not yet received stay at the controller).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyClient& self, const py::args&) { self.close(); })
      .def("__repr__", [](self_t self) {
        if (!self.client) return std::string("<crew.Client closed>");
        return "<crew.Client " + self.client->connection_file().string() + ">";
      });
}

}  // namespace crew::python
