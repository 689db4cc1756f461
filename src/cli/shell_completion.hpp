#pragma once
// What Tab offers in `crew shell`: verbs, then a verb's options; after call, map and functions,
// the engines' function names; after --targets, engine ids; $NAME and the session's names. What
// only the cluster knows (functions, ids) is asked for with a short timeout and kept a while.

#include <string>
#include <vector>

#include "cli/shell_session.hpp"

namespace crew::cli {

class ShellCompletion {
public:
  explicit ShellCompletion(const ShellSession& session) : session_(session) {}

  /// The words that complete `text`, the word being typed, after the line `before` it.
  std::vector<std::string> candidates(const std::string& before, const std::string& text);

private:
  const std::vector<std::string>& function_names();
  const std::vector<std::string>& engine_ids();

  const ShellSession& session_;
  std::vector<std::string> functions_, ids_;
  std::chrono::steady_clock::time_point functions_at_{}, ids_at_{};
};

}  // namespace crew::cli
