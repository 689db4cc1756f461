#pragma once
// The `crew` command line: the program's, and the same for each line of `crew shell`.

#include <string>
#include <vector>

namespace crew::cli {

/// The `crew` program: parses the command line and runs one verb; returns the exit status.
int run(int argc, char** argv);
/// run() on `words` (the command line without the program's name): a line of `crew shell`.
int run_words(const std::vector<std::string>& words);

/// For completion: the verbs that can follow `words` (a verb path: "", "cluster", ...), and the
/// options of the verb they name (its own and the common ones: "--targets", "-t", ...).
std::vector<std::string> verbs_after(const std::vector<std::string>& words);
std::vector<std::string> options_of(const std::vector<std::string>& words);

}  // namespace crew::cli
