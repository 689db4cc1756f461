// A plugin for the heat example: an explicit 1-D heat-equation solver whose grid is distributed
// over the engines of one MPI world, each engine exchanging one halo cell with each neighbour
// over MPI (Context::comm()) every step. The client scatters the grid, steps it, gathers it.
#include <mpi.h>

#include <stdexcept>
#include <vector>

#include <crew/engine.hpp>

namespace {

/// `steps` explicit steps of u_t = alpha u_xx (alpha = dt/dx^2 <= 0.5) on this engine's slice
/// `name`; the first and last cells of the whole grid are held fixed. Returns the slice's heat.
double heat_step(crew::Context& ctx, const std::string& name, double alpha, int steps) {
  if (!(alpha > 0 && alpha <= 0.5)) throw std::invalid_argument("alpha must be in (0, 0.5] for a stable scheme");
  std::vector<double> u = ctx.ns().get(name).get<std::vector<double>>();
  const int rank = ctx.rank(), size = ctx.world_size();
  const int left = rank > 0 ? rank - 1 : MPI_PROC_NULL;
  const int right = rank < size - 1 ? rank + 1 : MPI_PROC_NULL;
  const std::size_t n = u.size();
  std::vector<double> next(n);
  for (int s = 0; s < steps; ++s) {
    // Halo exchange: my first cell goes left, my last goes right (a rank with no cells sends
    // nothing and the neighbours see the grid's boundary instead).
    double from_left = n ? u.front() : 0, from_right = n ? u.back() : 0;
    double my_first = n ? u.front() : 0, my_last = n ? u.back() : 0;
    MPI_Sendrecv(&my_last, 1, MPI_DOUBLE, right, 0, &from_left, 1, MPI_DOUBLE, left, 0, ctx.comm(), MPI_STATUS_IGNORE);
    MPI_Sendrecv(&my_first, 1, MPI_DOUBLE, left, 1, &from_right, 1, MPI_DOUBLE, right, 1, ctx.comm(),
                 MPI_STATUS_IGNORE);
    for (std::size_t i = 0; i < n; ++i) {
      const bool global_first = left == MPI_PROC_NULL && i == 0;
      const bool global_last = right == MPI_PROC_NULL && i == n - 1;
      if (global_first || global_last) {
        next[i] = u[i];
        continue;
      }
      const double l = i > 0 ? u[i - 1] : from_left;
      const double r = i + 1 < n ? u[i + 1] : from_right;
      next[i] = u[i] + alpha * (l - 2 * u[i] + r);
    }
    u.swap(next);
  }
  double heat = 0;
  for (double x : u) heat += x;
  ctx.ns().set("heat", heat);
  ctx.ns().set(name, crew::Value(crew::Array::from(std::move(u))));
  return heat;
}
CREW_FUNCTION(heat_step);

}  // namespace
