// Tab completion in `crew shell` (cli/shell_completion.hpp).
#include "cli/shell_completion.hpp"

#include <algorithm>
#include <set>

#include "cli/cli.hpp"
#include "cli/shell_words.hpp"
#include "crew/client.hpp"

namespace crew::cli {

namespace {

constexpr auto functions_kept = std::chrono::seconds(10);
constexpr auto ids_kept = std::chrono::seconds(2);
constexpr auto cluster_timeout = std::chrono::milliseconds(1500);

/// The verbs whose first argument is a function name.
bool takes_function(const std::vector<std::string>& path) {
  return path.size() == 1 && (path[0] == "call" || path[0] == "map");
}

}  // namespace

const std::vector<std::string>& ShellCompletion::function_names() {
  const auto now = std::chrono::steady_clock::now();
  if (now - functions_at_ < functions_kept) return functions_;
  functions_at_ = now;
  functions_.clear();
  try {
    ClientOptions o;
    o.timeout = cluster_timeout;
    const Client rc(session_.profile(), o);
    const AsyncResult ar = rc.view().apply_list("functions", {});
    if (!ar.wait(cluster_timeout)) return functions_;
    std::set<std::string> names;
    for (std::size_t i = 0; i < ar.size(); ++i) {
      if (ar.error(i)) continue;
      const Value answer = ar.value(i);
      for (const Value& f : answer.as_list())
        if (f["name"].as_string().rfind("crew.", 0) != 0) names.insert(f["name"].as_string());
    }
    functions_.assign(names.begin(), names.end());
  } catch (const std::exception&) {
    // no cluster, or it did not answer in time: nothing to offer
  }
  return functions_;
}

const std::vector<std::string>& ShellCompletion::engine_ids() {
  const auto now = std::chrono::steady_clock::now();
  if (now - ids_at_ < ids_kept) return ids_;
  ids_at_ = now;
  ids_ = {"all"};
  try {
    ClientOptions o;
    o.timeout = cluster_timeout;
    for (int id : Client(session_.profile(), o).ids()) ids_.push_back(std::to_string(id));
  } catch (const std::exception&) {
  }
  return ids_;
}

std::vector<std::string> ShellCompletion::candidates(const std::string& before, const std::string& text) {
  std::vector<std::string> words = split_line(before).words;
  if (!words.empty() && words[0] == "%px") return {};
  if (words.size() >= 2 && words[1] == "=") words.erase(words.begin(), words.begin() + 2);  // NAME = VERB ...

  std::vector<std::string> out;
  if (!text.empty() && text[0] == '$') {
    for (const auto& [name, value] : session_.variables()) out.push_back("$" + name);
  } else if (words.empty()) {
    out = ShellSession::own_words();
    for (const auto& [name, value] : session_.variables()) out.push_back(name);
  } else if (words.size() == 1 && words[0] == "help") {
    out = ShellSession::own_words();
  } else {
    // The verb path: the words that name a verb, from the top.
    std::vector<std::string> path;
    while (path.size() < words.size()) {
      const auto next = verbs_after(path);
      if (std::find(next.begin(), next.end(), words[path.size()]) == next.end()) break;
      path.push_back(words[path.size()]);
    }
    const std::string& previous = words.back();
    if (!text.empty() && text[0] == '-') {
      out = options_of(path);
    } else if (previous == "--targets" || previous == "-t") {
      out = engine_ids();
    } else if (path.size() == words.size() && !verbs_after(path).empty()) {
      out = verbs_after(path);
    } else if (path.size() == words.size() && takes_function(path)) {
      out = function_names();
    }
  }
  std::erase_if(out, [&](const std::string& c) { return c.rfind(text, 0) != 0; });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace crew::cli
