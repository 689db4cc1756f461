// Launcher files: TOML (toml++), checked key by key so a mistake names its file, line and key.
#include "cluster/launcher_definition.hpp"

#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "cluster/job_template.hpp"
#include "crew/error.hpp"

namespace crew::cluster {
namespace {

namespace fs = std::filesystem;

/// Reads one launcher file's tables, remembering which keys were used so that unknown ones
/// (typos) are refused.
class Reader {
public:
  Reader(const toml::table& root, fs::path file) : root_(root), file_(std::move(file)) {}

  [[noreturn]] void fail(const toml::node* at, const std::string& message) const {
    std::string where = file_.string();
    if (at != nullptr && at->source().begin.line > 0) where += ":" + std::to_string(at->source().begin.line);
    throw_error(errc::bad_launcher, where + ": " + message);
  }

  const toml::table* table(const toml::table& in, const std::string& key, const std::string& in_name, bool required) {
    use(in, key);
    const toml::node* n = in.get(key);
    if (n == nullptr) {
      if (required) fail(&in, "missing table [" + qualified(in_name, key) + "]");
      return nullptr;
    }
    if (!n->is_table()) fail(n, qualified(in_name, key) + " must be a table");
    return n->as_table();
  }

  std::optional<std::string> string(const toml::table& in, const std::string& key, const std::string& in_name,
                                    bool required, const std::string& example) {
    use(in, key);
    const toml::node* n = in.get(key);
    if (n == nullptr) {
      if (required) fail(&in, missing(in, in_name, key, "a string, e.g. " + example));
      return std::nullopt;
    }
    if (!n->is_string()) fail(n, qualified(in_name, key) + " must be a string, e.g. " + example);
    return n->as_string()->get();
  }

  std::optional<bool> boolean(const toml::table& in, const std::string& key, const std::string& in_name) {
    use(in, key);
    const toml::node* n = in.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_boolean()) fail(n, qualified(in_name, key) + " must be true or false");
    return n->as_boolean()->get();
  }

  std::vector<std::string> strings(const toml::table& in, const std::string& key, const std::string& in_name,
                                   bool required, const std::string& example) {
    use(in, key);
    const toml::node* n = in.get(key);
    if (n == nullptr) {
      if (required) fail(&in, missing(in, in_name, key, "a list of strings, e.g. " + example));
      return {};
    }
    const toml::array* a = n->as_array();
    if (a == nullptr) fail(n, qualified(in_name, key) + " must be a list of strings, e.g. " + example);
    std::vector<std::string> out;
    for (const auto& item : *a) {
      if (!item.is_string()) fail(&item, qualified(in_name, key) + " must hold only strings, e.g. " + example);
      out.push_back(item.as_string()->get());
    }
    if (required && out.empty()) fail(n, qualified(in_name, key) + " must not be empty, e.g. " + example);
    return out;
  }

  Pattern pattern(const toml::table& in, const std::string& key, const std::string& in_name,
                  const std::vector<std::string>& groups, const std::string& example) {
    const auto text = string(in, key, in_name, true, example);
    const toml::node* n = in.get(key);
    try {
      Pattern p(*text);
      for (const auto& g : groups)
        if (!p.has_group(g))
          fail(n, qualified(in_name, key) + " must have a named group (?<" + g + ">...), e.g. " + example);
      return p;
    } catch (const std::invalid_argument& e) {
      fail(n, qualified(in_name, key) + " is not a regular expression: " + e.what());
    }
  }

  /// One of a few words, as its enum value; `fallback` when the key is absent and not required.
  template <class E>
  E choice(const toml::table& in, const std::string& key, bool required, E fallback,
           const std::vector<std::pair<std::string, E>>& words) {
    std::string list;
    for (const auto& [word, value] : words) list += (list.empty() ? "\"" : ", \"") + word + "\"";
    const auto text = string(in, key, "", required, list);
    if (!text) return fallback;
    for (const auto& [word, value] : words)
      if (word == *text) return value;
    fail(in.get(key), key + " = \"" + *text + "\": use one of " + list);
  }

  JobState state(const toml::table& in, const std::string& key, const std::string& in_name, bool required) {
    const auto text = string(in, key, in_name, required, "\"done\"");
    if (!text) return JobState::unknown;
    return state_value(in.get(key), *text, qualified(in_name, key));
  }

  JobState state_value(const toml::node* at, const std::string& text, const std::string& what) const {
    if (auto s = job_state_from_name(text)) return *s;
    fail(at, what + " = \"" + text + "\" is not one of crew's job states: " + job_state_names());
  }

