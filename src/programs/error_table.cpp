// crew-error-table: the README's table of error codes, rendered from the one list
// (include/crew/errc.hpp). Prints it; `--check README.md` fails if the README's copy differs;
// `--update README.md` rewrites that copy (`cmake --build build --target error-table`).
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "crew/error.hpp"

namespace {

constexpr std::string_view begin_marker =
    "<!-- error-codes: begin (generated from include/crew/errc.hpp by crew-error-table; do not edit) -->\n";
constexpr std::string_view end_marker = "<!-- error-codes: end -->\n";

std::string render() {
  std::ostringstream out;
  out << "| code | number | thrown as | meaning |\n| --- | ---: | --- | --- |\n";
  for (const auto& e : crew::error_codes) {
    if (e.code == crew::errc::none) continue;
    out << "| `crew." << e.name << "` | " << static_cast<int>(e.code)
        << " | `crew::" << crew::exception_type_name(e.code) << "` | " << e.meaning << " |\n";
  }
  return out.str();
}

int fail(const std::string& why) {
  std::cerr << "crew-error-table: " << why << '\n';
  return 1;
}

int check_or_update(const std::string& mode, const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::string doc = text.str();
  const auto begin = doc.find(begin_marker), end = doc.find(end_marker);
  if (begin == std::string::npos || end == std::string::npos || end < begin)
    return fail(path + " lacks the markers around the table:\n" + std::string(begin_marker) + std::string(end_marker));
  const auto from = begin + begin_marker.size();
  const std::string table = render();
  if (doc.compare(from, end - from, table) == 0) return 0;
  if (mode == "--check")
    return fail("the table of error codes in " + path +
                " differs from include/crew/errc.hpp; regenerate it with "
                "`cmake --build build --target error-table`. It should read:\n" +
                table);
  doc.replace(from, end - from, table);
  std::ofstream(path) << doc;
  std::cout << "updated the table of error codes in " << path << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (argc == 1) {
    std::cout << render();
    return 0;
  }
  if (argc == 3 && (mode == "--check" || mode == "--update")) return check_or_update(mode, argv[2]);
  return fail("usage: crew-error-table [--check README.md | --update README.md]");
}
