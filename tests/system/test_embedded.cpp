// crew::Engine embedded in an MPI application that keeps its own loop and polls between its steps
// (tests/system/embedded_sim.cpp, under a real mpirun beside a real cluster): a client steers it
// while it runs (functions it defined, a collective across its ranks, which all serve in the same
// step), the world ends when the cluster stops, and it leaves cleanly when the application ends
// first. Waits are on conditions with deadlines; the simulation's process group is killed if a
// test ends early.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "test_support.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

const std::string sim = (test_bin_dir() / "system" / "crew-test-embedded-sim").string();

std::string file_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// `mpirun -n <ranks>` of a simulation (`program`) in the background, its output in `log`.
class Simulation {
public:
  Simulation(const std::string& profile, const std::vector<std::string>& options, fs::path log,
             const std::string& program = sim, int ranks = 3)
      : log_(std::move(log)) {
    proc::SpawnOptions o;
    o.argv = {"mpirun", "--oversubscribe", "-n", std::to_string(ranks), program, "--profile", profile};
    o.argv.insert(o.argv.end(), options.begin(), options.end());
    o.log = log_;
    o.env = {{"OMPI_ALLOW_RUN_AS_ROOT", "1"}, {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"}};
    pid_ = proc::spawn(o);
  }
  ~Simulation() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);  // its own session: mpirun and the ranks
    (void)proc::wait_gone(pid_, deadline_after(10s));
  }
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  /// Its exit status once it ends within `timeout`.
  std::optional<int> exit_status(std::chrono::milliseconds timeout) {
    int status = 0;
    if (!poll_for([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout)) return std::nullopt;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string output() const { return file_text(log_); }

private:
  fs::path log_;
  pid_t pid_ = -1;
};

Value state_of(const Client& rc, int engine) { return rc[engine].apply("state").get(30s); }

}  // namespace

TEST_CASE("a running simulation is steered between its steps, and stops with its cluster") {
  TempDir dir;
  Cluster cluster(1, "emb");
  Simulation simulation("emb", {"--step-us", "2000"}, dir.path() / "sim.log");
  const Client rc = cluster.client();
  REQUIRE_MESSAGE(poll_for([&] { return rc.ids().size() == 4; }, 60s), simulation.output());  // engines 1-3

  // It runs: x grows by dt a step on every rank.
  const double x0 = state_of(rc, 2)["x"].as_double();
  CHECK(poll_for([&] { return state_of(rc, 2)["x"].as_double() > x0 + 5; }, 30s));

  // Its own function, on every rank: dt 0 stops x while the steps go on.
  REQUIRE(rc[std::vector<int>{1, 2, 3}].apply("set_dt", 0.0).get(30s).size() == 3);
  const Value frozen = state_of(rc, 3);
  CHECK(poll_for([&] { return state_of(rc, 3)["step"].as_int() > frozen["step"].as_int() + 5; }, 30s));
  CHECK(state_of(rc, 3)["x"].as_double() == frozen["x"].as_double());
  // The world sum its ranks compute together each step agrees with their x.
  double xs = 0;
  for (int e : {1, 2, 3}) xs += state_of(rc, e)["x"].as_double();
  CHECK(state_of(rc, 1)["sum"].as_double() == doctest::Approx(xs));

  // A collective over its ranks (each serves it in the same poll, or the simulation would hang).
  const DirectView sim_engines = rc[std::vector<int>{1, 2, 3}];
  (void)sim_engines.scatter_value("v", Value::list({1, 2, 3, 4, 5, 6})).get(30s);
  CHECK(sim_engines.gather("v").get(30s) == Value::list({1, 2, 3, 4, 5, 6}));
  CHECK(state_of(rc, 1)["step"].as_int() > frozen["step"].as_int());  // and it went on stepping

  // Its exposed array: gathered where it lies (every rank's 4 doubles), scattered into its
  // memory, where the simulation sees it (dt is 0: nothing moves it since).
  const Value field = sim_engines.gather("field").get(30s);
  REQUIRE(to_array(field));
  CHECK(to_array(field)->size() == 12);
  CHECK(to_array(field)->at_double(0) == doctest::Approx(frozen["x"].as_double()));
  (void)sim_engines.scatter_value("field", Value::list({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})).get(30s);
  CHECK(state_of(rc, 1)["field_sum"].as_double() == 1 + 2 + 3 + 4);
  CHECK(state_of(rc, 3)["field_sum"].as_double() == 9 + 10 + 11 + 12);
  CHECK(to_array(sim_engines.gather("field").get(30s))->at_double(11) == 12);
  // What does not fit is refused, and its memory stays as it was.
  errc code = errc::none;
  try {
    (void)rc[2].push(Value::Dict{{"field", Value::list({1, 2})}}).get(30s);
  } catch (const Error& e) {
    code = e.code();
  }
  CHECK(code == errc::mismatch);
  CHECK(state_of(rc, 2)["field_sum"].as_double() == 5 + 6 + 7 + 8);
  code = errc::none;
  try {
    (void)rc[2].apply("del", "field").get(30s);  // it is the application's: it stays
  } catch (const Error& e) {
    code = e.code();
  }
  CHECK(code == errc::bad_arguments);
  CHECK(to_array(rc[2].pull("field").get(30s))->size() == 4);

  // The cluster stops: poll() says so, the application ends as it wants (exit 0).
  cluster.stop();
  const auto status = simulation.exit_status(60s);
  REQUIRE_MESSAGE(status, simulation.output());
  CHECK_MESSAGE(*status == 0, simulation.output());
  CHECK(simulation.output().find("empty poll mean") != std::string::npos);
}

TEST_CASE("a simulation that ends first leaves its world cleanly; the cluster goes on") {
  TempDir dir;
  Cluster cluster(1, "emb-leave");
  Simulation simulation("emb-leave", {"--steps", "400", "--step-us", "1000"}, dir.path() / "sim.log");
  const Client rc = cluster.client();
  const auto status = simulation.exit_status(120s);
  REQUIRE_MESSAGE(status, simulation.output());
  CHECK_MESSAGE(*status == 0, simulation.output());
  // Its engines were there, and left with it: the controller heard its goodbye.
  CHECK(poll_for([&] { return rc.ids() == std::vector<int>{0}; }, 30s));
  const auto engines = rc.engines();
  CHECK(engines.size() == 4);
  CHECK(rc[0].apply("echo", 5).get(30s) == Value(5));
}

TEST_CASE("examples/steered_heat: a hot spot spreads, alpha 0 and pause hold the field, a snapshot is taken") {
  const char* program = std::getenv("CREW_TEST_STEERED_HEAT");
  if (program == nullptr) {
    MESSAGE("the examples are not built: skipped");
    return;
  }
  TempDir dir;
  Cluster cluster(1, "heat");
  Simulation simulation("heat", {}, dir.path() / "sim.log", program, 4);
  const Client rc = cluster.client();
  REQUIRE_MESSAGE(poll_for([&] { return rc.ids().size() == 5; }, 60s), simulation.output());
  const DirectView heat = rc[std::vector<int>{1, 2, 3, 4}];
  const auto field = [&] { return *to_array(heat.gather("T").get(30s)); };
  const auto at = [](const Array& t, int y, int x) { return t.at_double(static_cast<std::size_t>(y * 64 + x)); };

  // A hot spot on row 32 (rank 2's): it spreads to its neighbours, across the ranks' border too.
  (void)heat.apply("heat", 32, 32, 100.0).get(30s);
  CHECK(poll_for([&] { return at(field(), 31, 32) > 0.1 && at(field(), 30, 32) > 0.01; }, 30s));
  // Paused, the field holds still while the simulation goes on polling.
  (void)heat.apply("pause").get(30s);
  const Array held = field();
  const auto step = [&] { return rc[1].apply("stats").get(30s)["step"].as_int(); };
  const auto step0 = step();
  CHECK(poll_for([&] { return step() > step0 + 5; }, 30s));
  CHECK(field() == held);
  // A field scattered in (zeros, one hot row) is what it steps from once resumed.
  std::vector<double> cold(64 * 64, 0.0);
  for (int x = 0; x < 64; ++x) cold[static_cast<std::size_t>(10 * 64 + x)] = 50.0;
  (void)heat.scatter_value("T", Value(Array::from(cold, {64, 64}))).get(30s);
  CHECK(at(field(), 10, 5) == 50.0);
  CHECK(at(field(), 32, 32) == 0.0);
  (void)heat.apply("resume").get(30s);
  CHECK(poll_for([&] { return at(field(), 11, 5) > 0.0 && at(field(), 10, 5) < 50.0; }, 30s));
  // A bad alpha is refused by the simulation's own check; a snapshot goes to one HDF5 file.
  errc code = errc::none;
  try {
    (void)heat.apply("set_alpha", 0.5).get(30s);
  } catch (const Error& e) {
    code = e.code();
  }
  CHECK(code == errc::bad_arguments);
  const fs::path snap = dir.path() / "snap.h5";
  const RunResult saved = crew_cli({"save-h5", snap.string(), "T", "--targets", "1-4", "--profile", "heat"});
  CHECK_MESSAGE(saved.status == 0, saved.err);
  CHECK(fs::exists(snap));

  cluster.stop();
  const auto status = simulation.exit_status(60s);
  REQUIRE_MESSAGE(status, simulation.output());
  CHECK_MESSAGE(*status == 0, simulation.output());
}