  /// Refuses keys of `in` that no call asked for.
  void check_no_unknown(const toml::table& in, const std::string& in_name) const {
    const auto used = used_.find(&in);
    for (const auto& [key, node] : in) {
      const std::string k(key.str());
      if (used != used_.end() && used->second.count(k)) continue;
      std::string known;
      if (used != used_.end())
        for (const auto& u : used->second) known += (known.empty() ? "" : ", ") + u;
      fail(&node,
           "unknown key '" + qualified(in_name, k) + "'" +
               (known.empty() ? ""
                              : "; the keys " + (in_name.empty() ? std::string("at the top") : "of [" + in_name + "]") +
                                    " are: " + known));
    }
  }

  void use(const toml::table& in, const std::string& key) { used_[&in].insert(key); }

private:
  static std::string qualified(const std::string& in_name, const std::string& key) {
    return in_name.empty() ? key : in_name + "." + key;
  }
  /// "[submit] has no key 'job_id' (...)", and the keys it has instead, where a typo hides.
  static std::string missing(const toml::table& in, const std::string& in_name, const std::string& key,
                             const std::string& what) {
    std::string text =
        (in_name.empty() ? std::string("missing key '") : "[" + in_name + "] has no key '") + key + "' (" + what + ")";
    std::string has;
    for (const auto& [k, node] : in) has += (has.empty() ? "" : ", ") + std::string("'") + std::string(k.str()) + "'";
    if (!in_name.empty() && !has.empty()) text += "; it has " + has;
    return text;
  }

  const toml::table& root_;
  fs::path file_;
  std::map<const toml::table*, std::set<std::string>> used_;
};

/// Only the placeholders crew fills in: {script}, {output}, {job_id}, {job_ids}.
void check_placeholders(Reader& r, const toml::node* at, const CommandTemplate& command, const std::string& what) {
  static const std::set<std::string> known{"script", "output", "job_id", "job_ids"};
  for (const auto& word : command) {
    for (std::size_t open = word.find('{'); open != std::string::npos; open = word.find('{', open + 1)) {
      const auto close = word.find('}', open);
      if (close == std::string::npos) break;
      const std::string name = word.substr(open + 1, close - open - 1);
      if (!known.count(name))
        r.fail(at, what + ": unknown placeholder {" + name +
                       "}; the placeholders are {script}, {output}, {job_id}, {job_ids}");
    }
  }
}

bool mentions(const CommandTemplate& command, std::string_view placeholder) {
  for (const auto& w : command)
    if (w.find(placeholder) != std::string::npos) return true;
  return false;
}

}  // namespace

std::string_view kind_name(LauncherKind k) noexcept { return k == LauncherKind::batch ? "batch" : "process"; }

JobState LauncherDefinition::state_of(const std::string& scheduler_state) const {
  const auto it = states.find(scheduler_state);
  return it == states.end() ? default_state : it->second;
}

