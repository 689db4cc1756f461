// Parallel options pricing, as in the seeds: a grid of strike prices and volatilities, each
// price a Monte-Carlo simulation, farmed out with a load-balanced view: one task per price, on
// whichever engine is free. Run once on one engine and once on all of them, it reports the
// speedup.
//
//   crew cluster start -n 4 && crew-option_pricing [profile] [--paths N] [--grid G] && crew cluster stop
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include <crew/crew.hpp>

namespace {

struct Settings {
  std::string profile = "default";
  long paths = 20000;  ///< per price
  int grid = 6;        ///< strikes x volatilities
  int days = 100;      ///< samples per path
};

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--paths" && i + 1 < argc)
      s.paths = std::atol(argv[++i]);
    else if (a == "--grid" && i + 1 < argc)
      s.grid = std::atoi(argv[++i]);
    else if (a == "--days" && i + 1 < argc)
      s.days = std::atoi(argv[++i]);
    else
      s.profile = a;
  }
  return s;
}

struct Run {
  std::vector<std::vector<double>> prices;  ///< [call, put] per grid point
  double seconds = 0;
  std::size_t engines_used = 0;
};

/// Every price of the grid as one balanced task each, on `lb`'s engines.
Run price_grid(const crew::LoadBalancedView& lb, const Settings& s, const std::vector<double>& strikes,
               const std::vector<double>& sigmas) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<crew::AsyncResult> tasks;
  long seed = 1;
  for (double K : strikes)
    for (double sigma : sigmas)
      tasks.push_back(lb.apply("price_asian", 100.0, K, sigma, 0.05, s.days, s.paths, seed++));
  Run run;
  std::vector<int> engines;
  for (auto& t : tasks) {
    run.prices.push_back(t.get_as<std::vector<double>>());
    engines.push_back(t.metadata().engine_id);
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::sort(engines.begin(), engines.end());
  run.engines_used = static_cast<std::size_t>(std::unique(engines.begin(), engines.end()) - engines.begin());
  return run;
}

}  // namespace

int main(int argc, char** argv) try {
  const Settings s = parse(argc, argv);
  crew::Client rc(s.profile);
  const auto ids = rc.ids();
  const std::string plugin =
      (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "libcrew_option_functions.so").string();
  rc.view().load_plugin(plugin).get();

  std::vector<double> strikes, sigmas;
  for (int i = 0; i < s.grid; ++i) {
    strikes.push_back(90.0 + 20.0 * i / std::max(1, s.grid - 1));
    sigmas.push_back(0.1 + 0.3 * i / std::max(1, s.grid - 1));
  }
  std::cout << "pricing " << s.grid * s.grid << " Asian options (" << s.paths << " paths of " << s.days
            << " days each) on " << ids.size() << " engines\n";

  const Run one = price_grid(rc.load_balanced_view({ids.front()}), s, strikes, sigmas);
  const Run all = price_grid(rc.load_balanced_view(), s, strikes, sigmas);

  std::cout << "call prices (rows: strike, columns: volatility)\n" << std::fixed << std::setprecision(2);
  for (int i = 0; i < s.grid; ++i) {
    std::cout << "  K=" << std::setw(6) << strikes[static_cast<std::size_t>(i)];
    for (int j = 0; j < s.grid; ++j)
      std::cout << std::setw(8) << all.prices[static_cast<std::size_t>(i * s.grid + j)][0];
    std::cout << '\n';
  }
  std::cout << std::setprecision(3) << "1 engine: " << one.seconds << " s; " << ids.size()
            << " engines: " << all.seconds << " s (" << all.engines_used << " used); speedup " << std::setprecision(2)
            << one.seconds / all.seconds << "x\n";

  // The same seeds give the same prices wherever they ran; prices behave as they must: calls
  // fall and puts rise with the strike, both rise with volatility.
  int bad = 0;
  for (std::size_t k = 0; k < all.prices.size(); ++k)
    if (std::abs(one.prices[k][0] - all.prices[k][0]) > 1e-9 || std::abs(one.prices[k][1] - all.prices[k][1]) > 1e-9)
      ++bad;
  for (int i = 1; i < s.grid; ++i)
    for (int j = 0; j < s.grid; ++j) {
      const auto& lo = all.prices[static_cast<std::size_t>((i - 1) * s.grid + j)];
      const auto& hi = all.prices[static_cast<std::size_t>(i * s.grid + j)];
      if (hi[0] > lo[0] + 1e-9 || hi[1] < lo[1] - 1e-9) ++bad;
    }
  if (bad) std::cerr << bad << " prices are not what they should be\n";
  return bad ? 1 : 0;
} catch (const std::exception& e) {
  std::cerr << "option_pricing: " << e.what() << '\n';
  return 1;
}
