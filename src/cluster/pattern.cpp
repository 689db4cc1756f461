// Named-group regular expressions on PCRE2.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "cluster/pattern.hpp"

#include <pcre2.h>

#include <stdexcept>

namespace crew::cluster {

struct Pattern::Compiled {
  pcre2_code* code = nullptr;
  std::vector<std::pair<std::string, int>> names;  ///< group name, group number
  ~Compiled() { pcre2_code_free(code); }
};

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

}  // namespace

Pattern::Pattern(std::string source) : source_(std::move(source)) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  auto compiled = std::make_shared<Compiled>();
  compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source_.data()), source_.size(),
                                 PCRE2_MULTILINE | PCRE2_UTF, &error, &offset, nullptr);
  if (compiled->code == nullptr)
    throw std::invalid_argument(pcre2_message(error) + " at offset " + std::to_string(offset));
  std::uint32_t count = 0, entry_size = 0;
  PCRE2_SPTR table = nullptr;
  pcre2_pattern_info(compiled->code, PCRE2_INFO_NAMECOUNT, &count);
  pcre2_pattern_info(compiled->code, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
  pcre2_pattern_info(compiled->code, PCRE2_INFO_NAMETABLE, &table);
  for (std::uint32_t i = 0; i < count; ++i) {
    const PCRE2_SPTR entry = table + i * entry_size;
    const int number = (entry[0] << 8) | entry[1];
    compiled->names.emplace_back(reinterpret_cast<const char*>(entry + 2), number);
  }
  compiled_ = std::move(compiled);
}

Pattern::~Pattern() = default;
Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;
Pattern::Pattern(const Pattern&) = default;
Pattern& Pattern::operator=(const Pattern&) = default;

bool Pattern::has_group(std::string_view name) const {
  for (const auto& [n, number] : compiled_->names)
    if (n == name) return true;
  return false;
}

std::optional<Groups> Pattern::first(std::string_view text) const {
  auto found = all(text);
  if (found.empty()) return std::nullopt;
  return std::move(found.front());
}

std::vector<Groups> Pattern::all(std::string_view text) const {
  std::vector<Groups> out;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(compiled_->code, nullptr), &pcre2_match_data_free);
  PCRE2_SIZE start = 0;
  while (start <= text.size()) {
    const int rc = pcre2_match(compiled_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start, 0,
                               data.get(), nullptr);
    if (rc < 0) break;  // PCRE2_ERROR_NOMATCH, or a match limit: no (more) matches
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    Groups groups;
    for (const auto& [name, number] : compiled_->names) {
      if (number >= rc) continue;
      const PCRE2_SIZE from = ovector[2 * number], to = ovector[2 * number + 1];
      if (from == PCRE2_UNSET) continue;
      groups.emplace(name, std::string(text.substr(from, to - from)));
    }
    out.push_back(std::move(groups));
    // Go on after this match; an empty match moves one character on so the loop ends.
    start = ovector[1] > ovector[0] ? ovector[1] : ovector[1] + 1;
  }
  return out;
}

}  // namespace crew::cluster
