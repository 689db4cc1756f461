// The command line's words before a verb runs (see usage.hpp).
#include "cli/usage.hpp"

#include <iostream>
#include <string_view>
#include <vector>

#include "cli/output.hpp"
#include "common/near_words.hpp"
#include "crew/error.hpp"

namespace crew::cli {
namespace {

std::vector<std::string> verbs_of(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }))
    names.push_back(sub->get_name());
  return names;
}

const CLI::App* verb_named(const CLI::App& app, const std::string& word) {
  for (const CLI::App* sub : app.get_subcommands({}))
    if (sub->check_name(word)) return sub;
  return nullptr;
}

[[noreturn]] void unknown_verb(const CLI::App& at, const std::string& path, const std::string& word) {
  const auto verbs = verbs_of(at);
  const auto near = near_words(word, verbs, 3);
  std::string msg = "'" + word + "' is not a verb of `" + path + "`; ";
  if (!near.empty()) {
    msg += "did you mean " + or_list(near) + "? (`" + path + " --help` lists the verbs)";
  } else {
    msg += "the verbs are ";
    for (std::size_t i = 0; i < verbs.size(); ++i) msg += (i ? ", " : "") + verbs[i];
    msg += " (`" + path + " --help` says what each does)";
  }
  throw_error(errc::usage, msg);
}

}  // namespace

void check_verbs(const CLI::App& app, int argc, const char* const* argv) {
  const CLI::App* at = &app;
  std::string path = app.get_name();
  for (int i = 1; i < argc && !at->get_subcommands({}).empty(); ++i) {
    const std::string word = argv[i];
    if (word == "--") return;
    if (!word.empty() && word.front() == '-') {
      // --help, --version: CLI11's business. Another option before the verb is reported by CLI11.
      if (at->get_option_no_throw(word.substr(0, word.find('='))) == nullptr) return;
      continue;
    }
    const CLI::App* verb = verb_named(*at, word);
    if (verb == nullptr) unknown_verb(*at, path, word);
    at = verb;
    path += " " + verb->get_name();
  }
}

void one_value_per_option(CLI::App& app) {
  // Only options that collect a list (--after, --plugin, ...); the help then shows `--after TEXT`,
  // not `--after TEXT ...`.
  for (CLI::Option* o : app.get_options())
    if (o->nonpositional() && o->get_expected_max() > 1)
      o->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->allow_extra_args(false);
  for (CLI::App* sub : app.get_subcommands(std::function<bool(CLI::App*)>{})) one_value_per_option(*sub);
}

std::string verb_path(const CLI::App& app) {
  std::string path = app.get_name();
  for (const CLI::App* at = &app; !at->get_subcommands().empty();) {
    at = at->get_subcommands().front();
    path += " " + at->get_name();
  }
  return path;
}

void usage_failure_message(CLI::App& app) {
  app.failure_message([](const CLI::App* top, const CLI::Error& e) {
    const std::string path = verb_path(*top);
    return format_error(errc::usage, path + ": " + e.what() + "; see `" + path + " --help`") + "\n";
  });
}

std::optional<int> read_command_line(CLI::App& app, int argc, char** argv, bool json) {
  one_value_per_option(app);
  usage_failure_message(app);
  try {
    check_verbs(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (app.exit(e) == 0) return exit_ok;  // --help and --version
    if (json) {
      const std::string path = verb_path(app);
      std::cout << error_object(errc::usage, "crew." + std::string(errc_name(errc::usage)),
                                path + ": " + e.what() + "; see `" + path + " --help`")
                       .dump()
                << std::endl;
    }
    return exit_usage;
  } catch (const InputError& e) {
    return report(e, json);
  }
  return std::nullopt;
}

}  // namespace crew::cli
