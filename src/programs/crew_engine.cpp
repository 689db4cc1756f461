// crew-engine: the MPI program. `mpirun -n N crew-engine [--profile P | --file engine.json] [--plugin lib.so]...`
// Every rank is an engine; rank 0 also bridges the world to the controller.
#include "common/memory.hpp"
#include <mpi.h>

#include <CLI/CLI.hpp>

#include <iostream>

#include "common/log.hpp"
#include "common/properties.hpp"
#include "crew/engine.hpp"
#include "crew/version.hpp"

int main(int argc, char** argv) {
  crew::keep_freed_memory_for_reuse();  // bulk messages reuse warm memory (common/memory.hpp)
  crew::EngineOptions options;
  double timeout_s = 30;
  std::string log_level;
  std::vector<std::string> properties;
  CLI::App app{"crew-engine: an MPI program whose every rank is a crew engine.\n"
               "Run it under mpirun: mpirun -n 4 crew-engine --profile default",
               "crew-engine"};
  app.set_version_flag("--version", std::string("crew-engine ") + crew::version_string);
  app.add_option("--profile", options.profile, "profile whose engine.json to use ($CREW_HOME/profile_<name>)")
      ->capture_default_str();
  app.add_option("--file", options.engine_file,
                 "an engine.json connection file (overrides --profile); '-': rank 0 reads it on standard input");
  app.add_option("--plugin", options.plugins, "a shared library of CREW_FUNCTIONs to load on every rank (repeatable)");
  app.add_option("--timeout", timeout_s, "seconds to wait for the controller to answer the registration")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error (default $CREW_LOG_LEVEL or info)");
  app.add_option("--property", properties,
                 "KEY=VALUE this engine offers to load-balanced tasks' `require` (repeatable; VALUE is JSON or text)");
  // Parse before MPI_Init so --help and --version work without an MPI launch.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  options.register_timeout = std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  try {
    options.properties = crew::parse_properties(properties);
  } catch (const crew::Error& e) {
    std::cerr << "crew-engine: " << e.what() << std::endl;
    return 2;
  }

  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  crew::logging::init("engine." + std::to_string(rank), {}, log_level);
  int status = 0;
  try {
    crew::Engine engine(MPI_COMM_WORLD, options);
    engine.run();
  } catch (const std::exception& e) {
    // Registration failures reach every rank with the same message; say it once.
    if (rank == 0 || std::string(e.what()).find("plugin") != std::string::npos)
      std::cerr << "crew-engine (rank " << rank << "): " << e.what() << std::endl;
    status = 1;
  }
  MPI_Finalize();
  return status;
}
