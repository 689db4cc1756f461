// Job-script templates (cluster/job_template.hpp): every built-in template renders into a script
// with its scheduler's directives; unknown or unset variables are errors naming file and line.
#include <doctest/doctest.h>

#include <filesystem>

#include "cluster/job_template.hpp"
#include "crew/error.hpp"

using namespace crew;
using namespace crew::cluster;
namespace fs = std::filesystem;

namespace {

const fs::path jobscripts_dir = fs::path(CREW_SOURCE_DIR) / "jobscripts";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/// What `crew cluster start` sets for a world of 4 engines, with every option given.
TemplateValues full_values() {
  TemplateValues v;
  v.set("launcher", "x");
  v.set("job_name", "crew-test-0");
  v.set("profile", "test");
  v.set("world", "0");
  v.set("ranks", "4");
  v.set("nodes", "2");
  v.set("ranks_per_node", "2");
  v.set("queue", "short");
  v.set("account", "proj42");
  v.set("walltime", "1:00:00");
  v.set("walltime_seconds", "3600");
  v.set("output", "/home/u/.crew/profile_test/log/world-0.log");
  v.set("workdir", "/home/u/work");
  v.set("hosts", "nodeA:2,nodeB:2");
  v.set("parallel_environment", "mpi");
  v.set("mpirun", "mpirun");
  v.set("engine_command", "/opt/crew/bin/crew-engine --file /x/engine.json");
  v.lists["job_options"] = {"#X --mem=4G"};
  v.lists["prologue"] = {"module load openmpi"};
  v.lists["environment"] = {"CREW_LAUNCHER=x"};
  return v;
}

/// Minimal values: no optional ones.
TemplateValues minimal_values() {
  TemplateValues v;
  for (const char* name : {"launcher", "job_name", "profile", "world", "ranks", "workdir", "mpirun", "engine_command"})
    v.set(name, full_values().scalars.at(name));
  v.set("hosts", "nodeA:2");
  v.set("parallel_environment", "mpi");
  return v;
}

std::string refusal(const std::string& text, const TemplateValues& v) {
  try {
    (void)render_template(text, "/t/job.sh.in", v);
  } catch (const LaunchError& e) {
    CHECK(e.code() == errc::bad_template);
    return e.what();
  }
  return {};
}

}  // namespace

