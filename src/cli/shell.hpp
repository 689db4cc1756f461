#pragma once
// `crew shell`: the command line as a session. Each line is a crew verb with the same options
// (the profile given to the shell added), or one of the shell's own:
//
//   %px CMD            run a shell command on every engine (the `exec` verb)
//   NAME = VERB ...    run the verb with --json and keep its output as NAME
//   NAME               print what NAME holds; $NAME in a later line stands for it (as JSON)
//   vars, help [VERB], exit (or Ctrl-D)
//
// On a terminal: readline, with history kept in the profile (shell_history) and Tab completing
// verbs, options, the engines' function names, engine ids and the session's names; Ctrl-C clears
// the line at the prompt and ends a wait (the work goes on) but never the shell. Fed a script
// (stdin not a terminal): runs each line and exits with the last one's status.

#include "cli/verbs.hpp"

namespace crew::cli {

int shell(const Common& c);

}  // namespace crew::cli
