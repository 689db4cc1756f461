// save_h5 / load_h5: one dataset in one HDF5 file, each engine writing or reading its own rows
// with parallel HDF5 (MPI-IO, collective transfers). Data on the cluster's file system never
// travels to the controller or the client. Built as its own module, libcrew_h5.so, which
// libcrew_engine loads on first use (engine/h5_module.hpp).
#include <hdf5.h>

#include <filesystem>
#include <numeric>
#include <utility>

#include "common/clock.hpp"
#include "engine/collective_call.hpp"
#include "engine/h5_chunks.hpp"
#include "engine/h5_module.hpp"
#include "engine/mpi_check.hpp"
#include "engine/mpi_frames.hpp"
#include "values/sequence.hpp"

namespace crew::detail {
namespace {

using collective::Verdict;

hid_t h5_type_of(dtype t) {
  switch (t) {
  case dtype::int8: return H5T_NATIVE_INT8;
  case dtype::int16: return H5T_NATIVE_INT16;
  case dtype::int32: return H5T_NATIVE_INT32;
  case dtype::int64: return H5T_NATIVE_INT64;
  case dtype::uint8: return H5T_NATIVE_UINT8;
  case dtype::uint16: return H5T_NATIVE_UINT16;
  case dtype::uint32: return H5T_NATIVE_UINT32;
  case dtype::uint64: return H5T_NATIVE_UINT64;
  case dtype::float32: return H5T_NATIVE_FLOAT;
  case dtype::float64: return H5T_NATIVE_DOUBLE;
  }
  return H5T_NATIVE_DOUBLE;
}

/// The crew dtype of a dataset's stored type, or nullopt (strings, compounds, ...).
std::optional<dtype> dtype_of_h5(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT) {
    if (size == 4) return dtype::float32;
    if (size == 8) return dtype::float64;
  } else if (cls == H5T_INTEGER) {
    const bool sign = H5Tget_sign(type) == H5T_SGN_2;
    switch (size) {
    case 1: return sign ? dtype::int8 : dtype::uint8;
    case 2: return sign ? dtype::int16 : dtype::uint16;
    case 4: return sign ? dtype::int32 : dtype::uint32;
    case 8: return sign ? dtype::int64 : dtype::uint64;
    default: break;
    }
  }
  return std::nullopt;
}

/// Closes an HDF5 handle at scope exit.
class Handle {
public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      if (id_ >= 0) close_(id_);
      id_ = std::exchange(other.id_, -1);
      close_ = other.close_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const noexcept { return id_; }
  bool ok() const noexcept { return id_ >= 0; }

private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

/// True on every participant iff `ok` on all of them (so they all take the same path).
bool all_agree(const Collectives::Call& call, bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  CREW_MPI_CHECK(MPI_Allreduce, (&mine, &all, 1, MPI_INT, MPI_MIN, call.comm));
  return all == 1;
}

Handle open_file(const Collectives::Call& call, const std::string& path, bool create) {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fapl_mpio(fapl.get(), call.comm, MPI_INFO_NULL);
  if (create) return Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
  return Handle(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), H5Fclose);
}

Handle open_file_readonly(const Collectives::Call& call, const std::string& path) {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fapl_mpio(fapl.get(), call.comm, MPI_INFO_NULL);
  return Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
}

Handle collective_transfer() {
  Handle dxpl(H5Pcreate(H5P_DATASET_XFER), H5Pclose);
  H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE);
  return dxpl;
}

std::string dataset_path(const std::string& name) { return name.empty() || name.front() != '/' ? "/" + name : name; }

