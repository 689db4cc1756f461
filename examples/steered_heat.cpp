// A running MPI simulation steered from outside: a 2-D heat equation (explicit scheme, rows split
// over the ranks, halo rows exchanged each step) that embeds a crew engine and serves between its
// steps. Its temperature field is exposed in place as "T" (gather reads it where it lies, scatter
// and push write into it); it offers set_alpha, pause, resume, heat (a hot spot) and stats.
//
//   crew cluster start -n 1                                        # a controller (and one engine)
//   mpirun -n 4 crew-steered_heat [--profile P] [--steps N] &      # joins it as engines 1-4
//   crew call stats --targets 1-4                                  # step, min, max, mean per rank
//   crew call heat 32 32 100 --targets 1-4                         # a hot spot (its rank takes it)
//   crew gather T --targets 1-4 --npy T.npy                        # the whole field, 64 x 64
//   crew call set_alpha 0.05 --targets 1-4; crew call pause --targets 1-4
//   crew save-h5 snap.h5 T --targets 1-4                           # a snapshot, parallel HDF5
//   crew cluster stop                                              # the simulation ends with it
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <crew/engine.hpp>

namespace {

constexpr int nx = 64, ny = 64;  // the whole field

struct Options {
  std::string profile = "default";
  long steps = -1;  ///< -1: until the cluster stops
};

Options read_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--profile") o.profile = argv[i + 1];
    if (k == "--steps") o.steps = std::atol(argv[i + 1]);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  const Options opt = read_options(argc, argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int rows = ny / size + (rank < ny % size ? 1 : 0);  // this rank's rows
  const int first_row = rank * (ny / size) + std::min(rank, ny % size);
  const int up = rank > 0 ? rank - 1 : MPI_PROC_NULL, down = rank + 1 < size ? rank + 1 : MPI_PROC_NULL;
  {
    crew::EngineOptions options;
    options.profile = opt.profile;
    crew::Engine engine(MPI_COMM_WORLD, options);

    // The field with a halo row above and below; T is its interior, exposed in place.
    std::vector<double> field(static_cast<std::size_t>((rows + 2) * nx), 0.0), next(field.size());
    const auto interior = [&](std::vector<double>& f) {
      return std::span<double>(f.data() + nx, std::size_t(rows) * nx);
    };
    engine.expose("T", interior(field), {static_cast<std::uint64_t>(rows), nx});
    double alpha = 0.2;
    bool paused = false;
    long step = 0;
    engine.define("set_alpha", [&](double a) {
      if (a < 0 || a > 0.25)
        throw crew::InputError(crew::errc::bad_arguments, "alpha must be in [0, 0.25] to stay stable");
      alpha = a;
    });
    engine.define("pause", [&] { paused = true; });
    engine.define("resume", [&] { paused = false; });
    engine.define("heat", [&](int x, int y, double value) {  // on the rank that holds row y
      if (y >= first_row && y < first_row + rows && x >= 0 && x < nx)
        field[static_cast<std::size_t>((y - first_row + 1) * nx + x)] = value;
    });
    engine.define("stats", [&] {
      const auto t = interior(field);
      double sum = 0;
      for (double v : t) sum += v;
      return crew::Value::dict({{"step", static_cast<std::int64_t>(step)},
                                {"alpha", alpha},
                                {"paused", paused},
                                {"min", *std::min_element(t.begin(), t.end())},
                                {"max", *std::max_element(t.begin(), t.end())},
                                {"mean", sum / static_cast<double>(t.size())}});
    });

    for (; opt.steps < 0 || step < opt.steps; ++step) {
      if (!paused) {
        MPI_Sendrecv(&field[nx], nx, MPI_DOUBLE, up, 0, &field[std::size_t(rows + 1) * nx], nx, MPI_DOUBLE, down, 0,
                     MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Sendrecv(&field[std::size_t(rows) * nx], nx, MPI_DOUBLE, down, 1, &field[0], nx, MPI_DOUBLE, up, 1,
                     MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (int r = 1; r <= rows; ++r)
          for (int c = 0; c < nx; ++c) {
            const std::size_t i = std::size_t(r) * nx + c;
            const double left = c > 0 ? field[i - 1] : 0, right = c + 1 < nx ? field[i + 1] : 0;
            next[i] = field[i] + alpha * (field[i - nx] + field[i + nx] + left + right - 4 * field[i]);
          }
        std::copy(next.begin() + nx, next.end() - nx, field.begin() + nx);  // T stays where it was exposed
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a real step takes a while
      if (!engine.poll()) break;                                  // the cluster stopped
    }
    engine.leave();  // while the field and the functions' state still exist (they go before the engine)
    if (rank == 0) std::cout << "steered_heat: " << step << " steps" << std::endl;
  }
  MPI_Finalize();
  return 0;
}
