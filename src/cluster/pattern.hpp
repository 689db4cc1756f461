#pragma once
// Regular expressions with named groups, as launcher files write them: `^(?<id>\d+)`.
//
// PCRE2 (Perl syntax, the dialect of the schedulers' own documentation); `^` and `$` match at
// every line of a command's output.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crew::cluster {

/// The named groups of one match; a group that did not take part is absent.
using Groups = std::map<std::string, std::string>;

class Pattern {
public:
  /// Throws std::invalid_argument with PCRE2's message and the offset where it stopped.
  explicit Pattern(std::string source);
  ~Pattern();
  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;
  Pattern(const Pattern&);
  Pattern& operator=(const Pattern&);

  /// The first match in `text`.
  std::optional<Groups> first(std::string_view text) const;
  /// Every match, each on its own stretch of `text` (e.g. one per line).
  std::vector<Groups> all(std::string_view text) const;
  bool has_group(std::string_view name) const;
  const std::string& source() const noexcept { return source_; }

private:
  struct Compiled;
  std::string source_;
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace crew::cluster
