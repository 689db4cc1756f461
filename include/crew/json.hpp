#pragma once
// crew::Value <-> JSON (nlohmann::json), as the CLI and shell read and print values.
//
// JSON null/bool/number/string/array/object map to Value null/bool/int or double/string/list/dict.
// Three tagged objects carry what JSON lacks: {"$ref": "name"} is a crew::Ref,
// {"$bytes": "<base64>"} is bytes, {"$object": "type", "$bytes": "<base64>"} a crew::Object.
// Arrays print as nested lists (like numpy's tolist()).

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crew/value.hpp"

namespace crew {

nlohmann::json to_json(const Value& v);
Value from_json(const nlohmann::json& j);

/// Parses one JSON literal; throws InputError [crew.input.bad_json] that says where it failed.
Value parse_json(std::string_view text);

std::string base64_encode(const Buffer& bytes);
/// Throws InputError [crew.input.bad_json] on characters outside the base64 alphabet.
Buffer base64_decode(std::string_view text);

}  // namespace crew
