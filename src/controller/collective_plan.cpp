// Splitting collective requests per world.
#include "controller/collective_plan.hpp"

#include <algorithm>
#include <functional>

#include "crew/error.hpp"
#include "values/sequence.hpp"

namespace crew::controller {
namespace {

void expect_args(const Value& args, std::size_t n, const char* signature) {
  if (!args.is_list() || args.size() != n) throw InputError(errc::bad_option, std::string("expected ") + signature);
  for (std::size_t i = 0; i < n; ++i)
    if (!(args[i].is_string() || (i == 1 && std::string_view(signature).starts_with("scatter"))))
      throw InputError(errc::bad_option, std::string("expected ") + signature + "; argument " + std::to_string(i + 1) +
                                             " is " + std::string(args[i].type_name()));
}

}  // namespace

std::vector<WorldShare> split_by_world(wire::Collective op, const std::vector<int>& targets,
                                       const std::vector<std::string>& msg_ids, const std::vector<int>& worlds,
                                       const Value& args) {
  std::vector<WorldShare> shares;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (shares.empty() || shares.back().world != worlds[i]) shares.push_back(WorldShare{worlds[i], {}, {}, {}});
    shares.back().targets.push_back(targets[i]);
    shares.back().msg_ids.push_back(msg_ids[i]);
  }
  switch (op) {
  case wire::Collective::scatter: {
    // One world: it gets the request as it came (no bulk decoding here); its root splits it.
    if (shares.size() == 1) break;
    expect_args(args, 2, "scatter(name, sequence)");
    const Value& data = args[1];
    const auto sizes = seq::partition(seq::length(data, "scatter"), targets.size());
    std::uint64_t offset = 0;
    std::size_t t = 0;
    for (auto& s : shares) {
      Value::List counts;
      std::uint64_t rows = 0;
      for (std::size_t k = 0; k < s.targets.size(); ++k, ++t) {
        counts.push_back(static_cast<std::int64_t>(sizes[t]));
        rows += sizes[t];
      }
      s.body = Value::list({args[0], seq::take(data, offset, rows), Value(std::move(counts))});
      offset += rows;
    }
    break;
  }
  case wire::Collective::load_h5: {
    expect_args(args, 3, "load_h5(file, dataset, name)");
    std::int64_t first = 0;
    for (auto& s : shares) {
      s.body = Value::list({args[0], args[1], args[2], first, static_cast<std::int64_t>(targets.size())});
      first += static_cast<std::int64_t>(s.targets.size());
    }
    break;
  }
  case wire::Collective::save_h5: {
    expect_args(args, 3, "save_h5(file, name, dataset)");
    bool create = true;
    for (auto& s : shares) {
      s.body = Value::list({args[0], args[1], args[2], create});
      create = false;
    }
    break;
  }
  default: break;
  }
  return shares;
}

bool needs_args(wire::Collective op, const std::vector<int>& worlds) {
  switch (op) {
  case wire::Collective::scatter:
    return std::adjacent_find(worlds.begin(), worlds.end(), std::not_equal_to<>()) != worlds.end();
  case wire::Collective::load_h5:
  case wire::Collective::save_h5:
  case wire::Collective::reduce: return true;
  default: return false;
  }
}

}  // namespace crew::controller
