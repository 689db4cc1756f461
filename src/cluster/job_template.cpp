// Job-script templates on mstch, with crew's checks before rendering.
#include "cluster/job_template.hpp"

#include <mstch/mstch.hpp>

#include <fstream>
#include <sstream>

#include "cluster/pattern.hpp"
#include "crew/error.hpp"

namespace crew::cluster {
namespace {

[[noreturn]] void fail(const std::filesystem::path& file, std::size_t line, const std::string& message) {
  throw_error(errc::bad_template, file.string() + ":" + std::to_string(line) + ": " + message);
}

bool known_variable(const std::string& name) {
  for (const auto& [n, meaning] : template_variables())
    if (n == name) return true;
  return false;
}

std::string variable_names() {
  std::string out;
  for (const auto& [n, meaning] : template_variables()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

/// What each variable is filled from, for the "no value" error.
std::string how_to_set(const std::string& name) {
  static const std::map<std::string, std::string> options{
      {"queue", "--queue"},       {"account", "--account"},
      {"walltime", "--walltime"}, {"walltime_seconds", "--walltime"},
      {"nodes", "--nodes"},       {"ranks_per_node", "--ranks-per-node"},
      {"hosts", "--hosts"},
  };
  const auto it = options.find(name);
  return it == options.end() ? "" : "pass " + it->second + ", or ";
}

/// Checks every tag: known names, sections that close, values for the variables used bare.
void check(const std::string& text, const std::filesystem::path& file, const TemplateValues& values) {
  static const Pattern tag(R"((?s)^\{\{(?<triple>\{)?\s*(?<sigil>[#^/&!>=]?)\s*(?<name>.*?)\s*\}?\}\}$)");
  std::vector<std::pair<std::string, std::size_t>> open;  // section names, lines
  std::size_t line = 1, counted = 0, pos = 0;
  while ((pos = text.find("{{", pos)) != std::string::npos) {
    for (; counted < pos; ++counted) line += text[counted] == '\n' ? 1 : 0;
    const bool triple = text.compare(pos, 3, "{{{") == 0;
    const auto end = text.find(triple ? "}}}" : "}}", pos + 2);
    if (end == std::string::npos) fail(file, line, "a '{{' that does not close");
    const std::string whole = text.substr(pos, end + (triple ? 3 : 2) - pos);
    pos = end + 2;
    const auto m = tag.first(whole);
    if (!m) fail(file, line, "cannot read the tag " + whole);
    const auto sigil = m->count("sigil") ? m->at("sigil") : std::string();
    const auto name = m->count("name") ? m->at("name") : std::string();
    if (sigil == "!") continue;  // a comment
    if (sigil == ">" || sigil == "=")
      fail(file, line, "{{" + sigil + "...}} (partials, delimiter changes) is not supported in job scripts");
    if (name.empty()) fail(file, line, "an empty tag {{}}");
    if (name == ".") {
      if (open.empty()) fail(file, line, "{{.}} outside a list section such as {{#job_options}}");
      continue;
    }
    if (!known_variable(name))
      fail(file, line, "unknown variable '" + name + "'; the variables are: " + variable_names());
    if (sigil == "#" || sigil == "^") {
      open.emplace_back(name, line);
    } else if (sigil == "/") {
      if (open.empty() || open.back().first != name)
        fail(file, line,
             "{{/" + name + "}} closes " + (open.empty() ? "no open section" : "{{#" + open.back().first + "}}"));
      open.pop_back();
    } else if (!values.has(name)) {
      bool guarded = false;
      for (const auto& [section, l] : open) guarded |= section == name;
      if (!guarded)
        fail(file, line,
             "'" + name + "' is used but has no value; " + how_to_set(name) + "put the line inside {{#" + name +
                 "}} ... {{/" + name + "}} so that it is left out when there is none");
    }
  }
  if (!open.empty()) fail(file, open.back().second, "{{#" + open.back().first + "}} is never closed");
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& template_variables() {
  static const std::vector<std::pair<std::string, std::string>> vars{
      {"launcher", "the launcher's name (slurm, pbs, ...)"},
      {"job_name", "crew-<profile>-<world>"},
      {"profile", "the cluster's profile"},
      {"world", "the world's number in this cluster"},
      {"ranks", "MPI ranks (engines) of this world"},
      {"nodes", "--nodes: nodes to ask for"},
      {"ranks_per_node", "--ranks-per-node"},
      {"queue", "--queue: the queue or partition"},
      {"account", "--account: the account or project to charge"},
      {"walltime", "--walltime, written the way this scheduler reads it"},
      {"walltime_seconds", "--walltime in seconds"},
      {"output", "the job's output file (stdout and stderr)"},
      {"workdir", "the directory the job runs in"},
      {"job_options", "--job-option lines (a list), e.g. '#SBATCH --mem=4G'"},
      {"prologue", "--prologue lines (a list), e.g. 'module load openmpi'"},
      {"environment", "NAME=value pairs crew exports in the job (a list, shell-quoted)"},
      {"mpirun", "mpirun with crew's and --mpirun-args' options"},
      {"hosts", "--hosts for mpirun, e.g. nodeA:2,nodeB:2 (ssh)"},
      {"parallel_environment", "SGE's parallel environment for -pe (the launcher file's default: mpi)"},
      {"engine_command", "crew-engine with its options and the connection file; ends its line"},
  };
  return vars;
}

std::string render_template(const std::string& text, const std::filesystem::path& file, const TemplateValues& values) {
  check(text, file, values);
  mstch::map context;
  for (const auto& [k, v] : values.scalars) context.emplace(k, v);
  for (const auto& [k, list] : values.lists) {
    if (list.empty()) continue;  // an empty list leaves its section out
    mstch::array items;
    for (const auto& item : list) items.emplace_back(item);
    context.emplace(k, std::move(items));
  }
  mstch::config::escape = [](const std::string& s) { return s; };  // shell, not HTML
  return mstch::render(text, context);
}

std::string render_template_file(const std::filesystem::path& file, const TemplateValues& values) {
  std::ifstream in(file);
  if (!in) throw_error(errc::bad_template, "cannot read job-script template " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  return render_template(text.str(), file, values);
}

std::string shell_quote(const std::string& value) {
  if (!value.empty() &&
      value.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,/:=@+%") ==
          std::string::npos)
    return value;
  std::string out = "'";
  for (char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace crew::cluster
