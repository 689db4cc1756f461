#pragma once
// A line of `crew shell` as words, the way a POSIX shell splits them (without its expansions):
// blanks separate words; '...' keeps everything literally; "..." keeps blanks, and a backslash
// there escapes only " \ $ and `; a backslash outside quotes escapes the next character. So a
// line reads as the same command typed after `crew` in bash: call echo '"hi"' passes "hi". With
// a `variable` lookup, $NAME outside single quotes (and not escaped) becomes what it returns.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace crew::cli {

struct SplitLine {
  std::vector<std::string> words;
  bool open_quote = false;      ///< the line ended inside quotes (the last word is unfinished)
  bool trailing_blank = false;  ///< the line ended with a blank: the next word has not begun
};

/// Looks up $NAME (it may throw, e.g. for a name it does not hold).
using VariableLookup = std::function<std::string(const std::string& name)>;

/// Splits `line`; never throws itself (completion reads half-typed lines).
SplitLine split_line(std::string_view line, const VariableLookup& variable = {});
/// The words of a whole line; throws InputError [crew.input.bad_option] for an unclosed quote.
std::vector<std::string> split_words(std::string_view line, const VariableLookup& variable = {});

}  // namespace crew::cli
