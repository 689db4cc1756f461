#pragma once
// crew::Value <-> nlohmann::json, for crew's own code (the CLI's output, connection files,
// controller queries). Users get JSON as text from crew/json.hpp; nlohmann stays out of the
// installed headers.

#include <nlohmann/json.hpp>

#include "common/internal_api.hpp"
#include "crew/json.hpp"
#include "crew/value.hpp"

namespace crew {

CREW_INTERNAL_API nlohmann::json to_json(const Value& v);
/// Throws InputError [crew.input.bad_json] for what JSON cannot map (e.g. a malformed tagged object).
CREW_INTERNAL_API Value from_json(const nlohmann::json& j);

}  // namespace crew
