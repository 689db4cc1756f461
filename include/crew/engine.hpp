#pragma once
// crew::Engine: every MPI rank of a world is an engine; rank 0 also bridges the world to the
// controller over ZeroMQ. `crew-engine` is a thin main() around this class, and an existing MPI
// application can construct one on its own communicator.
//
//   MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
//   crew::Engine engine(MPI_COMM_WORLD, {.profile = "default"});   // collective: registers the world
//   engine.run();                                                   // serves until shut down
//   MPI_Finalize();

#include <mpi.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
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

  int engine_id() const noexcept;
  int rank() const noexcept;
  int world_size() const noexcept;
  int world_id() const noexcept;

private:
  std::unique_ptr<detail::EngineImpl> impl_;
};

/// Loads a plugin library into this process (its CREW_FUNCTIONs register as it loads).
/// Returns the names it added; throws Error [crew.remote.plugin_failed] with the loader's message.
CREW_API std::vector<std::string> load_plugin(const std::string& path);

}  // namespace crew
