// The README's command blocks as data: which lines run, what each is expected to print and
// return, which are illustrative and which cannot run in CI (and why). The conventions are the
// ones README.md states under "Using it by hand":
//
//   crew ids --json                    # what it does => [0,1,2,3]        printed exactly
//   crew engines                       # => ID  HOST ...                  `...` is any text
//   crew call nosuchfn                 # => exit 1: [crew.remote...] ...  exit status, then output
//   crew call price 100 0.2 --lb       # => e.g. [2] 7.97                 illustrative: not checked
//   crew engines                       # a comment line of its own that starts with => is
//   # => ID  HOST ...                  # the output (or its next line) of the command above
//   qsub job.sh                        # [not in CI: needs PBS]           not run, counted as skipped
//   # [not in CI: needs Slurm]         (a line of its own: the rest of the block is not run)
//
// Every fenced block needs a language; blocks in sh, bash, shell or console are commands.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace crew::readme {

/// One command line of a block and what the README says about it.
struct Command {
  int line = 0;                       ///< 1-based line number in the README
  std::string text;                   ///< the command, without its comment
  int exit_status = 0;                ///< expected exit status (0 unless `=> exit N`)
  std::optional<std::string> output;  ///< expected output (`...` is any text), if stated
  bool illustrative = false;          ///< `=> e.g. ...`: run, exit status checked, output not
  std::string skipped;                ///< why it does not run in CI ("" when it runs)
};

/// One fenced block of commands.
struct Block {
  int line = 0;  ///< line of its opening fence
  std::vector<Command> commands;
};

/// The command blocks of a markdown text. Throws std::runtime_error naming the line for a fence
/// without a language or a block left open.
std::vector<Block> command_blocks(const std::string& markdown);

/// Whether `actual` is `expected` where each `...` of `expected` stands for any text (also
/// none, also several lines) and each run of spaces for a run of spaces of any length (columns
/// of a table shift with the width of a pid or a host name). Trailing white space is ignored.
bool matches(const std::string& expected, const std::string& actual);

}  // namespace crew::readme
