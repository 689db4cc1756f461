#pragma once
// "Did you mean ...?": the candidates nearest a mistyped word. The engines' function names and
// the CLI's verbs use the same rule, so a suggestion reads the same wherever it comes from.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/internal_api.hpp"

namespace crew {

/// Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`.
CREW_INTERNAL_API std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidates near `word`, nearest first (ties in the candidates' order), at most `max`: within
/// max(2, |word| / 3) edits, or one containing the other.
CREW_INTERNAL_API std::vector<std::string> near_words(std::string_view word, const std::vector<std::string>& candidates,
                                                      std::size_t max = 4);

/// "a", "a or b", "a, b or c".
CREW_INTERNAL_API std::string or_list(const std::vector<std::string>& words);

}  // namespace crew
