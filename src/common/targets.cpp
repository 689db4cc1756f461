// Target lists: "all", "3", "0,2-3".
#include "common/targets.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "crew/error.hpp"

namespace crew {
namespace {

[[noreturn]] void bad(std::string_view spec, const std::string& why) {
  throw_error(errc::bad_targets, "'" + std::string(spec) + "' is not a target list (" + why +
                                     "); use all, engine ids and ranges, e.g. --targets 0,2-3");
}

int parse_id(std::string_view spec, std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0)
    bad(spec, "'" + std::string(text) + "' is not an engine id");
  return value;
}

}  // namespace

std::optional<std::vector<int>> parse_targets(std::string_view spec) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  spec = trim(spec);
  if (spec == "all" || spec == "*") return std::nullopt;
  if (spec.empty()) bad(spec, "it is empty");
  std::vector<int> ids;
  std::size_t start = 0;
  while (start <= spec.size()) {
    std::size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    std::string_view item = trim(spec.substr(start, comma - start));
    if (item.empty()) bad(spec, "an empty item between commas");
    if (auto dash = item.find('-'); dash != std::string_view::npos && dash > 0) {
      const int lo = parse_id(spec, trim(item.substr(0, dash)));
      const int hi = parse_id(spec, trim(item.substr(dash + 1)));
      if (hi < lo) bad(spec, "range " + std::string(item) + " runs backwards");
      if (hi - lo > 1'000'000) bad(spec, "range " + std::string(item) + " is too long");
      for (long long i = lo; i <= hi; ++i) ids.push_back(static_cast<int>(i));
    } else {
      ids.push_back(parse_id(spec, item));
    }
    start = comma + 1;
  }
  std::vector<int> unique;
  std::unordered_set<int> seen;
  for (int id : ids)
    if (seen.insert(id).second) unique.push_back(id);
  return unique;
}

std::string format_id_ranges(const std::vector<int>& sorted) {
  std::string out;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(sorted[i]);
    if (j > i) out += "-" + std::to_string(sorted[j]);
    i = j + 1;
  }
  return out;
}

std::string engines_text(std::vector<int> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return (ids.size() == 1 ? "engine " : "engines ") + format_id_ranges(ids);
}

}  // namespace crew
