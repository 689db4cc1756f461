#pragma once
// How the CLI prints: aligned tables for people, one-line JSON with --json, errors on stderr as
// "[crew.<family>.<code>] ..." with an exit status per family.

#include <exception>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crew/error.hpp"
#include "crew/value.hpp"

namespace crew::cli {

/// Exit statuses: 0 ok; 1 a failure (remote, connection, launch); 2 bad input (usage, JSON,
/// targets); 3 `cluster status` of a cluster that is not running; 4 --timeout passed before every
/// result came (the tasks go on); 130 Ctrl-C during a wait (the tasks go on), as shells count it.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_not_running = 3;
inline constexpr int exit_timed_out = 4;
inline constexpr int exit_interrupted = 130;

/// The exit status an error of `code` calls for (2 for bad input, else 1).
int exit_status_for(errc code);

/// Task ids on one line, space-separated ("-" for none).
std::string ids_line(const std::vector<std::string>& ids);

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

/// A value as one line of JSON.
std::string value_text(const Value& v);
/// A result for people: its JSON, or, above a screenful (an array of more than 256 elements, or
/// more than 2000 characters of JSON), its type and shape and how to have all of it: `save` names
/// the verb's option that saves it (e.g. "--npy FILE"; empty: none), and --json prints it whole.
std::string shown_value(const Value& v, const std::string& save = {});

/// The time until `end_unix_seconds`, for people: "1:23:45", "0:00:09", "ended".
std::string time_left_text(std::int64_t end_unix_seconds);
/// A number of seconds as [D-]H:MM:SS.
std::string clock_text(long seconds);

/// The one shape of a failure in --json output, whichever verb failed:
/// {"$error": {"code": "input.bad_json", "type": "crew.input.bad_json", "message": "..."}}.
/// `code` is the code's name; `type` is "crew.<code>" for crew's own errors, or the type of what a
/// function threw on an engine (e.g. "std::runtime_error"); `message` has no "[crew...]" prefix.
nlohmann::json error_object(errc code, const std::string& type, const std::string& message);
nlohmann::json error_object(const std::exception& e);

/// Prints an exception to stderr (with `json`, its error object on stdout too) and returns the
/// exit status for it.
int report(const std::exception& e, bool json = false);

}  // namespace crew::cli
