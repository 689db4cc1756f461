#pragma once
// What a `crew shell` session holds and how it runs a line (cli/shell.hpp says what lines do).

#include <map>
#include <string>
#include <vector>

#include "cli/verbs.hpp"

namespace crew::cli {

class ShellSession {
public:
  explicit ShellSession(const Common& c);

  /// Runs one line; returns its exit status (0 for an empty line or a comment).
  int run_line(const std::string& line);
  /// `exit` or `quit` was given.
  bool finished() const { return finished_; }

  const std::string& profile() const { return common_.profile; }
  /// The session's names and their values (JSON text).
  const std::map<std::string, std::string>& variables() const { return variables_; }
  /// The verbs and groups at the top, and the shell's own words.
  static const std::vector<std::string>& own_words();

private:
  int run_verb(std::vector<std::string> words);
  int assign(const std::string& name, std::vector<std::string> words);
  int help(const std::vector<std::string>& words);
  int list_variables();
  /// NAME's JSON, for $NAME; InputError for a name the session does not hold.
  std::string value_of(const std::string& name) const;
  /// `words` with --profile added where the verb takes it and the line did not give it.
  std::vector<std::string> with_session_options(std::vector<std::string> words) const;

  Common common_;
  std::map<std::string, std::string> variables_;
  bool finished_ = false;
};

}  // namespace crew::cli
