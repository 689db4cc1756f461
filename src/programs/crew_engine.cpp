// crew-engine: the MPI program. `mpirun -n N crew-engine [--profile P | --file engine.json] [--plugin lib.so]...`
// Every rank is an engine; rank 0 also bridges the world to the controller.
#include "common/memory.hpp"
#include <mpi.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "common/log.hpp"
#include "crew/engine.hpp"
#include "crew/version.hpp"
#include "values/properties.hpp"

namespace {

/// A coarse timer slack for the calling thread while it is in scope, when this host runs more
/// of the world's ranks than it has CPUs. Open MPI waits for the other ranks in MPI_Init and
/// MPI_Finalize (PMIx fences) by polling: opal_progress(), then usleep(100), again and again.
/// Oversubscribed, those wake-ups were most of a start: 4 worlds of 64 ranks on 2 cores spent
/// 0.4-0.7 s of CPU per rank in MPI_Init, mostly switching in and out of usleep, and the ranks
/// still loading got what was left. The slack, 0.5 ms per rank per CPU up to 20 ms (16 ms for 64
/// ranks on 2 CPUs), lets a waiting rank wake a few dozen times a second instead of thousands; a
/// fence's end is seen at most that much later, which is why ranks that have a CPU each keep the
/// default (with 20 ms, 2 ranks on 2 CPUs started 10% slower). Threads Open MPI starts inside
/// MPI_Init inherit the slack; they wait for events, not timers.
class CoarseTimerSlack {
public:
  CoarseTimerSlack() {
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");  // Open MPI's mpirun
    if (local == nullptr) local = std::getenv("MPI_LOCALNRANKS");   // MPICH's Hydra
    const long ranks = local != nullptr ? std::strtol(local, nullptr, 10) : 0;
    const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus <= 0 || ranks <= cpus) return;
    const unsigned long slack_ns = std::min(20'000'000UL, 500'000UL * static_cast<unsigned long>(ranks / cpus));
    previous_ = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    if (previous_ > 0) ::prctl(PR_SET_TIMERSLACK, slack_ns, 0, 0, 0);
  }
  ~CoarseTimerSlack() {
    if (previous_ > 0) ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(previous_), 0, 0, 0);
  }
  CoarseTimerSlack(const CoarseTimerSlack&) = delete;
  CoarseTimerSlack& operator=(const CoarseTimerSlack&) = delete;

private:
  int previous_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  // Bulk messages reuse warm memory on huge pages; the first 8 MiB of the heap, which MPI_Init
  // and the engine's own records fill (2-4 MiB in an idle rank), stay on small pages.
  crew::keep_freed_memory_for_reuse(std::size_t{8} << 20);
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
  bool no_capture = false;
  app.add_flag("--no-capture-fds", no_capture,
               "leave descriptors 1 and 2 as mpirun gave them: tasks' output is then only what they write to "
               "std::cout / std::cerr (printf and child processes go to the world's log)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error (default $CREW_LOG_LEVEL or info)");
  app.add_option("--property", properties,
                 "KEY=VALUE this engine offers to load-balanced tasks' `require` (repeatable; VALUE is JSON or text)");
  // Parse before MPI_Init so --help and --version work without an MPI launch.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  options.capture_fds = !no_capture;
  options.register_timeout = std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  try {
    options.properties = crew::parse_properties(properties);
  } catch (const crew::Error& e) {
    std::cerr << "crew-engine: " << e.what() << std::endl;
    return 2;
  }

  int provided = 0;
  {
    CoarseTimerSlack slack;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  }
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
  {
    CoarseTimerSlack slack;  // the ranks of a stopping world wait for each other here too
    MPI_Finalize();
  }
  return status;
}
