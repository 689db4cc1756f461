// A small MPI "simulation" that embeds a crew engine, for the embedded-engine tests: each rank
// advances x by dt per step (busy work of about --step-us microseconds), with an MPI_Allreduce of
// the world's sum every step (as a real code's halo exchange would tie its ranks together), and
// polls between steps. Functions it offers: set_dt(v), state() -> {step, x, dt, sum, field_sum};
// its array "field" (4 doubles a rank, each growing by dt a step) is exposed in place.
//
//   mpirun -n 3 crew-test-embedded-sim --profile P [--steps N] [--step-us U]
//
// With --steps it leaves after N steps; else it runs until the world is shut down. At the end,
// rank 0 prints "polls N, empty poll mean X us" (the cost of a poll that found nothing).
#include <mpi.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "crew/engine.hpp"

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  std::string profile = "default";
  long steps = -1, step_us = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--profile") profile = argv[i + 1];
    if (k == "--steps") steps = std::atol(argv[i + 1]);
    if (k == "--step-us") step_us = std::atol(argv[i + 1]);
  }
  int status = 0;
  {
    crew::EngineOptions options;
    options.profile = profile;
    crew::Engine engine(MPI_COMM_WORLD, options);
    double dt = 1.0, x = 0, sum = 0;
    long step = 0;
    std::vector<double> field(4, 0.0);
    engine.expose("field", std::span<double>(field));
    engine.define("set_dt", [&](double v) { dt = v; });
    engine.define("state", [&]() {
      double field_sum = 0;
      for (double f : field) field_sum += f;
      return crew::Value::dict(
          {{"step", static_cast<std::int64_t>(step)}, {"x", x}, {"dt", dt}, {"sum", sum}, {"field_sum", field_sum}});
    });
    long polls = 0, empty_polls = 0;
    double empty_us = 0;
    using clock = std::chrono::steady_clock;
    for (; steps < 0 || step < steps; ++step) {
      const auto until = clock::now() + std::chrono::microseconds(step_us);
      while (clock::now() < until) {
      }  // the step's work
      x += dt;
      for (double& f : field) f += dt;
      MPI_Allreduce(&x, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      const auto t0 = clock::now();
      const bool more = engine.poll();
      const double us = std::chrono::duration<double, std::micro>(clock::now() - t0).count();
      ++polls;
      if (us < 1000) {  // (not one that ran a task)
        ++empty_polls;
        empty_us += us;
      }
      if (!more) break;
    }
    if (engine.rank() == 0)
      std::cout << "polls " << polls << ", empty poll mean " << (empty_polls > 0 ? empty_us / empty_polls : 0.0)
                << " us" << std::endl;
    engine.leave();
  }
  MPI_Finalize();
  return status;
}
