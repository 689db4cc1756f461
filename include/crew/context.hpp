#pragma once
// crew::Context: what a function running on an engine can see of its engine.
//
// A registered function may take `crew::Context&` as its first parameter:
//   double local_sum(crew::Context& ctx, std::vector<double> xs);
// It gets the engine's id, MPI rank and world size, the world's MPI communicator (for the
// function's own collectives across the engines of a view), the engine's namespace, and streams
// whose text returns to the client as the task's stdout/stderr.

#include <mpi.h>

#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "crew/export.hpp"
#include "crew/value.hpp"

namespace crew {

namespace detail {
class Executor;
}

/// An engine's variables: what push() sets, pull() reads and crew::Ref names.
class CREW_API Namespace {
public:
  bool contains(std::string_view name) const { return values_.find(name) != values_.end(); }
  /// Throws Error [crew.remote.unknown_name] listing the names it has.
  const Value& get(std::string_view name) const;
  Value* find(std::string_view name);
  /// Sets `name`. A name the application exposed keeps its memory: the value is written into it,
  /// converted to its element type, and must have its number of elements (else Error
  /// [crew.remote.mismatch], and nothing changes).
  void set(std::string name, Value value);
  /// Erases `name`; false if there is none. An exposed name stays (false).
  bool erase(std::string_view name);
  /// Erases every name but the exposed ones.
  void clear();
  std::vector<std::string> names() const;
  std::size_t size() const noexcept { return values_.size(); }

  /// `name` is the application's own array (Engine::expose): `view` reads the memory at
  /// `writable` in place (pull, gather, save_h5), and set() writes into it (push, scatter).
  void expose(std::string name, Array view, void* writable);
  bool exposed(std::string_view name) const { return exposed_.find(name) != exposed_.end(); }

private:
  std::map<std::string, Value, std::less<>> values_;
  std::map<std::string, void*, std::less<>> exposed_;  ///< name -> the application's memory
};

class CREW_API Context {
public:
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int engine_id() const noexcept { return engine_id_; }
  int rank() const noexcept { return rank_; }
  int world_size() const noexcept { return world_size_; }
  int world_id() const noexcept { return world_id_; }
  /// The world's communicator for user code (crew's own traffic uses a separate one).
  MPI_Comm comm() const noexcept { return comm_; }
  Namespace& ns() noexcept { return *ns_; }
  /// Text written here (or to std::cout / std::cerr during the task) becomes the task's
  /// stdout / stderr in its metadata.
  std::ostream& out() noexcept { return *out_; }
  std::ostream& err() noexcept { return *err_; }
  /// The id of the running task.
  const std::string& msg_id() const noexcept { return *msg_id_; }
  const std::string& host() const noexcept { return *host_; }

private:
  friend class detail::Executor;
  Context(int engine_id, int rank, int world_size, int world_id, MPI_Comm comm, Namespace& ns, std::ostream& out,
          std::ostream& err, const std::string& msg_id, const std::string& host)
      : engine_id_(engine_id), rank_(rank), world_size_(world_size), world_id_(world_id), comm_(comm), ns_(&ns),
        out_(&out), err_(&err), msg_id_(&msg_id), host_(&host) {}

  int engine_id_;
  int rank_;
  int world_size_;
  int world_id_;
  MPI_Comm comm_;
  Namespace* ns_;
  std::ostream* out_;
  std::ostream* err_;
  const std::string* msg_id_;
  const std::string* host_;
};

}  // namespace crew
