// The `crew` command line: verbs on a running cluster, `cluster` and `controller`. The verbs,
// their options and handlers are a table (verb_table.cpp); this builds the parser from it and
// runs the one verb given.
#include "cli/cli.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <string_view>

#include "cli/output.hpp"
#include "cli/usage.hpp"
#include "cli/verb_table.hpp"
#include "cli/waiting.hpp"
#include "crew/version.hpp"

namespace crew::cli {
namespace {

/// Adds `table`'s verbs under `parent`; the one the command line names sets `chosen`.
void add_verbs(CLI::App& parent, const std::vector<Verb>& table, Args& args, const Verb*& chosen) {
  for (const Verb& verb : table) {
    CLI::App* cmd = parent.add_subcommand(verb.name, verb.help);
    if (!verb.options) {  // `cluster`, `profile`: a group of verbs
      cmd->require_subcommand(0, 1);
      add_verbs(*cmd, group_verbs(verb.name), args, chosen);
      continue;
    }
    if (&table == &group_verbs("cluster")) add_remote_options(*cmd, args.common);  // (its own --ssh)
    add_common_options(*cmd, args.common, verb.reach);
    verb.options(*cmd, args);
    cmd->callback([&chosen, &verb] { chosen = &verb; });
  }
}

bool asks_for_json(int argc, char** argv) {
  return std::any_of(argv + 1, argv + argc, [](const char* a) { return std::string_view(a) == "--json"; });
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"crew: a hybrid MPI + ZeroMQ parallel executor.\n"
               "Start a cluster with `crew cluster start -n 4`, then call functions on its engines.\n"
               "Exit statuses: 0 ok, 1 failed, 2 bad input, 3 not running (cluster status), 4 --timeout passed\n"
               "(the tasks go on; `crew results ID... --wait` fetches them), 130 Ctrl-C during a wait (likewise).",
               "crew"};
  app.set_version_flag("--version", std::string("crew ") + version_string);
  app.require_subcommand(0, 1);  // bare `crew` prints the help, as kubectl does
  Args args;
  const Verb* chosen = nullptr;
  add_verbs(app, verbs(), args, chosen);

  if (const auto status = read_command_line(app, argc, argv, asks_for_json(argc, argv))) return *status;
  if (!chosen) {
    // `crew` or `crew cluster` alone: the help of what was given (exit 0, like kubectl).
    std::cout << app.help();
    return exit_ok;
  }
  args.common.started = std::chrono::steady_clock::now();
  args.common.command_line.assign(argv + 1, argv + argc);
  try {
    return chosen->run(args);
  } catch (const Unfinished& u) {
    return report_unfinished(args.common, u);
  } catch (const std::exception& e) {
    return report(e, args.common.json);
  }
}

}  // namespace crew::cli
