// Launcher files (cluster/launcher_definition.hpp): every built-in one reads; a broken one is
// refused naming its file, line and key.
#include <doctest/doctest.h>

#include <filesystem>

#include "cluster/launcher_definition.hpp"
#include "crew/error.hpp"

using namespace crew;
using namespace crew::cluster;
namespace fs = std::filesystem;

namespace {

const fs::path launchers_dir = fs::path(CREW_SOURCE_DIR) / "launchers";

/// The message of the LaunchError that parsing `text` throws ("" if it does not throw).
std::string refusal(const std::string& text) {
  try {
    (void)parse_launcher(text, "/site/launchers/mine.toml", "site");
  } catch (const LaunchError& e) {
    CHECK(e.code() == errc::bad_launcher);
    return e.what();
  } catch (const std::exception& e) {
    FAIL("not a LaunchError: " << e.what());
  }
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const std::string minimal_batch = R"(kind = "batch"
template = "mine.sh.in"
programs = ["mysub"]
package = "mysched-client"
[submit]
command = ["mysub", "{script}"]
job_id = '^(?<id>\d+)'
[status]
missing = "done"
default_state = "unknown"
[[status.commands]]
command = ["mystat", "{job_ids}"]
line = '^(?<id>\d+) (?<state>\w+)'
[status.states]
Q = "pending"
R = "running"
[cancel]
command = ["mydel", "{job_ids}"]
[environment]
job_id = "MY_JOB_ID"
)";

}  // namespace