TEST_SUITE("unit.job_template") {
  TEST_CASE("every built-in template renders with all values: no braces left, the mpirun line last") {
    for (const auto& entry : fs::directory_iterator(jobscripts_dir)) {
      INFO(entry.path());
      const std::string script = render_template_file(entry.path(), full_values());
      CHECK(script.rfind("#!/bin/bash\n", 0) == 0);
      CHECK_FALSE(contains(script, "{{"));
      CHECK_FALSE(contains(script, "}}"));
      CHECK(contains(script, "export CREW_LAUNCHER=x\n"));
      CHECK(contains(script, "module load openmpi\n"));
      CHECK(contains(script, "/opt/crew/bin/crew-engine --file /x/engine.json\n"));
      CHECK(script.find("module load") < script.find("crew-engine"));
    }
  }

  TEST_CASE("a scheduler's directives come out with the values, the optional ones only when given") {
    const std::map<std::string, std::vector<std::string>> expected{
        {"slurm.sh.in",
         {"#SBATCH --ntasks=4\n", "#SBATCH --nodes=2\n", "#SBATCH --partition=short\n", "#SBATCH --account=proj42\n",
          "#SBATCH --time=1:00:00\n", "#SBATCH --output=/home/u/.crew/profile_test/log/world-0.log\n"}},
        {"pbs.sh.in", {"#PBS -l nodes=2:ppn=2\n", "#PBS -q short\n", "#PBS -A proj42\n", "#PBS -l walltime=1:00:00\n"}},
        {"sge.sh.in", {"#$ -pe mpi 4\n", "#$ -q short\n", "#$ -l h_rt=1:00:00\n", "#$ -wd /home/u/work\n"}},
        {"lsf.sh.in", {"#BSUB -n 4\n", "#BSUB -q short\n", "#BSUB -P proj42\n", "#BSUB -W 1:00:00\n"}},
    };
    for (const auto& [file, lines] : expected) {
      INFO(file);
      const std::string full = render_template_file(jobscripts_dir / file, full_values());
      const std::string bare = render_template_file(jobscripts_dir / file, minimal_values());
      for (const auto& line : lines) CHECK(contains(full, line));
      for (const char* optional : {"short", "proj42", "1:00:00", "#X --mem"}) CHECK_FALSE(contains(bare, optional));
      CHECK(contains(full, "#X --mem=4G\n"));
    }
  }

  TEST_CASE("directives come before the first command, as schedulers require") {
    for (const char* file : {"slurm.sh.in", "pbs.sh.in", "sge.sh.in", "lsf.sh.in"}) {
      INFO(file);
      const std::string script = render_template_file(jobscripts_dir / file, full_values());
      std::size_t last_directive = 0, first_command = std::string::npos;
      std::size_t at = 0;
      while (at < script.size()) {
        const auto end = script.find('\n', at);
        const std::string line = script.substr(at, end - at);
        const bool directive = line.rfind("#SBATCH", 0) == 0 || line.rfind("#PBS", 0) == 0 ||
                               line.rfind("#$", 0) == 0 || line.rfind("#BSUB", 0) == 0 || line.rfind("#X", 0) == 0;
        if (directive) last_directive = at;
        if (!line.empty() && line[0] != '#' && first_command == std::string::npos) first_command = at;
        at = end == std::string::npos ? script.size() : end + 1;
      }
      CHECK(last_directive < first_command);
    }
  }

  TEST_CASE("an unknown variable is refused with its line and the variables there are") {
    const auto why = refusal("#!/bin/bash\n#X -q {{qeueu}}\n", full_values());
    CHECK(contains(why, "[crew.launch.bad_template] /t/job.sh.in:2: unknown variable 'qeueu'"));
    CHECK(contains(why, "queue"));
  }

  TEST_CASE("a variable used bare without a value is refused, naming the option that sets it") {
    const auto why = refusal("#!/bin/bash\n\n#X -A {{account}}\n", minimal_values());
    CHECK(contains(why, "/t/job.sh.in:3: 'account' is used but has no value; pass --account"));
    CHECK(contains(why, "{{#account}}"));
  }

  TEST_CASE("a variable inside its own section is left out with it when it has no value") {
    const std::string text = "a\n{{#account}}\n#X -A {{account}}\n{{/account}}\nb\n";
    CHECK(render_template(text, "t", minimal_values()) == "a\nb\n");
    CHECK(render_template(text, "t", full_values()) == "a\n#X -A proj42\nb\n");
  }

  TEST_CASE("list variables repeat their section, an empty list leaves it out") {
    const std::string text = "{{#job_options}}\n{{.}}\n{{/job_options}}\nend\n";
    auto v = minimal_values();
    CHECK(render_template(text, "t", v) == "end\n");
    v.lists["job_options"] = {"#X 1", "#X 2"};
    CHECK(render_template(text, "t", v) == "#X 1\n#X 2\nend\n");
  }

  TEST_CASE("values are not HTML-escaped: a script is not a web page") {
    auto v = minimal_values();
    v.set("mpirun", "mpirun --mca x '<a & b>'");
    CHECK(render_template("{{mpirun}}\n", "t", v) == "mpirun --mca x '<a & b>'\n");
  }

  TEST_CASE("sections that do not close, or close another, are refused") {
    CHECK(contains(refusal("{{#queue}}\nx\n", full_values()), ":1: {{#queue}} is never closed"));
    CHECK(contains(refusal("{{#queue}}\n{{/account}}\n", full_values()), ":2: {{/account}} closes {{#queue}}"));
    CHECK(contains(refusal("x {{queue\n", full_values()), "does not close"));
  }

  TEST_CASE("comments are skipped, partials are refused") {
    CHECK(render_template("{{! anything, even unknown names }}\nx\n", "t", minimal_values()) == "x\n");
    CHECK(contains(refusal("{{> other}}\n", minimal_values()), "not supported"));
  }

  TEST_CASE("shell_quote leaves plain words alone and quotes the rest safely") {
    CHECK(shell_quote("/opt/crew/bin/crew-engine") == "/opt/crew/bin/crew-engine");
    CHECK(shell_quote("a b") == "'a b'");
    CHECK(shell_quote("it's") == "'it'\\''s'");
    CHECK(shell_quote("") == "''");
    CHECK(shell_quote("$HOME") == "'$HOME'");
  }
}
