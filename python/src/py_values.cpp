// Python objects <-> crew::Value.
#include "py_values.hpp"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <crew/error.hpp>
#include <crew/load_balanced_view.hpp>

namespace crew::python {
namespace {

/// As deep as crew's wire format nests values (protocol/value_codec.hpp).
constexpr int max_depth = 200;

Value convert(py::handle object, int depth);

// --- keeping Python objects alive from crew's threads --------------------------------------------
//
// A NumPy array sent without a copy is owned by a crew::Buffer, which the client's I/O thread may
// drop without the GIL. Taking the GIL there could deadlock (a Python thread holding it may wait
// for that I/O thread), so such a thread hands the reference to the interpreter, which drops it
// on its main thread at the next chance (Py_AddPendingCall).

std::mutex dropped_mutex;
std::vector<PyObject*> dropped;  // references to drop on the main thread
bool drop_scheduled = false;

int drop_pending(void*) {
  std::vector<PyObject*> batch;
  {
    std::lock_guard lock(dropped_mutex);
    batch.swap(dropped);
    drop_scheduled = false;
  }
  for (PyObject* object : batch) Py_DECREF(object);
  return 0;
}

void drop_reference(PyObject* object) {
  if (!Py_IsInitialized()) return;  // the interpreter is gone, and its objects with it
  if (PyGILState_Check()) {
    Py_DECREF(object);
    return;
  }
  std::lock_guard lock(dropped_mutex);
  dropped.push_back(object);
  if (!drop_scheduled && Py_AddPendingCall(drop_pending, nullptr) == 0) drop_scheduled = true;
}

/// A Buffer over `data` that holds a reference to `owner` until crew drops the last copy.
Buffer borrow(py::handle owner, const void* data, std::size_t size) {
  PyObject* held = owner.inc_ref().ptr();
  std::shared_ptr<const void> keep(held,
                                   [](const void* p) { drop_reference(static_cast<PyObject*>(const_cast<void*>(p))); });
  return Buffer::view(std::move(keep), data, size);
}

// --- NumPy ---------------------------------------------------------------------------------------

// Imported once, when the module is (bind_values): a first import inside a conversion could hand
// the GIL to another thread that waits for the same function-local static, and both would hang.
struct Imports {
  py::object numpy;          ///< None when NumPy is not installed
  py::object numpy_generic;  ///< numpy.generic: NumPy's scalars
  py::object datetime;
  py::object utc;
};
Imports* imports = nullptr;  // made in bind_values, kept for the process

bool have_numpy() { return !imports->numpy.is_none(); }

bool is_numpy_scalar(py::handle object) {
  return have_numpy() && PyObject_IsInstance(object.ptr(), imports->numpy_generic.ptr()) == 1;
}

/// numpy.ma.MaskedArray, if a program imported numpy.ma (a masked array cannot exist otherwise).
bool is_masked_array(py::handle object) {
  PyObject* ma = PyImport_GetModule(py::str("numpy.ma").ptr());
  if (ma == nullptr) {
    PyErr_Clear();
    return false;
  }
  const auto module = py::reinterpret_steal<py::object>(ma);
  return PyObject_IsInstance(object.ptr(), module.attr("MaskedArray").ptr()) == 1;
}

[[noreturn]] void refuse_dtype(const py::array& a) {
  throw_error(errc::value_type,
              "crew cannot send a NumPy array of dtype " + std::string(py::str(a.dtype())) +
                  ": it sends arrays of int8..int64, uint8..uint64, float32 and float64",
              "convert it first, e.g. a.astype('float64') (bool: a.astype('uint8'))");
}

dtype dtype_of_array(const py::array& a) {
  const py::dtype t = a.dtype();
  const auto size = t.itemsize();
  switch (t.kind()) {
  case 'i':
    if (size == 1) return dtype::int8;
    if (size == 2) return dtype::int16;
    if (size == 4) return dtype::int32;
    if (size == 8) return dtype::int64;
    break;
  case 'u':
    if (size == 1) return dtype::uint8;
    if (size == 2) return dtype::uint16;
    if (size == 4) return dtype::uint32;
    if (size == 8) return dtype::uint64;
    break;
  case 'f':
    if (size == 4) return dtype::float32;
    if (size == 8) return dtype::float64;
    break;
  default: break;
  }
  refuse_dtype(a);
}

Value array_to_value(py::array a, int depth) {
  if (is_masked_array(a))
    throw_error(errc::value_type, "crew sends no NumPy masked arrays (the mask would be lost)",
                "send a.filled(value) or a.compressed()");
  if (a.ndim() == 0) return convert(a.attr("item")(), depth);
  const dtype type = dtype_of_array(a);
  const char order = a.dtype().attr("byteorder").cast<std::string>().at(0);
  if (order == '>') a = a.attr("astype")(a.dtype().attr("newbyteorder")("="));  // a copy, in this machine's order
  if (!(a.flags() & py::array::c_style)) a = imports->numpy.attr("ascontiguousarray")(a);  // a copy, rows contiguous
  std::vector<std::uint64_t> shape(a.shape(), a.shape() + a.ndim());
  return Value(Array(type, std::move(shape), borrow(a, a.data(), static_cast<std::size_t>(a.nbytes()))));
}

py::object array_to_python(const Array& array) {
  if (!have_numpy())
    throw_error(errc::value_type, "an array arrived, and NumPy is needed to receive arrays",
                "install it: apt-get install python3-numpy");
  auto* kept = new Buffer(array.data());
  py::capsule owner(kept, [](void* p) { delete static_cast<Buffer*>(p); });
  std::vector<py::ssize_t> shape(array.shape().begin(), array.shape().end());
  const py::dtype type = py::dtype::from_args(py::str(std::string(dtype_name(array.type()))));
  py::array out(type, std::move(shape), {}, array.data().empty() ? nullptr : array.data().data(), owner);
  // The buffer is shared (another get() returns the same one): reading it is free, writing is
  // for a copy (numpy.array(x)).
  out.attr("flags").attr("writeable") = false;
  return out;
}

// --- the rest ------------------------------------------------------------------------------------

std::int64_t int_of(py::handle object) {
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(object.ptr(), &overflow);
  if (overflow != 0)
    throw_error(errc::value_type, "the int " + std::string(py::str(object)) + " does not fit in 64 bits",
                "crew sends ints from -2**63 to 2**63-1; send a float or a str for larger ones");
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  return v;
}

std::string string_of(py::handle object) {
  Py_ssize_t size = 0;
  if (const char* data = PyUnicode_AsUTF8AndSize(object.ptr(), &size)) return {data, static_cast<std::size_t>(size)};
  // Lone surrogates: the bytes a received string carried that were not UTF-8 (string_to_python
  // decodes with surrogateescape), sent back as they came.
  PyErr_Clear();
  PyObject* bytes = PyUnicode_AsEncodedString(object.ptr(), "utf-8", "surrogateescape");
  if (bytes == nullptr) throw py::error_already_set();
  const auto owned = py::reinterpret_steal<py::bytes>(bytes);
  return std::string(owned);
}

Value range_to_value(py::handle r) {
  return to_value(crew::range(r.attr("start").cast<std::int64_t>(), r.attr("stop").cast<std::int64_t>(),
                              r.attr("step").cast<std::int64_t>()));
}

[[noreturn]] void refuse(py::handle object) {
  const std::string type = py::str(py::type::handle_of(object).attr("__qualname__"));
  throw_error(
      errc::value_type, "crew cannot send a Python " + type + " (" + std::string(py::repr(object)).substr(0, 80) + ")",
      "send None, bool, int, float, str, bytes, list, tuple, dict, range, a NumPy array of numbers or crew.Ref; "
      "convert it first (a set: list(s))");
}

py::object string_to_python(const std::string& s) {
  // Engines' text is UTF-8 as a rule; bytes that are not keep their values (surrogateescape).
  PyObject* text = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "surrogateescape");
  if (text == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(text);
}

Value convert(py::handle object, int depth) {
  PyObject* o = object.ptr();
  if (o == Py_None) return Value();
  if (PyBool_Check(o)) return Value(o == Py_True);
  if (PyLong_CheckExact(o)) return Value(int_of(object));
  if (PyFloat_Check(o)) return Value(PyFloat_AS_DOUBLE(o));
  if (PyUnicode_Check(o)) return Value(string_of(object));
  if (PyLong_Check(o)) return Value(int_of(object));  // an int subclass (IntEnum, ...)
  if (++depth > max_depth)
    throw_error(errc::value_type, "a value nested more than " + std::to_string(max_depth) + " levels deep",
                "crew sends at most that many levels (a list that contains itself has no end)");
  if (PyList_Check(o) || PyTuple_Check(o)) {
    const auto items = py::reinterpret_borrow<py::sequence>(object);
    Value::List list;
    list.reserve(items.size());
    for (const py::handle item : items) list.push_back(convert(item, depth));
    return Value(std::move(list));
  }
  if (PyDict_Check(o)) {
    Value::Dict dict;
    for (const auto& [key, value] : py::reinterpret_borrow<py::dict>(object)) {
      if (!PyUnicode_Check(key.ptr()))
        throw_error(errc::value_type,
                    "crew sends dicts with str keys; this one has the key " + std::string(py::repr(key)).substr(0, 80),
                    "convert the keys, e.g. {str(k): v for k, v in d.items()}");
      dict.insert_or_assign(string_of(key), convert(value, depth));
    }
    return Value(std::move(dict));
  }
  if (PyBytes_Check(o))  // bytes do not change: the Buffer views them
    return Value(borrow(object, PyBytes_AS_STRING(o), static_cast<std::size_t>(PyBytes_GET_SIZE(o))));
  if (have_numpy() && py::isinstance<py::array>(object))
    return array_to_value(py::reinterpret_borrow<py::array>(object), depth);
  if (PyByteArray_Check(o) || PyMemoryView_Check(o)) {  // they may change: sent as a copy
    PyObject* copy = PyBytes_FromObject(o);
    if (copy == nullptr) throw py::error_already_set();
    return convert(py::reinterpret_steal<py::object>(copy), depth);
  }
  if (PyRange_Check(o)) return range_to_value(object);
  if (py::isinstance<Ref>(object)) return Value(object.cast<Ref>());
  if (py::isinstance<Object>(object)) return Value(object.cast<Object>());
  if (is_numpy_scalar(object)) return convert(object.attr("item")(), depth);
  refuse(object);
}

}  // namespace

Value to_value(py::handle object) { return convert(object, 0); }

Value::List to_value_list(const py::args& args) {
  Value::List list;
  list.reserve(args.size());
  for (const py::handle a : args) list.push_back(to_value(a));
  return list;
}

py::object to_python(const Value& value) {
  switch (value.type()) {
  case Value::kind::null: return py::none();
  case Value::kind::boolean: return py::bool_(value.as_bool());
  case Value::kind::integer: return py::int_(value.as_int());
  case Value::kind::real: return py::float_(value.as_double());
  case Value::kind::string: return string_to_python(value.as_string());
  case Value::kind::bytes: {
    const Buffer& b = value.as_bytes();
    return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
  }
  case Value::kind::array: return array_to_python(value.as_array());
  case Value::kind::list: {
    const auto& items = value.as_list();
    py::list out(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) out[i] = to_python(items[i]);
    return out;
  }
  case Value::kind::dict: {
    py::dict out;
    for (const auto& [key, item] : value.as_dict()) out[string_to_python(key)] = to_python(item);
    return out;
  }
  case Value::kind::ref: return py::cast(value.as_ref());
  case Value::kind::object: return py::cast(value.as_object());
  }
  return py::none();
}

py::list items_of(const Value& sequence) {
  if (sequence.is_array()) {
    py::object array = to_python(sequence);
    if (sequence.as_array().ndim() == 1) return array.attr("tolist")();  // Python numbers, as a list gives
    return py::list(array);                                              // rows: read-only views
  }
  if (sequence.is_list()) return to_python(sequence);
  py::list one;
  one.append(to_python(sequence));
  return one;
}

py::object to_datetime(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) return py::none();
  const double seconds = std::chrono::duration<double>(t.time_since_epoch()).count();
  return imports->datetime.attr("datetime").attr("fromtimestamp")(seconds, imports->utc);
}

