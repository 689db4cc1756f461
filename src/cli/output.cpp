// CLI output.
#include "cli/output.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "crew/error.hpp"
#include "values/json.hpp"
#include "values/sequence.hpp"

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

namespace {

/// Arrays above this many elements, and other values above this many characters of JSON, are
/// summarised (a screenful: 25 lines of 80 characters).
constexpr std::size_t shown_elements = 256;
constexpr std::size_t shown_chars = 2000;

std::string how_to_save(const std::string& save, const char* what) {
  return std::string("; ") + (save.empty() ? "" : save + " saves " + what + ", ") + "--json prints " + what;
}

}  // namespace

std::string shown_value(const Value& v, const std::string& save) {
  if (v.is_array() && v.as_array().size() > shown_elements)
    return seq::describe(v) + " (" + std::to_string(v.as_array().size()) + " elements, not shown" +
           how_to_save(save, "them") + ")";
  std::string text = value_text(v);
  if (text.size() <= shown_chars) return text;
  return seq::describe(v) + " (" + std::to_string(text.size()) + " characters of JSON, not shown" +
         how_to_save(save, "it") + ")";
}

int exit_status_for(errc code) {
  if (errc_name(code).rfind("input.", 0) == 0) return exit_usage;
  // A launcher name, launcher file or template that is wrong is the user's input too.
  if (code == errc::unknown_launcher || code == errc::bad_launcher || code == errc::bad_template) return exit_usage;
  return exit_failure;
}

nlohmann::json error_object(errc code, const std::string& type, const std::string& message) {
  return {{"$error", {{"code", std::string(errc_name(code))}, {"type", type}, {"message", message}}}};
}

namespace {
std::string crew_type(errc code) { return "crew." + std::string(errc_name(code)); }
}  // namespace

nlohmann::json error_object(const std::exception& e) {
  if (const auto* remote = dynamic_cast<const RemoteError*>(&e)) {
    auto out = error_object(remote->code(), remote->type().empty() ? crew_type(remote->code()) : remote->type(),
                            remote->remote_message());
    if (remote->engine_id() >= 0) out["$error"]["engine"] = remote->engine_id();
    if (const auto* several = dynamic_cast<const CompositeError*>(remote); several && several->errors().size() > 1) {
      out["errors"] = nlohmann::json::array();  // each engine's or chunk's, the first one included
      for (const auto& each : several->errors()) out["errors"].push_back(error_object(each));
    }
    return out;
  }
  if (const auto* err = dynamic_cast<const Error*>(&e))
    return error_object(err->code(), crew_type(err->code()), err->message());
  return error_object(errc::internal, crew_type(errc::internal), e.what());
}

int report(const std::exception& e, bool json) {
  std::cerr << e.what() << std::endl;
  if (json) std::cout << error_object(e).dump() << std::endl;
  if (const auto* err = dynamic_cast<const Error*>(&e)) return exit_status_for(err->code());
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

std::string ids_line(const std::vector<std::string>& ids) {
  std::string s;
  for (const auto& id : ids) s += (s.empty() ? "" : " ") + id;
  return s.empty() ? "-" : s;
}

}  // namespace crew::cli
