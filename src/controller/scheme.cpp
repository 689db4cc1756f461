// Load-balancing schemes.
#include "controller/scheme.hpp"

#include <array>
#include <utility>

namespace crew::controller {
namespace {

constexpr std::array<std::pair<Scheme, std::string_view>, 5> names{{
    {Scheme::leastload, "leastload"},
    {Scheme::lru, "lru"},
    {Scheme::weighted, "weighted"},
    {Scheme::random, "random"},
    {Scheme::twobin, "twobin"},
}};

/// Earlier use first; never used counts as earliest; then the lower engine id.
bool used_before(const Candidate& a, const Candidate& b) {
  if (a.last_use != b.last_use) return a.last_use < b.last_use;
  return a.engine < b.engine;
}

std::size_t least_recently_used(std::span<const Candidate> c) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < c.size(); ++i)
    if (used_before(c[i], c[best])) best = i;
  return best;
}

std::size_t least_loaded(std::span<const Candidate> c) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < c.size(); ++i)
    if (c[i].load < c[best].load || (c[i].load == c[best].load && used_before(c[i], c[best]))) best = i;
  return best;
}

std::size_t uniform(std::size_t n, std::mt19937_64& rng) {
  return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

/// One index drawn with probability proportional to 1 / (load + 1e-6), as ipyparallel weighs.
std::size_t by_inverse_load(std::span<const Candidate> c, std::mt19937_64& rng) {
  double total = 0;
  for (const auto& x : c) total += 1.0 / (x.load + 1e-6);
  double r = std::uniform_real_distribution<double>(0, total)(rng);
  for (std::size_t i = 0; i < c.size(); ++i) {
    r -= 1.0 / (c[i].load + 1e-6);
    if (r <= 0) return i;
  }
  return c.size() - 1;
}

}  // namespace

std::string_view scheme_name(Scheme s) noexcept {
  for (const auto& [k, name] : names)
    if (k == s) return name;
  return "leastload";
}

std::optional<Scheme> scheme_from_name(std::string_view name) noexcept {
  for (const auto& [k, n] : names)
    if (n == name) return k;
  return std::nullopt;
}

std::string scheme_names() {
  std::string out;
  for (const auto& [k, name] : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

std::size_t pick(Scheme scheme, std::span<const Candidate> candidates, std::mt19937_64& rng) {
  if (candidates.size() <= 1) return 0;
  switch (scheme) {
  case Scheme::leastload: return least_loaded(candidates);
  case Scheme::lru: return least_recently_used(candidates);
  case Scheme::random: return uniform(candidates.size(), rng);
  case Scheme::twobin: {
    const std::size_t a = uniform(candidates.size(), rng), b = uniform(candidates.size(), rng);
    return used_before(candidates[a], candidates[b]) ? a : b;
  }
  case Scheme::weighted: {
    const std::size_t a = by_inverse_load(candidates, rng), b = by_inverse_load(candidates, rng);
    return candidates[b].load < candidates[a].load ? b : a;
  }
  }
  return 0;
}

}  // namespace crew::controller
