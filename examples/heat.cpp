// A 1-D heat equation solved by the engines of one MPI world, steered from the client: scatter
// the grid, let the engines step it with halo exchanges over MPI, reduce the total heat, gather
// the grid and check it against the same scheme run here. Returns non-zero if they differ.
//
//   crew cluster start -n 4 && crew-heat [profile] [plugin.so] && crew cluster stop
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include <crew/crew.hpp>

namespace {

std::vector<double> serial_steps(std::vector<double> u, double alpha, int steps) {
  std::vector<double> next(u.size());
  for (int s = 0; s < steps; ++s) {
    next.front() = u.front();
    next.back() = u.back();
    for (std::size_t i = 1; i + 1 < u.size(); ++i) next[i] = u[i] + alpha * (u[i - 1] - 2 * u[i] + u[i + 1]);
    u.swap(next);
  }
  return u;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string profile = argc > 1 ? argv[1] : "default";
  const std::string plugin =
      argc > 2 ? argv[2]
               : (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "libcrew_heat_functions.so").string();
  crew::Client rc(profile);
  auto world = rc.view(rc.engines().front().world);  // halo exchange needs the engines of one world
  world.load_plugin(plugin).get();

  const std::size_t n = 100'003;  // not a multiple of the engine count: uneven slices
  std::vector<double> grid(n, 0.0);
  for (std::size_t i = n / 2 - 500; i < n / 2 + 500; ++i) grid[i] = 100.0;  // a hot band
  grid.front() = 20.0;                                                      // held at 20 and 0
  const double alpha = 0.4;
  const int rounds = 5, steps = 200;

  world.scatter("u", grid).get();
  for (int r = 0; r < rounds; ++r) {
    world.apply("heat_step", "u", alpha, steps).get();
    const double heat = world.reduce("heat", crew::op::sum).get().as_double();
    std::cout << "after " << (r + 1) * steps << " steps: total heat " << heat << " on " << world.targets().size()
              << " engines\n";
  }
  const auto u = world.gather("u").get_as<std::vector<double>>();
  const auto expected = serial_steps(grid, alpha, rounds * steps);
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(u[i] - expected[i]));
  std::cout << "gathered " << u.size() << " cells; largest difference from the serial solver: " << worst << '\n';
  return u.size() == n && worst < 1e-9 ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "crew-heat: " << e.what() << '\n';
  return 1;
}
