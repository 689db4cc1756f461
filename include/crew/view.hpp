#pragma once
// crew::DirectView: work addressed to exactly its engines, in submission order per engine.
// A view captures its targets when it is created.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crew/async_map.hpp"
#include "crew/async_result.hpp"
#include "crew/export.hpp"
#include "crew/reduce_op.hpp"
#include "crew/value.hpp"

namespace crew {

namespace detail {
class ClientCore;
struct Bulk;
}  // namespace detail

class CREW_API DirectView {
public:
  const std::vector<int>& targets() const noexcept { return targets_; }

  /// Calls a registered function by name on every target: view.apply("mul", 5, 6).
  /// Arguments are converted with crew::to_value; crew::Ref("x") names a variable on the engine.
  template <class... A>
  AsyncResult apply(std::string_view function, const A&... args) const {
    return apply_list(function, Value::List{to_value(args)...});
  }
  AsyncResult apply_list(std::string_view function, Value::List args) const;

  /// `function` on every item of `sequence`, split into one contiguous part per target (as
  /// scatter splits): one task per engine; results joined in item order.
  template <class T>
  AsyncMap map(std::string_view function, T&& sequence) const {
    return map_value(function, to_value(std::forward<T>(sequence)));
  }
  AsyncMap map_value(std::string_view function, Value sequence) const;
  /// `function(a[i], b[i], ...)` for every i, over several sequences of one length (as Python's
  /// map(f, xs, ys)). Throws InputError [crew.input.bad_option] if their lengths differ.
  AsyncMap map_values(std::string_view function, std::vector<Value> sequences) const;

  /// Runs a shell command on each engine's host: {"stdout", "stderr", "status"} per engine.
  AsyncResult exec(const std::string& command) const;
  /// Sets variables in every target's namespace: one message per world, broadcast inside it
  /// with MPI.
  AsyncResult push(Value::Dict values) const;
  /// One variable's value per engine.
  AsyncResult pull(const std::string& name) const;
  /// Several variables: a dict {name: value} per engine.
  AsyncResult pull(const std::vector<std::string>& names) const;
  /// Loads a plugin library on every target (a path the engines can read).
  AsyncResult load_plugin(const std::string& path) const;
  /// Empties every target's namespace.
  AsyncResult clear() const;

  // --- the hybrid data path: MPI collectives inside each world, split and joined per world ---

  /// Splits `sequence` (an array along its first axis, or a list) into contiguous parts, one per
  /// target in engine-id order, sizes differing by at most one, and sets `name` to its part on
  /// each engine. Pass an rvalue to send a large std::vector without copying it.
  template <class T>
  AsyncResult scatter(const std::string& name, T&& sequence) const {
    return scatter_value(name, to_value(std::forward<T>(sequence)));
  }
  AsyncResult scatter_value(const std::string& name, Value sequence) const;
  /// The engines' `name` joined in engine-id order (the inverse of scatter): get() returns one
  /// array or list.
  AsyncResult gather(const std::string& name) const;
  /// The engines' `name` combined element by element (numbers, or arrays of one dtype and
  /// shape): MPI_Reduce in each world, the worlds' results combined at the controller.
  AsyncResult reduce(const std::string& name, op o) const;
  /// Writes the engines' arrays `name` as consecutive rows (engine-id order) of one dataset in
  /// one HDF5 file, with parallel HDF5; `dataset` defaults to "/<name>". The path is on the
  /// engines' file system. Replaces the file.
  AsyncResult save_h5(const std::string& file, const std::string& name, const std::string& dataset = {}) const;
  /// Reads `dataset` of an HDF5 file into `name`, split along its first axis as scatter would.
  AsyncResult load_h5(const std::string& file, const std::string& dataset, const std::string& name) const;

private:
  friend class Client;
  /// A collective over the targets in engine-id order; `joined`: one result for all of them.
  /// `bulk`: an array that goes outside the request (null where it goes in `args`).
  AsyncResult collective(std::string_view function, Value::List args, bool joined,
                         const detail::Bulk* bulk = nullptr) const;

  DirectView(std::shared_ptr<detail::ClientCore> core, std::vector<int> targets, bool single)
      : core_(std::move(core)), targets_(std::move(targets)), single_(single) {}

  std::shared_ptr<detail::ClientCore> core_;
  std::vector<int> targets_;
  bool single_ = false;
};

}  // namespace crew