LauncherDefinition parse_launcher(const std::string& text, const fs::path& file, std::string origin) {
  toml::table root;
  try {
    root = toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    throw_error(errc::bad_launcher, file.string() + ":" + std::to_string(e.source().begin.line) +
                                        ": not valid TOML: " + std::string(e.description()));
  }
  Reader r(root, file);
  LauncherDefinition d;
  d.name = file.stem().string();
  d.file = file;
  d.origin = std::move(origin);
  d.description = r.string(root, "description", "", false, "\"Slurm: one sbatch job per world\"").value_or("");

  d.kind = r.choice<LauncherKind>(root, "kind", true, LauncherKind::process,
                                  {{"batch", LauncherKind::batch}, {"process", LauncherKind::process}});
  d.template_name = *r.string(root, "template", "", true, "\"slurm.sh.in\" (in jobscripts/) or a path");
  d.programs = r.strings(root, "programs", "", true, "[\"sbatch\", \"squeue\", \"scancel\"]");
  d.package = *r.string(root, "package", "", true, "\"slurm-client\"");
  d.connection = r.choice<ConnectionMode>(
      root, "connection", false, ConnectionMode::automatic,
      {{"auto", ConnectionMode::automatic}, {"profile", ConnectionMode::profile}, {"embed", ConnectionMode::embed}});
  d.walltime_format = r.choice<WalltimeFormat>(root, "walltime_format", false, WalltimeFormat::hh_mm_ss,
                                               {{"hh:mm:ss", WalltimeFormat::hh_mm_ss},
                                                {"minutes", WalltimeFormat::minutes},
                                                {"seconds", WalltimeFormat::seconds}});
  d.job_id_separator = r.string(root, "job_id_separator", "", false, "\",\"").value_or(",");
  const bool batch = d.kind == LauncherKind::batch;
  if (const auto* submit = r.table(root, "submit", "", batch)) {
    d.submit = r.strings(*submit, "command", "submit", true, "[\"sbatch\", \"--parsable\", \"{script}\"]");
    check_placeholders(r, submit->get("command"), d.submit, "submit.command");
    d.script_on_stdin = r.boolean(*submit, "script_on_stdin", "submit").value_or(false);
    if (!d.script_on_stdin && !mentions(d.submit, "{script}"))
      r.fail(submit->get("command"),
             "submit.command must pass {script}, or set script_on_stdin = true (as LSF's `bsub < script`)");
    if (batch) d.job_id = r.pattern(*submit, "job_id", "submit", {"id"}, "'^(?<id>\\d+)'");
    r.check_no_unknown(*submit, "submit");
  }
  if (const auto* status = r.table(root, "status", "", batch)) {
    d.missing = r.state(*status, "missing", "status", true);
    d.default_state = r.state(*status, "default_state", "status", true);
    r.use(*status, "commands");
    const toml::node* commands = status->get("commands");
    const toml::array* list = commands ? commands->as_array() : nullptr;
    if (list == nullptr || list->empty())
      r.fail(commands ? commands : status,
             "[status] needs at least one [[status.commands]] table with command = [...] and line = '...'");
    for (const auto& item : *list) {
      const toml::table* t = item.as_table();
      if (t == nullptr) r.fail(&item, "status.commands must be [[status.commands]] tables");
      StatusCommand sc;
      sc.command = r.strings(*t, "command", "status.commands", true, "[\"squeue\", \"--jobs={job_ids}\"]");
      check_placeholders(r, t->get("command"), sc.command, "status.commands.command");
      sc.line = r.pattern(*t, "line", "status.commands", {"id", "state"}, "'^(?<id>\\d+)\\|(?<state>\\w+)'");
      r.check_no_unknown(*t, "status.commands");
      d.status.push_back(std::move(sc));
    }
    const toml::table* states = r.table(*status, "states", "status", true);
    for (const auto& [key, node] : *states) {
      if (!node.is_string()) r.fail(&node, "status.states values are crew job states (strings): " + job_state_names());
      d.states.emplace(std::string(key.str()), r.state_value(&node, node.as_string()->get(),
                                                             "status.states.\"" + std::string(key.str()) + "\""));
    }
    if (d.states.empty()) r.fail(states, "[status.states] is empty: map the scheduler's states to crew's");
    r.check_no_unknown(*status, "status");
  }
  if (const auto* cancel = r.table(root, "cancel", "", batch)) {
    d.cancel = r.strings(*cancel, "command", "cancel", true, "[\"scancel\", \"{job_ids}\"]");
    check_placeholders(r, cancel->get("command"), d.cancel, "cancel.command");
    if (!mentions(d.cancel, "{job_id}") && !mentions(d.cancel, "{job_ids}"))
      r.fail(cancel->get("command"), "cancel.command must name the job: {job_id} or {job_ids}");
    r.check_no_unknown(*cancel, "cancel");
  }
  if (const auto* env = r.table(root, "environment", "", batch)) {
    d.env_job_id = r.string(*env, "job_id", "environment", batch, "\"SLURM_JOB_ID\"").value_or("");
    d.env_nodes = r.string(*env, "nodes", "environment", false, "\"SLURM_JOB_NODELIST\"").value_or("");
    d.env_end_time = r.string(*env, "end_time", "environment", false, "\"SLURM_JOB_END_TIME\"").value_or("");
    r.check_no_unknown(*env, "environment");
  }
  if (const auto* defaults = r.table(root, "defaults", "", false)) {
    for (const auto& [key, node] : *defaults) {
      const std::string name(key.str());
      bool known = false;
      for (const auto& [n, meaning] : template_variables()) known |= n == name;
      if (!known)
        r.fail(&node, "defaults." + name + ": not a template variable (`crew jobscript --variables` lists them)");
      if (!node.is_string()) r.fail(&node, "defaults." + name + " must be a string");
      d.defaults.emplace(name, node.as_string()->get());
    }
  }
  r.check_no_unknown(root, "");
  return d;
}

LauncherDefinition read_launcher_file(const fs::path& file, std::string origin) {
  std::ifstream in(file);
  if (!in) throw_error(errc::bad_launcher, "cannot read launcher file " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  return parse_launcher(text.str(), file, std::move(origin));
}

}  // namespace crew::cluster
