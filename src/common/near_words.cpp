// Nearest words by edit distance (optimal string alignment: a swapped pair is one edit).
#include "common/near_words.hpp"

#include <algorithm>

namespace crew {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows: the one before the previous is needed for swaps of neighbours.
  std::vector<std::size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], before[j - 2] + 1);
    }
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> near_words(std::string_view word, const std::vector<std::string>& candidates,
                                    std::size_t max) {
  std::vector<std::pair<std::size_t, std::size_t>> scored;  // (distance, index in candidates)
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const std::string& c = candidates[i];
    std::size_t d = edit_distance(word, c);
    // One containing the other ("sum" in "world_sum"), unless the shorter is too short to mean much.
    const bool related = std::min(word.size(), c.size()) >= 3 &&
                         (c.find(word) != std::string::npos || word.find(c) != std::string_view::npos);
    if (related) d = std::min<std::size_t>(d, 1);
    if (d <= std::max<std::size_t>(2, word.size() / 3)) scored.emplace_back(d, i);
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && i < max; ++i) out.push_back(candidates[scored[i].second]);
  return out;
}

std::string or_list(const std::vector<std::string>& words) {
  std::string s;
  for (std::size_t i = 0; i < words.size(); ++i) s += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
  return s;
}

}  // namespace crew
