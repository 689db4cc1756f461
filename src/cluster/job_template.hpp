#pragma once
// Job-script templates: jobscripts/<name>.sh.in, Mustache syntax (rendered by mstch).
//
//   #SBATCH --ntasks={{ranks}}
//   {{#queue}}
//   #SBATCH --partition={{queue}}
//   {{/queue}}
//   {{#job_options}}
//   {{.}}
//   {{/job_options}}
//
// A variable outside a section of its own name must have a value; a name crew does not define
// is an error. Both name the template's file and line, never an empty string in a script.

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace crew::cluster {

struct TemplateValues {
  std::map<std::string, std::string> scalars;  ///< only the set ones (a section of an unset name is left out)
  std::map<std::string, std::vector<std::string>> lists;

  void set(const std::string& name, std::string value) {
    if (!value.empty()) scalars[name] = std::move(value);
  }
  bool has(const std::string& name) const { return scalars.count(name) || lists.count(name); }
};

/// Every variable crew defines for templates, with what it holds.
const std::vector<std::pair<std::string, std::string>>& template_variables();

/// Renders `text` (read from `file`, named in errors). Throws LaunchError
/// [crew.launch.bad_template] for an unknown variable, one used without a value, or bad syntax.
std::string render_template(const std::string& text, const std::filesystem::path& file, const TemplateValues& values);

/// The same, reading `file`.
std::string render_template_file(const std::filesystem::path& file, const TemplateValues& values);

/// `value` quoted for the shell (single quotes), unless it needs none.
std::string shell_quote(const std::string& value);

}  // namespace crew::cluster
