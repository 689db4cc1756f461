#pragma once
// The table of the `crew` command line: each verb's name, help, options and the function that
// runs it (cli/verbs.hpp). cli::run builds the command line from it.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "cli/live_output.hpp"
#include "cli/verbs.hpp"

namespace crew::cli {

/// Every value the command line can set; each verb's options fill the fields it reads.
struct Args {
  Common common;
  std::string function;
  std::vector<std::string> values;  ///< call's arguments
  bool lb = false;
  bool all = false;  ///< functions --all
  BalanceArgs balance;
  MapArgs map;
  std::vector<std::string> msg_ids;
  bool wait = false;  ///< results --wait
  std::string command;
  std::vector<std::string> words;  ///< push's assignments, pull's names
  std::string name, data_json, npy, op = "sum", file, dataset;
  StartArgs start;
  double grace = 0;  ///< cluster stop --grace (0: not given, stop_grace decides)
  std::string script_out;
  bool list_variables = false;
  ControllerArgs controller;
  HistoryArgs history;
  PurgeArgs purge;
  bool follow_output = false;  ///< call --follow-output
  TailArgs tail;
  KeysArgs keys;
};

/// Which of the common options a verb takes: all take --profile, --json and --connect-timeout.
enum class Reach {
  engines,     ///< also --targets and --timeout: it addresses engines and waits for them
  controller,  ///< also --timeout: it waits for the controller only
  local,       ///< neither: it starts, stops or prints things here
};

struct Verb {
  const char* name;
  const char* help;
  Reach reach;
  void (*options)(CLI::App&, Args&);  ///< the verb's own options and arguments
  int (*run)(Args&);
};

/// `crew <verb>`, in the order --help lists them.
const std::vector<Verb>& verbs();
/// `crew cluster <verb>`, `crew profile <verb>`, `crew keys <verb>`.
const std::vector<Verb>& group_verbs(std::string_view group);

/// --profile, --json, --connect-timeout and what `reach` adds.
void add_common_options(CLI::App& app, Common& c, Reach reach);
/// `crew cluster <verb>`'s --ssh (run it on another host) and --remote-crew.
void add_remote_options(CLI::App& app, Common& c);

}  // namespace crew::cli
