#pragma once
// How the CLI prints: aligned tables for people, one-line JSON with --json, errors on stderr as
// "[crew.<family>.<code>] ..." with an exit status per family.

#include <exception>
#include <ostream>
#include <string>
#include <vector>

#include "crew/value.hpp"

namespace crew::cli {

/// Exit statuses: 0 ok; 1 a failure (remote, connection, launch); 2 bad input (usage, JSON,
/// targets); 3 `cluster status` of a cluster that is not running.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_not_running = 3;

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

/// A value as one line of JSON.
std::string value_text(const Value& v);

/// The time until `end_unix_seconds`, for people: "1:23:45", "0:00:09", "ended".
std::string time_left_text(std::int64_t end_unix_seconds);
/// A number of seconds as [D-]H:MM:SS.
std::string clock_text(long seconds);

/// Prints an exception to stderr and returns the exit status for it.
int report(const std::exception& e);

}  // namespace crew::cli