TEST_SUITE("unit.launcher_definition") {
  TEST_CASE("every built-in launcher file reads, and names its template, programs and package") {
    int read = 0;
    for (const auto& entry : fs::directory_iterator(launchers_dir)) {
      if (entry.path().extension() != ".toml") continue;
      INFO(entry.path());
      const auto d = read_launcher_file(entry.path(), "built in");
      CHECK(d.name == entry.path().stem().string());
      CHECK(fs::exists(fs::path(CREW_SOURCE_DIR) / "jobscripts" / d.template_name));
      CHECK_FALSE(d.programs.empty());
      CHECK_FALSE(d.package.empty());
      if (d.kind == LauncherKind::batch) {
        CHECK_FALSE(d.status.empty());
        CHECK_FALSE(d.cancel.empty());
        CHECK_FALSE(d.env_job_id.empty());
        CHECK_FALSE(d.states.empty());
      }
      ++read;
    }
    CHECK(read == 6);
  }

  TEST_CASE("the built-in launchers are the ones the project names, of the right kinds") {
    for (const char* name : {"slurm", "pbs", "sge", "lsf"})
      CHECK(read_launcher_file(launchers_dir / (std::string(name) + ".toml"), "built in").kind == LauncherKind::batch);
    for (const char* name : {"local", "ssh"})
      CHECK(read_launcher_file(launchers_dir / (std::string(name) + ".toml"), "built in").kind ==
            LauncherKind::process);
  }

  TEST_CASE("a minimal batch launcher reads, and an unlisted state falls to the explicit default") {
    const auto d = parse_launcher(minimal_batch, "/site/launchers/mine.toml", "site");
    CHECK(d.name == "mine");
    CHECK(d.origin == "site");
    CHECK(d.state_of("Q") == JobState::pending);
    CHECK(d.state_of("R") == JobState::running);
    CHECK(d.state_of("Z") == JobState::unknown);
    CHECK(d.missing == JobState::done);
  }

  TEST_CASE("malformed TOML is refused with the file and line") {
    const auto why = refusal("kind = \"batch\"\ntemplate = \n");
    CHECK(contains(why, "[crew.launch.bad_launcher] /site/launchers/mine.toml:2: not valid TOML"));
  }

  TEST_CASE("a missing key is refused naming the key, its table and an example") {
    std::string text = minimal_batch;
    text.erase(text.find("job_id = '^"), text.find('\n', text.find("job_id = '^")) + 1 - text.find("job_id = '^"));
    const auto why = refusal(text);
    CHECK(contains(why, "/site/launchers/mine.toml:5:"));  // the [submit] table's line
    CHECK(contains(why, "[submit] has no key 'job_id'"));
    CHECK(contains(why, "(?<id>"));
  }

  TEST_CASE("a missing top-level key is refused naming it") {
    std::string text = minimal_batch;
    text.erase(0, text.find('\n') + 1);  // no kind
    CHECK(contains(refusal(text), "missing key 'kind'"));
  }

  TEST_CASE("an unknown key (a typo) is refused naming the keys there are") {
    std::string text = minimal_batch;
    text.replace(text.find("command = [\"mydel\""), 7, "comand");
    const auto why = refusal(text);
    CHECK(contains(why, "[cancel] has no key 'command'"));
    CHECK(contains(why, "it has 'comand'"));
    // A key that is not missing anything else is called unknown.
    CHECK(contains(refusal(minimal_batch + "[environment.extra]\n"), "unknown key 'environment.extra'"));
  }

  TEST_CASE("a job id pattern without its named group, or that does not compile, is refused") {
    std::string text = minimal_batch;
    text.replace(text.find("'^(?<id>\\d+)'"), 13, "'^(\\d+)'");
    CHECK(contains(refusal(text), "submit.job_id must have a named group (?<id>...)"));
    text = minimal_batch;
    text.replace(text.find("'^(?<id>\\d+)'"), 13, "'^(?<id>\\d+'");
    CHECK(contains(refusal(text), "submit.job_id is not a regular expression"));
  }

  TEST_CASE("a status line without a state group is refused") {
    std::string text = minimal_batch;
    text.replace(text.find("(?<state>\\w+)"), 13, "(\\w+)");
    CHECK(contains(refusal(text), "status.commands.line must have a named group (?<state>...)"));
  }

  TEST_CASE("a state that is not one of crew's is refused, listing crew's") {
    std::string text = minimal_batch;
    text.replace(text.find("R = \"running\""), 13, "R = \"runing\"");
    const auto why = refusal(text);
    CHECK(contains(why, ":16:"));
    CHECK(contains(why, "\"runing\" is not one of crew's job states: pending, held, running, done, failed, cancelled, "
                        "timeout, unknown"));
  }

  TEST_CASE("an unknown placeholder, a submit without the script and a cancel without the job are refused") {
    std::string text = minimal_batch;
    text.replace(text.find("\"{script}\""), 10, "\"{scrpit}\"");
    CHECK(contains(refusal(text), "unknown placeholder {scrpit}"));
    text = minimal_batch;
    text.replace(text.find(", \"{script}\""), 12, "");
    CHECK(contains(refusal(text), "submit.command must pass {script}, or set script_on_stdin = true"));
    text = minimal_batch;
    text.replace(text.find("\"mydel\", \"{job_ids}\""), 20, "\"mydel\"");
    CHECK(contains(refusal(text), "cancel.command must name the job"));
  }

  TEST_CASE("[defaults] may only set template variables") {
    CHECK(contains(refusal(minimal_batch + "[defaults]\nqueue = \"short\"\nqeueu = \"x\"\n"),
                   "defaults.qeueu: not a template variable"));
    const auto d = parse_launcher(minimal_batch + "[defaults]\nqueue = \"short\"\n", "mine.toml", "user");
    CHECK(d.defaults.at("queue") == "short");
  }

  TEST_CASE("a process launcher needs no scheduler tables") {
    const auto d = parse_launcher("kind = \"process\"\ntemplate = \"x.sh.in\"\nprograms = [\"mpirun\"]\npackage = "
                                  "\"openmpi-bin\"\n",
                                  "x.toml", "user");
    CHECK(d.kind == LauncherKind::process);
    CHECK(d.status.empty());
  }
}
