#pragma once
// mpirun as crew starts it, and where crew-engine is.
//
// A laptop or CI box has few cores and is often root in a container: where mpirun would refuse,
// crew passes --oversubscribe (N above the cores, mpirun placing ranks on this host) and
// --allow-run-as-root (root), each with a one-line notice, unless the user said
// --no-oversubscribe.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace crew::cluster {

struct LocalLaunch {
  int engines = 1;
  std::vector<std::string> mpirun_args;  ///< extra arguments, before the program
  bool oversubscribe_allowed = true;     ///< may add --oversubscribe above the usable cores
};

/// Cores this process may run on (distinct core ids among the CPUs in its affinity mask), the
/// count Open MPI uses for its default slots.
int usable_cores();

/// mpirun and its options, without -n and the program; `notice` receives one line per
/// adjustment made.
std::vector<std::string> mpirun_prefix(const LocalLaunch& launch,
                                       const std::function<void(const std::string&)>& notice);

/// crew-engine next to the running program, else on PATH.
std::filesystem::path engine_program();

/// Splits a string into words like a shell does (quotes and backslashes; no expansion).
std::vector<std::string> split_words(const std::string& text);

}  // namespace crew::cluster
