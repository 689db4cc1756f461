// The `crew` command line: verbs on a running cluster, `cluster` and `controller`. The verbs,
// their options and handlers are a table (verb_table.cpp); this builds the parser from it and
// runs the one verb given.
#include "cli/cli.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
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

/// The whole command line: every verb, with its options writing into `args`.
std::unique_ptr<CLI::App> command_line(Args& args, const Verb*& chosen) {
  auto app = std::make_unique<CLI::App>(
      "crew: a hybrid MPI + ZeroMQ parallel executor.\n"
      "Start a cluster with `crew cluster start -n 4`, then call functions on its engines.\n"
      "Exit statuses: 0 ok, 1 failed, 2 bad input, 3 not running (cluster status), 4 --timeout passed\n"
      "(the tasks go on; `crew results ID... --wait` fetches them), 130 Ctrl-C during a wait (likewise).",
      "crew");
  app->set_version_flag("--version", std::string("crew ") + version_string);
  app->require_subcommand(0, 1);  // bare `crew` prints the help, as kubectl does
  add_verbs(*app, verbs(), args, chosen);
  return app;
}

/// The verb (or group) `words` name, from the top: null if a word is none.
const CLI::App* verb_at(const CLI::App& app, const std::vector<std::string>& words) {
  const CLI::App* at = &app;
  for (const auto& w : words) {
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : at->get_subcommands([](const CLI::App*) { return true; }))
      if (sub->get_name() == w) next = sub;
    if (next == nullptr) return nullptr;
    at = next;
  }
  return at;
}

}  // namespace

std::vector<std::string> verbs_after(const std::vector<std::string>& words) {
  Args args;
  const Verb* chosen = nullptr;
  const auto app = command_line(args, chosen);
  std::vector<std::string> out;
  if (const CLI::App* at = verb_at(*app, words))
    for (const CLI::App* sub : at->get_subcommands([](const CLI::App*) { return true; }))
      out.push_back(sub->get_name());
  return out;
}

std::vector<std::string> options_of(const std::vector<std::string>& words) {
  Args args;
  const Verb* chosen = nullptr;
  const auto app = command_line(args, chosen);
  std::vector<std::string> out;
  if (const CLI::App* at = verb_at(*app, words); at != nullptr && at != app.get())
    for (const CLI::Option* o : at->get_options([](const CLI::Option* o) { return o->nonpositional(); })) {
      for (const auto& name : o->get_lnames()) out.push_back("--" + name);
      for (const auto& name : o->get_snames()) out.push_back("-" + name);
    }
  return out;
}

int run_words(const std::vector<std::string>& words) {
  std::vector<std::string> argv_words{"crew"};
  argv_words.insert(argv_words.end(), words.begin(), words.end());
  std::vector<char*> argv;
  for (auto& w : argv_words) argv.push_back(w.data());
  argv.push_back(nullptr);
  return run(static_cast<int>(argv_words.size()), argv.data());
}

int run(int argc, char** argv) {
  Args args;
  const Verb* chosen = nullptr;
  const auto command = command_line(args, chosen);
  CLI::App& app = *command;

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
