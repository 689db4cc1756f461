// CLI output.
#include "cli/output.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "crew/error.hpp"
#include "values/json.hpp"

namespace crew::cli {

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      text += cells[c];
      if (c + 1 < cells.size()) text += std::string(width[c] - cells[c].size() + 2, ' ');
    }
    out << text << '\n';
  };
  line(header);
  for (const auto& row : rows) line(row);
}

std::string value_text(const Value& v) {
  return to_json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int report(const std::exception& e) {
  std::cerr << e.what() << std::endl;
  if (const auto* err = dynamic_cast<const Error*>(&e)) {
    const auto family = errc_name(err->code());
    if (family.rfind("input.", 0) == 0) return exit_usage;
    // A launcher name, launcher file or template that is wrong is the user's input too.
    if (err->code() == errc::unknown_launcher || err->code() == errc::bad_launcher || err->code() == errc::bad_template)
      return exit_usage;
  }
  return exit_failure;
}

std::string clock_text(long seconds) {
  char buf[48];
  const long days = seconds / 86400;
  seconds %= 86400;
  if (days > 0)
    std::snprintf(buf, sizeof buf, "%ld-%02ld:%02ld:%02ld", days, seconds / 3600, (seconds / 60) % 60, seconds % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", seconds / 3600, (seconds / 60) % 60, seconds % 60);
  return buf;
}

std::string time_left_text(std::int64_t end_unix_seconds) {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const long left = static_cast<long>(end_unix_seconds - now);
  return left > 0 ? clock_text(left) : "ended";
}

}  // namespace crew::cli
