#pragma once
// How the command line is read before a verb runs: the verb words checked one by one with a
// "did you mean", CLI11's parse errors said in crew's "[crew.input.usage] ..." form, and options
// that take one value each time they are given.

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace crew::cli {

/// Throws InputError [crew.input.usage] at the first word that should be a verb and is not one
/// (`crew clsuter status`, `crew cluster strat`), naming the nearest verbs, or all of them.
void check_verbs(const CLI::App& app, int argc, const char* const* argv);

/// Every named option of `app` and of its verbs takes one value each time it is given, so that
/// `crew call mul --lb --after ID 2 3` leaves 2 and 3 to the arguments (CLI11 lets an option
/// that collects a list take every word up to the next option). Call once all options exist.
void one_value_per_option(CLI::App& app);

/// CLI11's parse errors printed as "[crew.input.usage] crew call: ...; see `crew call --help`".
void usage_failure_message(CLI::App& app);

/// Parses the command line into `app` (all its verbs and options defined) with the above: an exit
/// status if the program ends here (--help, --version, a usage error), none if a verb is to run.
/// With `json`, a usage error is also one error object on stdout, as every failure with --json.
std::optional<int> read_command_line(CLI::App& app, int argc, char** argv, bool json = false);

/// The verbs the command line reached, e.g. "crew cluster start".
std::string verb_path(const CLI::App& app);

}  // namespace crew::cli
