// mpirun options and the engine program.
#include "cluster/local_launcher.hpp"

#include <sched.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <thread>

#include "common/process.hpp"
#include "crew/error.hpp"

namespace crew::cluster {

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::set<std::pair<int, int>> cores;
  int cpus = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    ++cpus;
    const std::string topo = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    int core = cpu, package = 0;
    std::ifstream(topo + "core_id") >> core;
    std::ifstream(topo + "physical_package_id") >> package;
    cores.emplace(package, core);
  }
  return std::max(1, cores.empty() ? cpus : static_cast<int>(cores.size()));
}

std::filesystem::path engine_program() {
  const auto beside = proc::self_exe().parent_path() / "crew-engine";
  if (::access(beside.c_str(), X_OK) == 0) return beside;
  if (auto found = proc::find_program("crew-engine")) return *found;
  throw_error(errc::launcher_not_found,
              "crew-engine was not found next to " + proc::self_exe().string() +
                  " nor on PATH; install crew (cmake --install) or add its bin directory to PATH");
}

std::vector<std::string> mpirun_prefix(const LocalLaunch& launch,
                                       const std::function<void(const std::string&)>& notice) {
  std::vector<std::string> argv{"mpirun"};
  auto user_gave = [&](std::string_view flag) {
    for (const auto& a : launch.mpirun_args)
      if (a == flag) return true;
    return false;
  };
  const int cores = usable_cores();
  if (launch.engines > cores && launch.oversubscribe_allowed && !user_gave("--oversubscribe")) {
    argv.push_back("--oversubscribe");
    notice(std::to_string(launch.engines) + " engines on " + std::to_string(cores) + " core" + (cores == 1 ? "" : "s") +
           ": passing --oversubscribe to mpirun (--no-oversubscribe to refuse)");
  }
  if (::geteuid() == 0 && !user_gave("--allow-run-as-root")) {
    argv.push_back("--allow-run-as-root");
    notice("running as root: passing --allow-run-as-root to mpirun");
  }
  argv.insert(argv.end(), launch.mpirun_args.begin(), launch.mpirun_args.end());
  return argv;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < text.size())
        word += text[++i];
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) throw_error(errc::bad_option, "unbalanced quote in '" + text + "'");
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace crew::cluster
