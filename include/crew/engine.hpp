#pragma once
// crew::Engine: every MPI rank of a world is an engine; rank 0 also bridges the world to the
// controller over ZeroMQ. `crew-engine` is a thin main() around this class, and an existing MPI
// application can construct one on its own communicator.
//
//   MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
//   crew::EngineOptions options;                                    // profile "default"
//   crew::Engine engine(MPI_COMM_WORLD, options);                   // collective: registers the world
//   engine.run();                                                   // serves until shut down
//   MPI_Finalize();
//
// A simulation that keeps its own loop serves between its steps instead, and offers functions
// of its own:
//
//   engine.define("set_dt", [&](double v) { dt = v; });            // on every rank
//   for (int step = 0; running; ++step) {
//     advance(field, dt);                                           // the application's step
//     if (!engine.poll()) break;                                    // serves what came; false: shut down
//   }
//   engine.leave();                                                 // or the destructor does it

#include <mpi.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "crew/context.hpp"
#include "crew/export.hpp"
#include "crew/function.hpp"

namespace crew {

struct EngineOptions {
  std::string profile = "default";                    ///< finds $CREW_HOME/profile_<profile>/engine.json
  std::filesystem::path engine_file;                  ///< or this connection file
  std::vector<std::string> plugins;                   ///< shared libraries to load on every rank at start
  std::chrono::milliseconds register_timeout{30000};  ///< how long rank 0 waits for the controller
  /// What this rank offers to load-balanced tasks' `require` (e.g. {"gpu": true}); every
  /// engine also has "host".
  Value::Dict properties;
  /// A task's output is also what the process writes to file descriptors 1 and 2 while it runs
  /// (printf, Fortran, child processes), not only what goes through std::cout / std::cerr /
  /// Context::out(). crew-engine turns it on; an application that embeds an engine keeps its own
  /// stdout and stderr unless it sets this (they become memory files this engine reads).
  bool capture_fds = false;
};

namespace detail {
class EngineImpl;
}

class CREW_API Engine {
public:
  /// Collective over `comm`: every rank constructs it. Loads plugins, then rank 0 registers the
  /// world with the controller. Throws on every rank if that fails (the message says why).
  Engine(MPI_Comm comm, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Serves tasks until the controller shuts the world down (collective).
  void run();

  /// Between an application's steps (collective: every rank calls it at the same step): serves
  /// the tasks, collectives and transfers that came since the last call, on every rank exactly
  /// those that rank 0's bridge had handed out when rank 0 called it (so all ranks take part in
  /// the same collectives), then returns; at once when nothing came. Heartbeats and the
  /// controller's traffic go on in rank 0's bridge thread meanwhile. False once the world was
  /// shut down (`crew cluster stop`): stop calling it.
  bool poll();
  /// The application is done with the world (collective): it leaves the controller cleanly
  /// after serving what it still holds. The destructor does it for an engine that polled.
  void leave();
  /// Offers `f` as the function `name` (on this rank: call it on every rank), as CREW_FUNCTION
  /// does at load time; e.g. `engine.define("set_dt", [&](double v) { dt = v; })`.
  template <class F>
  void define(std::string name, F&& f) {
    register_function(std::move(name), std::forward<F>(f));
  }
  /// Offers the application's own array `data` as this rank's variable `name`, in place (on
  /// this rank: call it on every rank whose part the client should see): pull, gather and
  /// save_h5 read it where it is, push and scatter write into it (as many elements, converted
  /// to T), always between steps, in poll(), which returns only once no reply still points into
  /// it. `shape` is how clients see it (default: one dimension). The memory must outlive the
  /// engine, or the next expose of `name`.
  template <class T>
  void expose(std::string name, std::span<T> data, std::vector<std::uint64_t> shape = {}) {
    static_assert(!std::is_const_v<T>, "expose a writable span: push and scatter write into it");
    if (shape.empty()) shape.push_back(data.size());
    std::shared_ptr<const void> owner(data.data(), [](const void*) {});  // the application owns it
    Array view(dtype_of<T>(), std::move(shape), Buffer::view(owner, data.data(), data.size_bytes()));
    expose_array(std::move(name), std::move(view), data.data(), std::move(owner));
  }

  int engine_id() const noexcept;
  int rank() const noexcept;
  int world_size() const noexcept;
  int world_id() const noexcept;

private:
  void expose_array(std::string name, Array view, void* writable, std::shared_ptr<const void> owner);
  std::unique_ptr<detail::EngineImpl> impl_;
};

/// Loads a plugin library into this process (its CREW_FUNCTIONs register as it loads).
/// Returns the names it added; throws Error [crew.remote.plugin_failed] with the loader's message.
CREW_API std::vector<std::string> load_plugin(const std::string& path);

}  // namespace crew
