// The engines' side of examples/option_pricing.cpp: Monte-Carlo prices of Asian options.
//
// An Asian option pays on the average price of its underlying over its life, not the final
// price, so it has no closed form: each price is an average over simulated paths. The stock
// follows geometric Brownian motion, sampled once a day.
#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include <crew/engine.hpp>

namespace {

/// [call, put] prices of an arithmetic-average Asian option: spot S0, strike K, volatility
/// sigma, risk-free rate r, `days` daily samples over one year, `paths` paths from `seed`.
std::vector<double> price_asian(double S0, double K, double sigma, double r, int days, long paths, long seed) {
  if (S0 <= 0 || K <= 0 || sigma < 0 || days < 1 || paths < 1)
    throw std::invalid_argument("price_asian needs S0 > 0, K > 0, sigma >= 0, days >= 1, paths >= 1");
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  std::normal_distribution<double> normal(0.0, 1.0);
  const double dt = 1.0 / days;
  const double drift = (r - 0.5 * sigma * sigma) * dt, vol = sigma * std::sqrt(dt);
  double call = 0, put = 0;
  for (long p = 0; p < paths; ++p) {
    double s = S0, sum = 0;
    for (int d = 0; d < days; ++d) {
      s *= std::exp(drift + vol * normal(rng));
      sum += s;
    }
    const double average = sum / days;
    call += std::max(average - K, 0.0);
    put += std::max(K - average, 0.0);
  }
  const double discount = std::exp(-r) / static_cast<double>(paths);
  return {call * discount, put * discount};
}

}  // namespace

CREW_FUNCTION(price_asian);
