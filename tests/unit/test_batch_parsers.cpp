// The launchers' parsers on what real schedulers printed (tests/schedulers/recorded/, recorded
// from Slurm 22.05, its Torque wrappers and Grid Engine 8.1.9 on this project's testbed, plus
// real LSF samples from public transcripts): job ids, states, reasons, exit codes, time left.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cluster/batch_jobs.hpp"
#include "cluster/launcher_definition.hpp"
#include "crew/error.hpp"

using namespace crew;
using namespace crew::cluster;
namespace fs = std::filesystem;

namespace {

const fs::path source = CREW_SOURCE_DIR;

LauncherDefinition launcher(const std::string& name) {
  return read_launcher_file(source / "launchers" / (name + ".toml"), "built in");
}

std::string recorded(const std::string& name) {
  std::ifstream in(source / "tests" / "schedulers" / "recorded" / name);
  REQUIRE_MESSAGE(in.good(), "no recording " << name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The jobs that status command `index` of `d` finds in a recording, by id.
std::map<std::string, JobStatus> statuses(const LauncherDefinition& d, std::size_t index, const std::string& file) {
  std::map<std::string, JobStatus> out;
  for (auto& s : parse_status(d, d.status.at(index), recorded(file))) out.emplace(s.id, s);
  return out;
}

}  // namespace

TEST_SUITE("unit.batch_parsers") {
  TEST_CASE("slurm: sbatch --parsable's id; a rejection has none") {
    const auto d = launcher("slurm");
    CHECK(parse_job_id(d, recorded("slurm/sbatch.parsable.stdout")) == "3");
    CHECK(parse_job_id(d, "42;cluster\n") == "42");
    CHECK(parse_job_id(d, "42_7\n") == "42");  // an array task's id names its job
    CHECK_FALSE(parse_job_id(d, recorded("slurm/sbatch.bad-partition.stdout")));
  }

  TEST_CASE("slurm: squeue's states, reasons and time left for pending, running and finished jobs") {
    const auto d = launcher("slurm");
    auto s = statuses(d, 0, "slurm/squeue.list.stdout");
    REQUIRE(s.size() == 4);
    CHECK(s["5"].state == JobState::pending);
    CHECK(s["5"].reason == "Resources");
    CHECK(describe(s["5"]) == "PENDING (Resources)");
    CHECK(s["6"].reason == "Priority");
    CHECK(s["1"].state == JobState::running);
    CHECK(s["1"].seconds_left == 57);
    CHECK_FALSE(s["4"].seconds_left);      // UNLIMITED
    CHECK(describe(s["4"]) == "RUNNING");  // the reason None is not shown

    CHECK(statuses(d, 0, "slurm/squeue.completed.stdout").begin()->second.state == JobState::done);
    CHECK(statuses(d, 0, "slurm/squeue.failed.stdout").begin()->second.state == JobState::failed);
    CHECK(statuses(d, 0, "slurm/squeue.timeout.stdout").begin()->second.state == JobState::timeout);
    CHECK(statuses(d, 0, "slurm/squeue.cancelled-running.stdout").begin()->second.state == JobState::cancelled);
    CHECK(statuses(d, 0, "slurm/squeue.cancelled-pending.stdout").begin()->second.state == JobState::cancelled);
  }

  TEST_CASE("slurm: an unknown id in a list is simply not listed; alone, squeue lists nothing") {
    const auto d = launcher("slurm");
    const auto s = statuses(d, 0, "slurm/squeue.list-one-unknown.stdout");
    CHECK(s.size() == 2);
    CHECK_FALSE(s.count("999999"));
    CHECK(statuses(d, 0, "slurm/squeue.unknown-id.stdout").empty());
    CHECK(statuses(d, 0, "slurm/squeue.list-all-unknown.stdout").empty());
  }

  TEST_CASE("slurm: sacct with accounting disabled lists nothing, so squeue's answer stands") {
    const auto d = launcher("slurm");
    CHECK(statuses(d, 1, "slurm/sacct.no-accounting-parsable.stdout").empty());
    CHECK(d.missing == JobState::done);
    // sacct's own format, where accounting is on: the exit code makes a completed job failed.
    auto s = parse_status(d, d.status.at(1), "41|COMPLETED|0:0\n42|CANCELLED by 0|0:15\n43|FAILED|3:0\n");
    REQUIRE(s.size() == 3);
    CHECK(s[0].state == JobState::done);
    CHECK(s[0].exit_code == 0);
    CHECK(s[1].state == JobState::cancelled);
    CHECK(s[2].state == JobState::failed);
    CHECK(s[2].exit_code == 3);
  }

  TEST_CASE("slurm: only the jobs asked about are taken from a listing") {
    const auto d = launcher("slurm");
    const auto s = parse_status(d, d.status.at(0), recorded("slurm/squeue.list.stdout"), {"5", "1"});
    CHECK(s.size() == 2);
  }

  TEST_CASE("pbs: qsub's id (Slurm's wrappers print the number, Torque adds the server)") {
    const auto d = launcher("pbs");
    CHECK(parse_job_id(d, recorded("pbs/qsub.normal.stdout")) == "9");
    CHECK(parse_job_id(d, "29.pbsserver.example.org\n") == "29");
    CHECK_FALSE(parse_job_id(d, recorded("pbs/qsub.bad-queue.stdout")));
  }

  TEST_CASE("pbs: qstat's states; the table's header is not a job") {
    const auto d = launcher("pbs");
    auto s = statuses(d, 0, "pbs/qstat.ids.stdout");
    REQUIRE(s.size() == 2);
    CHECK(s["9"].state == JobState::running);
    CHECK(s["10"].state == JobState::pending);
    s = statuses(d, 0, "pbs/qstat.finished.stdout");
    CHECK(s.size() == 3);
    for (const auto& [id, st] : s) CHECK(st.state == JobState::done);
    CHECK(statuses(d, 0, "pbs/qstat.unknown-id.stdout").empty());
    // Torque's own layout, with the server in the id
    const auto torque = parse_status(d, d.status.at(0),
                                     "Job ID                    Name             User            Time Use S Queue\n"
                                     "------------------------- ---------------- --------------- -------- - -----\n"
                                     "29.server                 crew-a-0         alice           00:00:01 R batch\n"
                                     "30.server                 crew-a-1         alice                  0 H batch\n");
    REQUIRE(torque.size() == 2);
    CHECK(torque[0].id == "29");
    CHECK(torque[1].state == JobState::held);
  }

  TEST_CASE("sge: qsub -terse's id; qstat's running, pending, held, deleting and error states") {
    const auto d = launcher("sge");
    CHECK(parse_job_id(d, recorded("sge/qsub.terse.stdout")) == "2");
    auto s = statuses(d, 0, "sge/qstat.running-pending-held.stdout");
    REQUIRE(s.size() == 5);
    CHECK(s["1"].state == JobState::running);
    CHECK(s["7"].state == JobState::pending);
    CHECK(s["3"].state == JobState::held);
    CHECK(statuses(d, 0, "sge/qstat.deleting.stdout")["1"].state == JobState::cancelled);
    CHECK(statuses(d, 0, "sge/qstat.error.stdout")["4"].state == JobState::failed);
    CHECK(statuses(d, 0, "sge/qstat.empty.stdout").empty());
  }

  TEST_CASE("sge: qacct tells how a finished job ended, and its exit code") {
    const auto d = launcher("sge");
    auto done = statuses(d, 1, "sge/qacct-j.completed.stdout");
    REQUIRE(done.size() == 1);
    CHECK(done["2"].state == JobState::done);
    CHECK(done["2"].exit_code == 0);
    auto failed = statuses(d, 1, "sge/qacct-j.failed.stdout");
    CHECK(failed["9"].state == JobState::failed);  // it ran, and exited 3
    CHECK(failed["9"].exit_code == 3);
    auto deleted = statuses(d, 1, "sge/qacct-j.deleted.stdout");
    CHECK(deleted["1"].state == JobState::cancelled);  // failed 100: killed
    CHECK(statuses(d, 1, "sge/qacct-j.unknown-id.stdout").empty());
  }

  TEST_CASE("lsf: bsub's id, on a real LSF and on the shim") {
    const auto d = launcher("lsf");
    CHECK(parse_job_id(d, recorded("lsf-real/gc3pie.bsub.queue.stdout")) == "473713");
    CHECK(parse_job_id(d, recorded("lsf-real/ert7465.bsub.queue.stdout")) == "984097");
    CHECK(parse_job_id(d, recorded("lsf-shim/bsub.stdin-default-queue.stdout")) == "12");
  }

  TEST_CASE("lsf: bjobs' states on a real LSF, one EXEC_HOST line per slot included") {
    const auto d = launcher("lsf");
    CHECK(statuses(d, 0, "lsf-real/gc3pie.bjobs.pend.stdout")["473713"].state == JobState::pending);
    CHECK(statuses(d, 0, "lsf-real/gc3pie.bjobs.run.stdout")["473713"].state == JobState::running);
    CHECK(statuses(d, 0, "lsf-real/gc3pie.bjobs.exit.stdout")["473713"].state == JobState::failed);
    auto many = statuses(d, 0, "lsf-real/nextflow927.bjobs-a.run-10-slots.stdout");
    REQUIRE(many.size() == 1);
    CHECK(many["5182892"].state == JobState::running);
    CHECK(statuses(d, 0, "lsf-real/nextflow927.bjobs-a.done-2-slots.stdout")["5182966"].state == JobState::done);
  }

  TEST_CASE("lsf: the shim prints what LSF prints") {
    const auto d = launcher("lsf");
    auto s = statuses(d, 0, "lsf-shim/bjobs.finished.stdout");
    REQUIRE(s.size() == 3);
    CHECK(s["12"].state == JobState::failed);
    CHECK(s["13"].state == JobState::done);
    CHECK(statuses(d, 0, "lsf-shim/bjobs.unknown-id.stdout").empty());
  }

  TEST_CASE("every state word of every built-in launcher maps to a crew state, and the default is explicit") {
    for (const char* name : {"slurm", "pbs", "sge", "lsf"}) {
      const auto d = launcher(name);
      INFO(name);
      CHECK(d.state_of("NO-SUCH-STATE") == d.default_state);
      bool has_pending = false, has_running = false, has_ended = false;
      for (const auto& [word, state] : d.states) {
        has_pending |= state == JobState::pending;
        has_running |= state == JobState::running;
        has_ended |= job_ended(state);
      }
      CHECK(has_pending);
      CHECK(has_running);
      CHECK(has_ended);
    }
  }

  TEST_CASE("{job_ids} alone is one argument per job; inside a word, the ids are joined") {
    const auto d = launcher("slurm");
    CHECK(expand({"scancel", "{job_ids}"}, d, {}, {"1", "2"}) == std::vector<std::string>{"scancel", "1", "2"});
    CHECK(expand({"squeue", "--jobs={job_ids}"}, d, {}, {"1", "2"}) ==
          std::vector<std::string>{"squeue", "--jobs=1,2"});
    CHECK(expand({"qsub", "-o", "{output}", "{script}"}, d, "/p/job.sh", {}, "/p/out.log") ==
          std::vector<std::string>{"qsub", "-o", "/p/out.log", "/p/job.sh"});
  }

  TEST_CASE("time left as schedulers print it") {
    CHECK(parse_clock_duration("0:57") == 57);
    CHECK(parse_clock_duration("1:00:00") == 3600);
    CHECK(parse_clock_duration("2-01:00:05") == 2 * 86400 + 3605);
    CHECK(parse_clock_duration("45") == 45);
    CHECK_FALSE(parse_clock_duration("UNLIMITED"));
    CHECK_FALSE(parse_clock_duration("INVALID"));
    CHECK_FALSE(parse_clock_duration(""));
  }

  TEST_CASE("--walltime: H:MM:SS, D-H:MM:SS or minutes; the ambiguous H:MM is refused") {
    CHECK(parse_walltime("1:00:00") == 3600);
    CHECK(parse_walltime("0:30:00") == 1800);
    CHECK(parse_walltime("2-00:00:00") == 2 * 86400);
    CHECK(parse_walltime("90") == 5400);
    CHECK_THROWS_WITH_AS(parse_walltime("1:30"), doctest::Contains("H:MM and MM:SS read differently"), InputError);
    CHECK_THROWS_AS(parse_walltime("soon"), InputError);
    CHECK_THROWS_AS(parse_walltime("0"), InputError);
    CHECK(format_walltime(5400, WalltimeFormat::hh_mm_ss) == "1:30:00");
    CHECK(format_walltime(90000, WalltimeFormat::hh_mm_ss) == "25:00:00");
    CHECK(format_walltime(61, WalltimeFormat::minutes) == "2");  // never less than asked
    CHECK(format_walltime(61, WalltimeFormat::seconds) == "61");
  }
}
