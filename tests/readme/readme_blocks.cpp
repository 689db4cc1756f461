// Reading README.md's command blocks: see readme_blocks.hpp for the conventions.
#include "readme_blocks.hpp"

#include <cctype>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace crew::readme {
namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::string trim_end(const std::string& s) {
  const auto last = s.find_last_not_of(" \t\r\n");
  return last == std::string::npos ? "" : s.substr(0, last + 1);
}

/// Where a line's comment starts: a `#` outside quotes, at the start or after white space.
std::size_t comment_start(const std::string& line) {
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return i;
    }
  }
  return std::string::npos;
}

/// The reason of a `[not in CI: reason]` marker in a comment, or "".
std::string not_in_ci(const std::string& comment) {
  constexpr std::string_view open = "[not in CI: ";
  const auto start = comment.find(open);
  if (start == std::string::npos) return "";
  const auto end = comment.find(']', start + open.size());
  if (end == std::string::npos || end == start + open.size()) return "";
  return trim(comment.substr(start + open.size(), end - start - open.size()));
}

/// Reads `=> [e.g. ]['exit N'[: ]]output` from a command's comment into `c`.
void read_expectation(const std::string& comment, Command& c) {
  const auto arrow = comment.find("=>");
  if (arrow == std::string::npos) return;
  std::string said = trim(comment.substr(arrow + 2));
  if (said.rfind("e.g.", 0) == 0) {
    c.illustrative = true;
    c.output = trim(said.substr(4));
    return;
  }
  // "exit N", alone or followed by ':' and the output.
  if (said.rfind("exit ", 0) == 0) {
    std::size_t digits = 5;
    while (digits < said.size() && std::isdigit(static_cast<unsigned char>(said[digits]))) ++digits;
    if (digits > 5 && (digits == said.size() || said[digits] == ':')) {
      c.exit_status = std::stoi(said.substr(5, digits - 5));
      said = digits == said.size() ? "" : trim(said.substr(digits + 1));
      if (said.empty()) return;
    }
  }
  c.output = said;
}

/// A line of its own `# => text` below a command: its expected output, or the next line of it.
void add_expectation_line(const std::string& comment, Command& c) {
  if (!c.output)
    read_expectation(comment, c);
  else
    *c.output += "\n" + trim(trim(comment).substr(2));
}

bool is_command_language(const std::string& language) {
  return language == "sh" || language == "bash" || language == "shell" || language == "console";
}

}  // namespace

std::vector<Block> command_blocks(const std::string& markdown) {
  std::vector<Block> blocks;
  std::istringstream in(markdown);
  std::string line, pending, pending_comment;
  int number = 0, pending_line = 0, fence_line = 0;
  bool in_fence = false, in_commands = false;
  std::string skip_rest;  // a block's `# [not in CI: ...]` line: the reason for all lines after it
  while (std::getline(in, line)) {
    ++number;
    const std::string stripped = trim(line);
    if (stripped.rfind("```", 0) == 0) {
      if (in_fence) {
        in_fence = in_commands = false;
        continue;
      }
      const std::string language = trim(stripped.substr(3));
      if (language.empty())
        throw std::runtime_error("README line " + std::to_string(number) +
                                 ": a fenced block without a language; write ```sh for commands (they are run by "
                                 "the readme test) or ```text for anything else");
      in_fence = true;
      fence_line = number;
      in_commands = is_command_language(language);
      skip_rest.clear();
      if (in_commands) blocks.push_back(Block{number, {}});
      continue;
    }
    if (!in_commands || stripped.empty()) continue;
    const auto hash = comment_start(line);
    const std::string code = trim(line.substr(0, hash));
    const std::string comment = hash == std::string::npos ? "" : line.substr(hash + 1);
    if (code.empty()) {  // a line that is only a comment: `=> more output`, a marker, or prose
      auto& commands = blocks.back().commands;
      if (trim(comment).rfind("=>", 0) == 0 && !commands.empty() && pending.empty())
        add_expectation_line(comment, commands.back());
      else if (const auto why = not_in_ci(comment); !why.empty())
        skip_rest = why;
      continue;
    }
    if (pending.empty()) pending_line = number;
    if (code.back() == '\\') {  // continued on the next line
      pending += code.substr(0, code.size() - 1) + " ";
      pending_comment += comment + " ";
      continue;
    }
    Command c;
    c.line = pending_line;
    c.text = pending + code;
    const std::string all_comment = pending_comment + comment;
    pending.clear();
    pending_comment.clear();
    c.skipped = skip_rest.empty() ? not_in_ci(all_comment) : skip_rest;
    read_expectation(all_comment, c);
    blocks.back().commands.push_back(std::move(c));
  }
  if (in_fence)
    throw std::runtime_error("README line " + std::to_string(fence_line) + ": a fenced block that never closes");
  return blocks;
}

bool matches(const std::string& expected, const std::string& actual) {
  // The expectation as tokens: `...` (any text), a run of spaces (one or more spaces: tables
  // line up by the width of what varies), or one character that must be there.
  enum class Kind { any, spaces, literal };
  struct Token {
    Kind kind;
    char c;
  };
  const std::string want = trim_end(expected), have = trim_end(actual);
  std::vector<Token> tokens;
  for (std::size_t i = 0; i < want.size();) {
    if (want.compare(i, 3, "...") == 0) {
      tokens.push_back({Kind::any, 0});
      i += 3;
    } else if (want[i] == ' ') {
      tokens.push_back({Kind::spaces, ' '});
      while (i < want.size() && want[i] == ' ') ++i;
    } else {
      tokens.push_back({Kind::literal, want[i++]});
    }
  }
  // next[j]: tokens from i + 1 on match have[j..]; row[j]: tokens from i on do (filled backwards).
  const std::size_t n = have.size();
  std::vector<char> next(n + 1, 0), row(n + 1, 0);
  next[n] = 1;  // no tokens match the empty rest
  for (std::size_t i = tokens.size(); i-- > 0;) {
    const Token t = tokens[i];
    for (std::size_t j = n + 1; j-- > 0;) {
      const bool more = j < n;
      switch (t.kind) {
      case Kind::any: row[j] = next[j] || (more && row[j + 1]); break;
      case Kind::spaces: row[j] = more && have[j] == ' ' && (next[j + 1] || row[j + 1]); break;
      case Kind::literal: row[j] = more && have[j] == t.c && next[j + 1]; break;
      }
    }
    std::swap(row, next);
  }
  return next[0] != 0;
}

}  // namespace crew::readme