/// Rows [offset, offset + rows) of a dataset with trailing dimensions `tail`, as a file and a
/// memory selection (nothing selected for rows == 0: the rank still joins the collective call).
struct Selection {
  Handle file;
  Handle memory;
};
Selection select_rows(hid_t dataset, std::uint64_t offset, std::uint64_t rows, const std::vector<hsize_t>& tail) {
  Selection s{Handle(H5Dget_space(dataset), H5Sclose), Handle(-1, H5Sclose)};
  std::vector<hsize_t> start{offset}, count{rows};
  for (auto d : tail) start.push_back(0), count.push_back(d);
  std::vector<hsize_t> mem_dims = count;
  if (rows == 0) mem_dims.front() = 1;
  s.memory = Handle(H5Screate_simple(static_cast<int>(mem_dims.size()), mem_dims.data(), nullptr), H5Sclose);
  if (rows == 0) {
    H5Sselect_none(s.file.get());
    H5Sselect_none(s.memory.get());
  } else {
    H5Sselect_hyperslab(s.file.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  }
  return s;
}

// save_h5(file, name, dataset, create): the world's targets write their arrays as consecutive
// rows of one dataset; `create` starts a new file, otherwise the rows are appended (the worlds
// of a multi-world view take turns, in engine order).
std::optional<wire::Outgoing> save_h5(Collectives::Call& call, Namespace& ns) {
  const Value& args = call.args;
  const bool args_ok = args.is_list() && (args.size() == 4 || (args.size() == 5 && args[4].is_int())) &&
                       args[0].is_string() && args[1].is_string() && args[2].is_string() && args[3].is_bool();
  const std::string name = args_ok ? args[1].as_string() : std::string();
  // An array, or a list numpy.array would make one of (collective::describe_array).
  const collective::Holding held = call.is_target() ? collective::describe_array(ns.find(name)) : collective::Holding{};
  const auto all = collective::gather_holdings(call, held);

  Verdict v;
  if (call.root()) {
    std::vector<int> missing, not_array;
    std::vector<std::uint64_t> rows;
    for (int p = 0; p < call.participants(); ++p) {
      const collective::Holding& h = all[static_cast<std::size_t>(p)];
      rows.push_back(h.ok() && !h.shape.empty() ? h.shape.front() : 0);
      if (h.status == collective::Holding::Status::missing) missing.push_back(call.engine_of(p));
      if (h.status == collective::Holding::Status::not_array) not_array.push_back(call.engine_of(p));
    }
    const collective::Agreement agreed = collective::agree(call, all, true);
    if (!args_ok) {
      v = {errc::bad_arguments, "crew.save_h5 takes (file, name, dataset, create[, worlds])", {}};
    } else if (!missing.empty()) {
      v = {errc::unknown_name,
           "no '" + name + "' on " + collective::engines_text(missing) + " (push or scatter it first)",
           {}};
    } else if (!not_array.empty()) {
      std::string what;
      for (int p = 0; p < call.participants() && what.empty(); ++p)
        if (call.engine_of(p) == not_array.front()) what = all[static_cast<std::size_t>(p)].what;
      v = {errc::not_a_sequence,
           "'" + name + "' is not an array on " + collective::engines_text(not_array) + " (" + what +
               "); save_h5 writes arrays and lists of numbers",
           {}};
    } else if (!agreed.ok()) {
      std::string groups;
      for (const auto& g : agreed.groups) groups += (groups.empty() ? "" : ", ") + g;
      v = {errc::mismatch,
           "'" + name + "' cannot be one dataset: " + groups +
               "; every engine's part needs one dtype and the same shape after the first axis",
           {}};
    } else {
      v.info.rows = std::move(rows);
      v.info.type = agreed.type;
      v.info.shape = agreed.shape;
    }
  }
  v = collective::share_verdict(call, std::move(v));
  if (!v.ok()) return collective::own_reply(call, v);

  const std::string path = args[0].as_string();
  const std::string dset_path = dataset_path(args[2].as_string());
  const bool create = args[3].as_bool();
  const std::int64_t worlds = args.size() == 5 ? args[4].as_int() : 1;  // worlds writing in turn
  const dtype type = v.info.type.value_or(dtype::float64);
  const std::vector<hsize_t> tail(v.info.shape.begin(), v.info.shape.end());
  const auto& rows = v.info.rows;
  const std::uint64_t world_rows = std::accumulate(rows.begin(), rows.end(), std::uint64_t{0});
  std::uint64_t my_offset = 0;
  for (int p = 0; p < call.me; ++p) my_offset += rows[static_cast<std::size_t>(p)];

  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  auto fail = [&](errc code, const std::string& message) {
    return collective::own_reply(call, Verdict{code, message, {}});
  };
  Handle file = open_file(call, path, create);
  if (!all_agree(call, file.ok()))
    return fail(errc::io_failed, std::string("cannot ") + (create ? "create" : "open") + " HDF5 file '" + path +
                                     "' on the engines' host (check the directory exists and is writable there)");

  // The dataset: created with room to grow along the first axis, or extended to take our rows.
  Handle dset(-1, H5Dclose);
  std::uint64_t start = 0;
  const bool exists = H5Lexists(file.get(), dset_path.c_str(), H5P_DEFAULT) > 0;
  if (!exists) {
    std::vector<hsize_t> dims{world_rows}, maxdims{H5S_UNLIMITED};
    for (auto d : tail) dims.push_back(d), maxdims.push_back(d);
    // Chunks fit the data (engine/h5_chunks.hpp). The worlds after this one append their rows:
    // the chunks are sized as if each brought as many as this one.
    std::vector<std::uint64_t> expected(dims.begin(), dims.end());
    expected.front() *= static_cast<std::uint64_t>(std::max<std::int64_t>(1, worlds));
    const auto chunk_u64 = h5::chunk_dims(std::move(expected), dtype_size(type));
    const std::vector<hsize_t> chunk(chunk_u64.begin(), chunk_u64.end());
    Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()), H5Sclose);
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    dset = Handle(
        H5Dcreate2(file.get(), dset_path.c_str(), h5_type_of(type), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
        H5Dclose);
  } else {
    dset = Handle(H5Dopen2(file.get(), dset_path.c_str(), H5P_DEFAULT), H5Dclose);
    bool fits = dset.ok();
    if (fits) {
      Handle space(H5Dget_space(dset.get()), H5Sclose);
      Handle stored(H5Dget_type(dset.get()), H5Tclose);
      std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(0, H5Sget_simple_extent_ndims(space.get()))));
      H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
      fits = !dims.empty() && std::vector<hsize_t>(dims.begin() + 1, dims.end()) == tail &&
             dtype_of_h5(stored.get()) == type;
      if (fits) {
        start = dims.front();
        dims.front() += world_rows;
        fits = H5Dset_extent(dset.get(), dims.data()) >= 0;
      }
    }
    if (!all_agree(call, fits))
      return fail(errc::mismatch, "dataset " + dset_path + " in '" + path + "' cannot take rows of " +
                                      std::string(dtype_name(type)) + " with trailing shape " +
                                      Value(Value::List(v.info.shape.begin(), v.info.shape.end())).repr() +
                                      " (another dtype or shape, or not extensible)");
  }
  if (!all_agree(call, dset.ok()))
    return fail(errc::io_failed, "cannot create dataset " + dset_path + " in '" + path + "'");

  const std::uint64_t my_rows = rows[static_cast<std::size_t>(call.me)];
  Selection sel = select_rows(dset.get(), start + my_offset, my_rows, tail);
  Array mine;  // a list becomes the array the root agreed on
  if (call.is_target() && my_rows) mine = collective::held_array(*ns.find(name), type);
  const void* data = my_rows ? static_cast<const void*>(mine.data().data()) : nullptr;
  Handle dxpl = collective_transfer();
  const herr_t wrote = H5Dwrite(dset.get(), h5_type_of(type), sel.memory.get(), sel.file.get(), dxpl.get(), data);
  if (!all_agree(call, wrote >= 0))
    return fail(errc::io_failed, "writing " + dset_path + " in '" + path + "' failed (disk full or quota?)");
  return collective::own_reply(call, v,
                               Value::dict({{"file", path},
                                            {"dataset", dset_path},
                                            {"offset", static_cast<std::int64_t>(start + my_offset)},
                                            {"rows", static_cast<std::int64_t>(my_rows)}}));
}

