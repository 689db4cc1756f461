#pragma once
// Engine properties as users type them: `--property gpu=true --property site=lab`. The value is
// read as JSON when it is JSON (true, 64, 2.5, "quoted", [1,2]) and as text otherwise (lab).
// A load-balanced task's `require` matches them by equality.

#include <string>
#include <string_view>
#include <vector>

#include "common/internal_api.hpp"
#include "crew/value.hpp"

namespace crew {

/// Throws InputError [crew.input.bad_option] naming the bad one and the expected form.
CREW_INTERNAL_API Value::Dict parse_properties(const std::vector<std::string>& assignments,
                                               std::string_view option = "--property");

}  // namespace crew
