#pragma once
// The local launcher: one `mpirun -n N crew-engine` on this host.
//
// A laptop or CI box has few cores and is often root in a container: where mpirun would refuse,
// the launcher passes --oversubscribe (N above the cores) and --allow-run-as-root (root), each
// with a one-line notice, unless the user said --no-oversubscribe.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace crew::cluster {

struct LocalLaunch {
  int engines = 1;
  std::string profile = "default";
  std::vector<std::string> mpirun_args;  ///< extra arguments, before the program
  std::vector<std::string> plugins;
  std::vector<std::string> properties;  ///< "k=v", passed as crew-engine --property
  bool oversubscribe_allowed = true;
};

/// Cores this process may run on (distinct core ids among the CPUs in its affinity mask), the
/// count Open MPI uses for its default slots.
int usable_cores();

/// The full mpirun command line; `notice` receives one line per adjustment made.
std::vector<std::string> mpirun_command(const LocalLaunch& launch, const std::filesystem::path& engine_program,
                                        const std::function<void(const std::string&)>& notice);

/// crew-engine next to the running program, else on PATH.
std::filesystem::path engine_program();

/// Splits a string into words like a shell does (quotes and backslashes; no expansion).
std::vector<std::string> split_words(const std::string& text);

}  // namespace crew::cluster
