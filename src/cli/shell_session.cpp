// A `crew shell` session: its lines, its names (cli/shell_session.hpp).
#include "cli/shell_session.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/output.hpp"
#include "cli/shell_words.hpp"
#include "cli/verb_table.hpp"
#include "crew/error.hpp"

namespace crew::cli {

namespace {

bool is_name(const std::string& w) {
  return !w.empty() && (std::isalpha(static_cast<unsigned char>(w[0])) || w[0] == '_') &&
         std::all_of(w.begin(), w.end(),
                     [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
}

bool is_group(const std::string& word) {
  return std::any_of(verbs().begin(), verbs().end(),
                     [&](const Verb& v) { return v.name == word && v.options == nullptr; });
}

/// Runs `words` with std::cout going into a string (std::cerr as it is).
std::pair<int, std::string> run_captured(const std::vector<std::string>& words) {
  std::ostringstream captured;
  std::streambuf* before = std::cout.rdbuf(captured.rdbuf());
  int status = 0;
  try {
    status = run_words(words);
  } catch (...) {
    std::cout.rdbuf(before);
    throw;
  }
  std::cout.rdbuf(before);
  return {status, captured.str()};
}

std::string shortened(const std::string& text, std::size_t at_most = 160) {
  if (text.size() <= at_most) return text;
  return text.substr(0, at_most) + "... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace

ShellSession::ShellSession(const Common& c) : common_(c) {}

const std::vector<std::string>& ShellSession::own_words() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> w{"help", "exit", "quit", "vars", "%px"};
    for (const Verb& v : verbs())
      if (std::string_view(v.name) != "shell") w.push_back(v.name);
    return w;
  }();
  return words;
}

int ShellSession::run_line(const std::string& line) {
  const auto first = line.find_first_not_of(" \t");
  if (first == std::string::npos || line[first] == '#') return exit_ok;
  try {
    // %px: the rest of the line, as typed, is the command (its quotes and $ are the engines' shell's).
    if (line.compare(first, 3, "%px") == 0 && (line.size() == first + 3 || std::isblank(line[first + 3]))) {
      const auto rest = line.find_first_not_of(" \t", first + 3);
      if (rest == std::string::npos) throw_error(errc::bad_option, "%px needs a command, e.g. %px hostname");
      return run_words(with_session_options({"exec", line.substr(rest)}));
    }
    std::vector<std::string> words = split_words(line, [this](const std::string& name) { return value_of(name); });
    if (words.size() >= 2 && words[1] == "=") {
      if (!is_name(words[0]))
        throw_error(errc::bad_option, "'" + words[0] + "' is not a name to assign to: use letters, digits and _");
      return assign(words[0], std::vector<std::string>(words.begin() + 2, words.end()));
    }
    const std::string& verb = words.front();
    if (verb == "exit" || verb == "quit") {
      finished_ = true;
      return exit_ok;
    }
    if (verb == "help") return help(words);
    if (verb == "vars") return list_variables();
    if (words.size() == 1 && variables_.count(verb) != 0) {
      std::cout << variables_.at(verb) << std::endl;
      return exit_ok;
    }
    if (verb == "shell") throw_error(errc::bad_option, "this is the shell already");
    return run_verb(std::move(words));
  } catch (const std::exception& e) {
    return report(e, false);
  }
}

int ShellSession::run_verb(std::vector<std::string> words) { return run_words(with_session_options(std::move(words))); }

int ShellSession::assign(const std::string& name, std::vector<std::string> words) {
  if (words.empty()) throw_error(errc::bad_option, name + " = needs a verb, e.g. " + name + " = gather x");
  if (std::find(words.begin(), words.end(), "--json") == words.end()) words.push_back("--json");
  const auto [status, out] = run_captured(with_session_options(std::move(words)));
  if (status != exit_ok) return status;  // (its message is on stderr; nothing is kept)
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(out);
  } catch (const nlohmann::json::parse_error&) {
    throw_error(errc::bad_option, "that verb printed no JSON to keep as " + name + ": " + shortened(out));
  }
  variables_[name] = value.dump();
  std::cout << name << " = " << shortened(variables_[name]) << std::endl;
  return exit_ok;
}

int ShellSession::help(const std::vector<std::string>& words) {
  if (words.size() > 1) {
    std::vector<std::string> verb(words.begin() + 1, words.end());
    verb.push_back("--help");
    return run_words(verb);
  }
  std::vector<std::vector<std::string>> rows;
  for (const Verb& v : verbs())
    if (std::string_view(v.name) != "shell") rows.push_back({v.name, v.help});
  rows.push_back({"%px CMD", "run a shell command on every engine (exec), output per engine"});
  rows.push_back({"NAME = VERB ...", "run the verb and keep its --json output as NAME; $NAME in later lines"});
  rows.push_back({"NAME, vars", "print one name's value; list the names held"});
  rows.push_back({"help VERB", "the verb's options"});
  rows.push_back({"exit", "leave (or Ctrl-D)"});
  print_table(std::cout, {"COMMAND", "WHAT IT DOES"}, rows);
  return exit_ok;
}

int ShellSession::list_variables() {
  if (variables_.empty()) {
    std::cout << "no names yet: NAME = VERB ... keeps a verb's output" << std::endl;
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, json] : variables_) rows.push_back({name, shortened(json, 80)});
  print_table(std::cout, {"NAME", "VALUE"}, rows);
  return exit_ok;
}

std::string ShellSession::value_of(const std::string& name) const {
  const auto it = variables_.find(name);
  if (it == variables_.end())
    throw_error(errc::bad_option, "$" + name +
                                      ": the session holds no such name (`vars` lists them; NAME = VERB ... makes one; "
                                      "'$" +
                                      name + "' or \\$" + name + " passes it as it is)");
  return it->second;
}

std::vector<std::string> ShellSession::with_session_options(std::vector<std::string> words) const {
  const bool given = std::any_of(words.begin(), words.end(), [](const std::string& w) {
    return w == "--profile" || w.rfind("--profile=", 0) == 0;
  });
  const bool help_only = std::find(words.begin(), words.end(), "--help") != words.end();
  const bool leaf = !words.empty() && (!is_group(words[0]) || words.size() >= 2);
  if (common_.profile != "default" && !given && !help_only && leaf) {
    // Right after the verb: not behind a `--`, where it would be an argument.
    const auto at = words.begin() + (is_group(words[0]) ? 2 : 1);
    words.insert(at, {"--profile", common_.profile});
  }
  return words;
}

}  // namespace crew::cli
