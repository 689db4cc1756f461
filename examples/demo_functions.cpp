// A plugin of functions for the demo: build it as a shared library linked with crew::engine and
// load it into running engines with view.load_plugin(path) (or `crew-engine --plugin`).
#include <mpi.h>

#include <cstdint>
#include <random>

#include <crew/engine.hpp>

namespace {

double mul(double a, double b) { return a * b; }

/// Monte Carlo estimate of pi: each engine throws `samples` darts, then the engines of the world
/// add up their hits with an MPI collective on the world's communicator; every engine returns
/// the estimate from all darts.
double estimate_pi(crew::Context& ctx, std::int64_t samples) {
  std::mt19937_64 rng(12345 + static_cast<unsigned>(ctx.rank()));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  long long hits = 0;
  for (std::int64_t i = 0; i < samples; ++i) {
    const double x = u(rng), y = u(rng);
    hits += x * x + y * y <= 1.0 ? 1 : 0;
  }
  long long total_hits = 0, total = 0, mine = samples;
  MPI_Allreduce(&hits, &total_hits, 1, MPI_LONG_LONG, MPI_SUM, ctx.comm());
  MPI_Allreduce(&mine, &total, 1, MPI_LONG_LONG, MPI_SUM, ctx.comm());
  return 4.0 * static_cast<double>(total_hits) / static_cast<double>(total);
}

}  // namespace

CREW_FUNCTION(mul);
CREW_FUNCTION(estimate_pi);
