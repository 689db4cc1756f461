#pragma once
// What every CLI verb on a running cluster starts with: a client for the profile, the view its
// --targets name, and JSON arguments read with errors that say which argument.

#include <string>

#include <nlohmann/json.hpp>

#include "cli/verbs.hpp"
#include "crew/client.hpp"

namespace crew::cli {

Client connect(const Common& c);
/// `all` (every alive engine now; InputError if there is none), or the ids and ranges given.
DirectView target_view(const Client& rc, const std::string& spec);
/// Throws InputError [crew.input.bad_json] naming `what`, with a hint for unquoted strings.
Value parse_argument(const std::string& text, const std::string& what);
/// {"$error": {"code", "type", "message"}}: a failed engine in --json output.
nlohmann::json error_json(const RemoteError& e);

}  // namespace crew::cli
