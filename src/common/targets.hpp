#pragma once
// Target lists as users type them: "all", "3", "0,2-3".

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/internal_api.hpp"

namespace crew {

/// nullopt for "all"; otherwise the ids in the order given, duplicates removed.
/// Throws InputError [crew.input.bad_targets] saying what was wrong.
CREW_INTERNAL_API std::optional<std::vector<int>> parse_targets(std::string_view spec);

/// "0-3,5": the compact form of a sorted id list.
CREW_INTERNAL_API std::string format_id_ranges(const std::vector<int>& ids);

/// "engine 3", "engines 0-3,5": any id list, sorted and without repeats.
CREW_INTERNAL_API std::string engines_text(std::vector<int> ids);

}  // namespace crew