std::chrono::system_clock::time_point from_datetime(py::handle t) {
  const double seconds = t.attr("timestamp")().cast<double>();
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(seconds)));
}

void bind_values(py::module_& m) {
  imports = new Imports{py::none(), py::none(), py::module_::import("datetime"), py::none()};
  imports->utc = imports->datetime.attr("timezone").attr("utc");
  try {
    imports->numpy = py::module_::import("numpy");
    imports->numpy_generic = imports->numpy.attr("generic");
    (void)py::isinstance<py::array>(py::none());  // pybind11 binds NumPy's C API now, not mid-conversion
  } catch (const py::error_already_set&) {
    imports->numpy = py::none();  // crew works without NumPy; arrays then cannot arrive (array_to_python)
  }

  py::class_<Ref>(m, "Ref", R"(A name in each engine's namespace, resolved there: crew.Ref("x") as an argument
passes the engine's own x, so data that lives on the engines is not sent again.)")
      .def(py::init<std::string>(), py::arg("name"))
      .def_readonly("name", &Ref::name)
      .def("__repr__", [](const Ref& r) { return "crew.Ref(" + std::string(py::repr(py::str(r.name))) + ")"; })
      .def(
          "__eq__", [](const Ref& a, const Ref& b) { return a == b; }, py::is_operator())
      .def("__hash__", [](const Ref& r) { return py::hash(py::str(r.name)); });

  py::class_<Object>(m, "Object", R"(A C++ value of a user type, as its type name and the bytes it was serialized to
(crew::Object). It can be sent back as it came.)")
      .def(py::init([](std::string type, const py::bytes& data) {
             return Object{std::move(type), Buffer::copy(std::string_view(data))};
           }),
           py::arg("type"), py::arg("data"))
      .def_readonly("type", &Object::type)
      .def_property_readonly(
          "data",
          [](const Object& o) { return py::bytes(reinterpret_cast<const char*>(o.data.data()), o.data.size()); })
      .def("__repr__", [](const Object& o) {
        return "crew.Object(" + std::string(py::repr(py::str(o.type))) + ", <" + std::to_string(o.data.size()) +
               " bytes>)";
      });
}

}  // namespace crew::python