// load_h5(file, dataset, name, first, total): the dataset split along its first axis as scatter
// would split it over `total` engines, of which this world's targets are numbers first, first+1, ...
std::optional<wire::Outgoing> load_h5(Collectives::Call& call, Namespace& ns) {
  const Value& args = call.args;
  Verdict v;
  if (!(args.is_list() && args.size() == 5 && args[0].is_string() && args[1].is_string() && args[2].is_string() &&
        args[3].is_int() && args[4].is_int() && args[4].as_int() >= 1))
    v = {errc::bad_arguments, "crew.load_h5 takes (file, dataset, name, first, total)", {}};
  else if (call.root() && !std::filesystem::exists(args[0].as_string()))
    v = {errc::io_failed, "no HDF5 file '" + args[0].as_string() + "' on the engines' host (save_h5 writes one)", {}};
  v = collective::share_verdict(call, std::move(v));
  if (!v.ok()) return collective::own_reply(call, v);

  const std::string path = args[0].as_string();
  const std::string dset_path = dataset_path(args[1].as_string());
  auto fail = [&](errc code, const std::string& message) {
    return collective::own_reply(call, Verdict{code, message, {}});
  };
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  Handle file = open_file_readonly(call, path);
  if (!all_agree(call, file.ok())) return fail(errc::io_failed, "'" + path + "' is not an HDF5 file crew can read");
  const bool exists = H5Lexists(file.get(), dset_path.c_str(), H5P_DEFAULT) > 0;
  Handle dset(exists ? H5Dopen2(file.get(), dset_path.c_str(), H5P_DEFAULT) : -1, H5Dclose);
  if (!all_agree(call, dset.ok()))
    return fail(errc::io_failed, "no dataset " + dset_path + " in '" + path + "' (h5dump -n lists what it has)");

  Handle space(H5Dget_space(dset.get()), H5Sclose);
  Handle stored(H5Dget_type(dset.get()), H5Tclose);
  const auto type = dtype_of_h5(stored.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(0, H5Sget_simple_extent_ndims(space.get()))));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  if (!type) return fail(errc::mismatch, "dataset " + dset_path + " holds a type crew has no dtype for (numbers only)");
  if (dims.empty())
    return fail(errc::mismatch, "dataset " + dset_path + " is a scalar; load_h5 splits along the first axis");

  // My rows: the global partition over `total` engines.
  const auto sizes = seq::partition(dims.front(), static_cast<std::size_t>(args[4].as_int()));
  const std::int64_t index = call.is_target() ? args[3].as_int() + call.my_target() : -1;
  std::uint64_t offset = 0, my_rows = 0;
  if (index >= 0 && static_cast<std::size_t>(index) < sizes.size()) {
    for (std::int64_t i = 0; i < index; ++i) offset += sizes[static_cast<std::size_t>(i)];
    my_rows = sizes[static_cast<std::size_t>(index)];
  }
  const std::vector<hsize_t> tail(dims.begin() + 1, dims.end());
  std::uint64_t row_elems = 1;
  for (auto d : tail) row_elems *= d;
  auto buffer = collective::allocate(static_cast<std::size_t>(my_rows * row_elems * dtype_size(*type)));
  Selection sel = select_rows(dset.get(), offset, my_rows, tail);
  Handle dxpl = collective_transfer();
  const herr_t read = H5Dread(dset.get(), h5_type_of(*type), sel.memory.get(), sel.file.get(), dxpl.get(),
                              my_rows ? buffer.data : nullptr);
  if (!all_agree(call, read >= 0)) return fail(errc::io_failed, "reading " + dset_path + " in '" + path + "' failed");
  if (!call.is_target()) return std::nullopt;
  std::vector<std::uint64_t> shape{my_rows};
  shape.insert(shape.end(), tail.begin(), tail.end());
  ns.set(args[2].as_string(), Value(Array(*type, std::move(shape), buffer.buffer)));
  return collective::own_reply(
      call, v,
      Value::dict({{"offset", static_cast<std::int64_t>(offset)}, {"rows", static_cast<std::int64_t>(my_rows)}}));
}

}  // namespace
}  // namespace crew::detail

extern "C" __attribute__((visibility("default"))) const crew::detail::h5::Ops* crew_h5_ops() {
  static const crew::detail::h5::Ops ops{&crew::detail::save_h5, &crew::detail::load_h5};
  return &ops;
}
