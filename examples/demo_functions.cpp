// A plugin of functions for the demo and the README: build it as a shared library linked with
// crew::engine and load it into engines with `crew cluster start --plugin libcrew_demo_functions.so`,
// view.load_plugin(path) or `crew-engine --plugin`.
#include <mpi.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <random>
#include <stdexcept>
#include <thread>

#include <crew/engine.hpp>

namespace {

double mul(double a, double b) { return a * b; }

double square(double x) { return x * x; }

/// Black-Scholes price of a European call option struck at 100 that ends in one year, with no
/// interest: `price 100 0.2` is an at-the-money call on a stock of 20% volatility (7.97).
double price(double spot, double volatility) {
  if (spot <= 0 || volatility <= 0) throw std::invalid_argument("price needs spot > 0 and volatility > 0");
  const double strike = 100.0;
  const auto normal_cdf = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  const double d1 = (std::log(spot / strike) + 0.5 * volatility * volatility) / volatility;
  return spot * normal_cdf(d1) - strike * normal_cdf(d1 - volatility);
}

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

/// Counts down from `from`, a line every fifth of a second: what `crew call --follow-output` and
/// `crew tail` show as it is written.
std::string countdown(int from) {
  for (int i = from; i > 0; --i) {
    std::cout << i << "..." << std::endl;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return "liftoff";
}

}  // namespace

CREW_FUNCTION(countdown);
CREW_FUNCTION(mul);
CREW_FUNCTION(square);
CREW_FUNCTION(price);
CREW_FUNCTION(estimate_pi);
