// Splitting a line of `crew shell` into words (cli/shell_words.hpp).
#include "cli/shell_words.hpp"

#include <cctype>

#include "crew/error.hpp"

namespace crew::cli {

namespace {
bool name_char(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; }
}  // namespace

SplitLine split_line(std::string_view line, const VariableLookup& variable) {
  SplitLine out;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (variable && ch == '$' && quote != '\'' && i + 1 < line.size() && name_char(line[i + 1]) &&
        !std::isdigit(static_cast<unsigned char>(line[i + 1]))) {
      std::size_t end = i + 1;
      while (end < line.size() && name_char(line[end])) ++end;
      word += variable(std::string(line.substr(i + 1, end - i - 1)));
      in_word = true;
      i = end - 1;
      continue;
    }
    if (quote == '\'') {
      if (ch == '\'')
        quote = 0;
      else
        word += ch;
      continue;
    }
    if (quote == '"') {
      if (ch == '"') {
        quote = 0;
      } else if (ch == '\\' && i + 1 < line.size() &&
                 std::string_view("\"\\$`").find(line[i + 1]) != std::string_view::npos) {
        word += line[++i];
      } else {
        word += ch;
      }
      continue;
    }
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
      if (in_word) out.words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (ch == '\'' || ch == '"')
      quote = ch;
    else if (ch == '\\' && i + 1 < line.size())
      word += line[++i];
    else
      word += ch;
  }
  if (in_word) out.words.push_back(std::move(word));
  out.open_quote = quote != 0;
  out.trailing_blank = !in_word && !line.empty();
  return out;
}

std::vector<std::string> split_words(std::string_view line, const VariableLookup& variable) {
  SplitLine s = split_line(line, variable);
  if (s.open_quote)
    throw_error(errc::bad_option,
                "this line opens a quote it does not close: close it (' or \"), or escape it with \\");
  return std::move(s.words);
}

}  // namespace crew::cli
