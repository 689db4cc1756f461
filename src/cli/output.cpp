// CLI output.
#include "cli/output.hpp"

#include <algorithm>
#include <iostream>

#include "crew/error.hpp"
#include "crew/json.hpp"

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
  }
  return exit_failure;
}

}  // namespace crew::cli
