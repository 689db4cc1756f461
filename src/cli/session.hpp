#pragma once
// What every CLI verb on a running cluster starts with: a client for the profile, the view its
// --targets name, and JSON arguments read with errors that say which argument.

#include <string>

#include <nlohmann/json.hpp>

#include "cli/verbs.hpp"
#include "crew/client.hpp"

namespace crew::cli {

Client connect(const Common& c);
/// The error says no controller runs for the profile (none was started, or it died).
bool no_controller(const Error& e);
/// One task's outcome as `crew results` prints it (or its entry of the --json object `out`);
/// `err` is null if it succeeded with `v`. Returns 1 if it failed.
int print_outcome(const Common& c, const std::string& id, int engine, const RemoteError* err, const Value& v,
                  nlohmann::json& out);
/// `all` (every alive engine now; InputError if there is none), or the ids and ranges given.
DirectView target_view(const Client& rc, const std::string& spec);
/// Throws InputError [crew.input.bad_json] naming `what`, with a hint for unquoted strings.
Value parse_argument(const std::string& text, const std::string& what);
/// {"$error": {"code", "type", "message"}}: a failed engine in --json output (output.hpp's
/// error_object).
nlohmann::json error_json(const RemoteError& e);
/// Prints the engines' errors of a finished result on stderr, each distinct one once with the
/// engines that reported it ("[crew.remote.unknown_function] engines 0-1: no function ...");
/// returns the exit status they call for (0 if none; 2 if any is bad input, else 1).
int report_engine_errors(const AsyncResult& ar);
/// A verb that is one operation over its engines (push, scatter, save-h5, load-h5) and failed on
/// some: its --json output, the first distinct error as the error object with the engines that
/// reported it, {"$error": {..., "engines": [0, 1]}}, and every distinct one under "errors" if
/// there are several. Not a success object with what did succeed.
nlohmann::json engine_errors_json(const AsyncResult& ar);
/// Throws InputError [crew.input.bad_name] unless `name` is a variable name: letters, digits
/// and '_', not starting with a digit. `what` says where it came from, e.g. "push a =5".
void check_variable_name(const std::string& name, const std::string& what);

}  // namespace crew::cli
