#pragma once
// crew::Value <-> JSON text, as the CLI and shell read and print values.
//
// JSON null/bool/number/string/array/object map to Value null/bool/int or double/string/list/dict.
// Three tagged objects carry what JSON lacks: {"$ref": "name"} is a crew::Ref,
// {"$bytes": "<base64>"} is bytes, {"$object": "type", "$bytes": "<base64>"} a crew::Object.
// Arrays print as nested lists (like numpy's tolist()).
//
//   crew::Value v = crew::parse_json(R"({"a": [1, 2.5], "b": {"$ref": "x"}})");
//   std::string text = crew::to_json_text(v);        // {"a":[1,2.5],"b":{"$ref":"x"}}
//   std::string pretty = crew::to_json_text(v, 2);   // indented by 2

#include <string>
#include <string_view>

#include "crew/export.hpp"
#include "crew/value.hpp"

namespace crew {

/// Parses one JSON literal; throws InputError [crew.input.bad_json] that says where it failed.
CREW_API Value parse_json(std::string_view text);
/// `v` as JSON text: compact, or indented by `indent` spaces per level (indent >= 0).
CREW_API std::string to_json_text(const Value& v, int indent = -1);

CREW_API std::string base64_encode(const Buffer& bytes);
/// Throws InputError [crew.input.bad_json] on characters outside the base64 alphabet.
CREW_API Buffer base64_decode(std::string_view text);

}  // namespace crew
