// Live output (iopub) with a real controller and real mpirun worlds: what tasks write reaches the
// clients that follow it while the tasks run, tagged with engine, rank and task; followers get
// only what they follow; status changes reach them; a reader that falls behind loses output and
// is told exactly how much, while the engines never wait for it; and the CLI's `tail` and
// `call --follow-output`.
#include <doctest/doctest.h>

#include <signal.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/process.hpp"
#include "common/profile.hpp"
#include "crew/crew.hpp"
#include "errors_of.hpp"
#include "test_support.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

const std::string plugin = (test_bin_dir() / "system" / "libcrew_test_plugin.so").string();

/// Two worlds of two: engines 0-1 (world 0, ranks 0-1), 2-3 (world 1).
Cluster& cluster() {
  static Cluster c(4, "output", {"--worlds", "2", "--plugin", plugin});
  return c;
}

Client& client() {
  static Client rc = cluster().client(30s);
  return rc;
}

/// The next event that is not a status change (the feeds here follow output only, but say so).
std::optional<OutputEvent> next_output(OutputFeed& feed, std::chrono::milliseconds timeout = 60s) {
  auto e = feed.next(timeout);
  while (e && e->kind == OutputEvent::Kind::status) e = feed.next(timeout);
  return e;
}

OutputFilter of_engines(std::vector<int> ids) {
  OutputFilter f;
  f.targets = std::move(ids);
  return f;
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_SUITE("system.output") {

  TEST_CASE("a task's output reaches its follower while it runs, tagged with engine, rank and task") {
    // Engines 0 and 2 are rank 0 of worlds 0 and 1 (the bridge's own process); engines 1 and 3
    // are their ranks 1, whose output reaches the bridge over MPI from the rank's output thread.
    for (const auto& [engine, world, rank] :
         {std::tuple{0, 0, 0}, std::tuple{1, 0, 1}, std::tuple{2, 1, 0}, std::tuple{3, 1, 1}}) {
      CAPTURE(engine);
      OutputFeed feed = client().subscribe_output(of_engines({engine}));
      Gate gate;
      const AsyncResult ar = client()[engine].apply("talk", gate.path());
      const std::string id = ar.msg_ids().front();

      std::string out, err;
      // Both lines written before the gate arrive while the task holds there.
      while (out.empty() || err.empty()) {
        const auto e = next_output(feed);
        REQUIRE(e.has_value());
        CHECK(e->engine_id == engine);
        CHECK(e->world == world);
        CHECK(e->rank == rank);
        CHECK(e->msg_id == id);
        CHECK(e->dropped_bytes == 0);
        (e->kind == OutputEvent::Kind::err ? err : out) += e->text;
      }
      CHECK(out == "engine " + std::to_string(engine) + " before the gate\n");
      CHECK(err == "engine " + std::to_string(engine) + " to stderr\n");
      CHECK_FALSE(ar.ready());  // live: the task is still running
      gate.open();

      const auto last = next_output(feed);
      REQUIRE(last.has_value());
      CHECK(last->text == "engine " + std::to_string(engine) + " after the gate\n");
      CHECK(ar.get(60s).as_string() == "talked");
      // The whole text still comes with the result.
      CHECK(ar.metadata().stdout_text == out + last->text);
      CHECK(ar.metadata().stderr_text == err);
    }
  }

  TEST_CASE("what a task writes past std::cout is its output too: printf, write(2), a child process") {
    // crew-engine's ranks read their descriptors 1 and 2 (engine/fd_capture.hpp). Engine 0 is a
    // rank 0, engine 1 rank 1 of the same world: both stream.
    OutputFeed feed = client().subscribe_output(of_engines({0, 1}));
    Gate gate;
    const AsyncResult ar = client()[std::vector<int>{0, 1}].apply("by_descriptor", gate.path());
    // Live, while the task holds at the gate: every line written so far, each way's in its order.
    std::string out[2], err[2];
    auto heard_all = [&](int engine) {
      const std::string e = std::to_string(engine);
      return out[engine].size() ==
                 ("cout from engine " + e + "\nprintf from engine " + e + "\nchild of engine " + e + "\n").size() &&
             !err[engine].empty();
    };
    while (!heard_all(0) || !heard_all(1)) {
      const auto e = next_output(feed);
      REQUIRE(e.has_value());
      REQUIRE((e->engine_id == 0 || e->engine_id == 1));
      CHECK(e->msg_id == ar.msg_ids().at(static_cast<std::size_t>(e->engine_id)));
      (e->kind == OutputEvent::Kind::err ? err : out)[e->engine_id] += e->text;
    }
    for (int engine : {0, 1}) {
      CAPTURE(engine);
      const std::string e = std::to_string(engine);
      CHECK(out[engine].find("cout from engine " + e + "\n") != std::string::npos);
      // The descriptor's lines in their order (printf's, then the child's: line buffered). Live,
      // std::cout's line may come between them: the descriptor is read by a thread of its own.
      const auto printf_at = out[engine].find("printf from engine " + e + "\n");
      const auto child_at = out[engine].find("child of engine " + e + "\n");
      CHECK(printf_at != std::string::npos);
      CHECK(child_at != std::string::npos);
      CHECK(printf_at < child_at);
      CHECK(err[engine] == "write(2) from engine " + e + "\n");
    }
    CHECK_FALSE(ar.ready());
    gate.open();
    REQUIRE(ar.wait(60s));
    for (int engine : {0, 1}) {
      CAPTURE(engine);
      const auto meta = ar.metadata(static_cast<std::size_t>(engine));
      CHECK(ar.value(static_cast<std::size_t>(engine)).as_string() == "written");
      const std::string e = std::to_string(engine);
      // In the reply, std::cout's text, then the descriptor's, each in the order written.
      CHECK(meta.stdout_text == "cout from engine " + e + "\nprintf from engine " + e + "\nchild of engine " + e +
                                    "\nprintf after the gate\n");
      CHECK(meta.stderr_text == "write(2) from engine " + e + "\n");
    }
    // A second task gets only its own: nothing of the first is left over.
    const AsyncResult again = client()[std::vector<int>{0, 1}].apply("shout", "again");
    REQUIRE(again.wait(60s));
    for (std::size_t i = 0; i < 2; ++i) CHECK(again.metadata(i).stdout_text.find("printf") == std::string::npos);
    // Between tasks the descriptors go where they went before: the world's log has none of it.
    const std::string log = file_text(profile_dir(cluster().profile()) / "log" / "world-0.log");
    CHECK(log.find("printf from engine") == std::string::npos);
  }

  TEST_CASE("exec's command output streams as it comes, and stays in its result only") {
    OutputFeed feed = client().subscribe_output(of_engines({0}));
    Gate gate;
    // The command itself waits for the gate (its own loop): its first line must arrive meanwhile.
    const std::string command =
        "echo started; echo to-stderr >&2; while [ ! -e '" + gate.path() + "' ]; do sleep 0.01; done; echo finished";
    const AsyncResult ar = client()[0].apply("exec", command);
    std::string out, err;
    while (out.empty() || err.empty()) {
      const auto e = next_output(feed);
      REQUIRE(e.has_value());
      CHECK(e->msg_id == ar.msg_ids().front());
      (e->kind == OutputEvent::Kind::err ? err : out) += e->text;
    }
    CHECK(out == "started\n");
    CHECK(err == "to-stderr\n");
    CHECK_FALSE(ar.ready());
    gate.open();
    const auto last = next_output(feed);
    REQUIRE(last.has_value());
    CHECK(last->text == "finished\n");
    const Value r = ar.get(60s);
    CHECK(r["stdout"].as_string() == "started\nfinished\n");
    CHECK(r["stderr"].as_string() == "to-stderr\n");
    CHECK(ar.metadata().stdout_text.empty());  // not twice: the result has it
    CHECK(ar.metadata().stderr_text.empty());
  }

  TEST_CASE("a feed gets only what it follows; on_output gets its own task's output") {
    OutputFeed engine0 = client().subscribe_output(of_engines({0}));
    const AsyncResult on0 = client()[0].apply("shout", "zero");
    const AsyncResult on3 = client()[3].apply("shout", "three");
    CHECK(on0.get(60s).as_string() == "zero");
    CHECK(on3.get(60s).as_string() == "three");
    // Engine 3's output came (its result is in, behind it) and went elsewhere: all the feed
    // holds is engine 0's.
    std::string seen;
    while (auto e = engine0.next(0ms)) {
      CHECK(e->engine_id == 0);
      seen += e->text;
    }
    CHECK(seen == "engine 0 says zero\nto stderr\n");

    // A callback on one task of a load-balanced view: its lines and nobody else's.
    std::mutex m;
    std::string heard;
    std::vector<std::string> ids;
    Gate gate;
    auto lb = client().load_balanced_view({0, 2});
    const AsyncResult held = lb.apply("talk", gate.path());
    held.on_output([&](const OutputEvent& e) {
      std::lock_guard lock(m);
      heard += e.text;
      ids.push_back(e.msg_id);
    });
    REQUIRE(gate.wait_held(60s));
    const AsyncResult other = client()[3].apply("shout", "meanwhile");
    CHECK(other.get(60s).as_string() == "meanwhile");
    gate.open();
    REQUIRE(held.get(60s).as_string() == "talked");
    std::lock_guard lock(m);
    const int engine = held.metadata().engine_id;
    // Whatever it wrote after on_output was called: at least the line after the gate.
    CHECK(heard.find("engine " + std::to_string(engine) + " after the gate\n") != std::string::npos);
    CHECK(heard.find("meanwhile") == std::string::npos);
    for (const auto& id : ids) CHECK(id == held.msg_ids().front());
  }

  TEST_CASE("a reader that falls behind loses output and is told exactly how much; the engine does not wait") {
    // (A rank other than 0 with that much output: its reply's header is above MPI's inline limit.)
    const AsyncResult on_rank1 = client()[1].apply("chatter", 1'000'000L);
    CHECK(on_rank1.get(120s).as_int() == 1'000'000);
    CHECK(on_rank1.metadata().stdout_text.size() == 1'000'000);
    OutputFeed feed = client().subscribe_output(of_engines({2}));
    // 24 MB, unread: more than a feed keeps (16 MiB) and than the controller sends ahead (8 MiB).
    constexpr long total = 24'000'000;
    const AsyncResult chatty = client()[2].apply("chatter", total);
    CHECK(chatty.get(120s).as_int() == total);  // done while nobody read its output
    // Its output came before its result: what the feed kept is there, and, once read, how much
    // the feed dropped.
    std::uint64_t text = 0, dropped = 0;
    while (const auto e = feed.next(0ms)) {
      CHECK((e->msg_id == chatty.msg_ids().front() || (e->msg_id.empty() && e->text.empty())));
      text += e->text.size();
      dropped += e->dropped_bytes;
    }
    // What was dropped on the way (the controller's window) is said with the next event.
    const AsyncResult last = client()[2].apply("shout", "done");
    CHECK(last.get(60s).as_string() == "done");
    for (bool saw_last = false; !saw_last;) {
      const auto e = next_output(feed, 60s);
      REQUIRE(e.has_value());
      dropped += e->dropped_bytes;
      saw_last = e->text.find("engine 2 says done") != std::string::npos;
    }
    MESSAGE("of " << total << " bytes written: " << text << " read, " << dropped << " dropped");
    CHECK(dropped > 0);
    CHECK(text + dropped == static_cast<std::uint64_t>(total));
    CHECK(client().controller_stats()["output_bytes_out"].as_int() > 0);
  }

  TEST_CASE("crew call --follow-output prints the task's lines as they come, tagged, then its result") {
    const auto r = crew_cli(
        {"call", "shout", "\"hey\"", "--lb", "--targets", "2", "--follow-output", "--profile", cluster().profile()});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "[engine 2, rank 0] engine 2 says hey\n[2] \"hey\"\n");
    CHECK(r.err.find("[engine 2, rank 0, stderr] to stderr\n") != std::string::npos);

    const auto bad =
        crew_cli({"call", "shout", "\"x\"", "--lb", "--follow-output", "--no-wait", "--profile", cluster().profile()});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("--follow-output") != std::string::npos);
  }

  TEST_CASE("crew tail follows the engines it is given until its --timeout") {
    const TempDir dir("crew-tail");
    const fs::path log = dir.path() / "tail.log";
    proc::SpawnOptions run_tail;
    run_tail.argv = {(bin_dir() / "crew").string(),
                     "tail",
                     "--targets",
                     "0",
                     "--json",
                     "--timeout",
                     "20",
                     "--profile",
                     cluster().profile()};
    run_tail.log = log;
    const pid_t tail = proc::spawn(run_tail);
    struct Reap {
      pid_t pid;
      ~Reap() {
        if (proc::alive(pid)) ::kill(pid, SIGKILL);
        proc::wait_gone(pid, deadline_after(10s));
      }
    } reap{tail};
    // It says so once the controller sends it what it follows.
    REQUIRE(poll_for([&] { return file_text(log).find("following") != std::string::npos; }, 60s));
    CHECK(client()[0].apply("shout", "to the tail").get(60s).as_string() == "to the tail");
    CHECK(client()[1].apply("shout", "not to the tail").get(60s).as_string() == "not to the tail");
    REQUIRE(poll_for([&] { return file_text(log).find("to the tail") != std::string::npos; }, 60s));
    ::kill(tail, SIGTERM);  // it stops at once, exit 0
    REQUIRE(proc::wait_gone(tail, deadline_after(30s)));
    std::istringstream lines(file_text(log));
    std::string line, shown;
    while (std::getline(lines, line)) {
      if (line.empty() || line.front() != '{') continue;  // its note on stderr
      const auto j = nlohmann::json::parse(line);
      CHECK(j["engine"] == 0);
      CHECK(j["rank"] == 0);
      shown += j["text"].get<std::string>();
    }
    CHECK(shown == "engine 0 says to the tail\nto stderr\n");
  }

  TEST_CASE("followers of activity hear when an engine becomes busy and when idle; once per change") {
    OutputFilter activity;
    activity.targets = {1};  // rank 1 of world 0: activity is the controller's view, any rank has it
    activity.activity = true;
    OutputFeed changes = client().subscribe_output(activity);
    OutputFilter status_only;
    status_only.targets = {1};
    status_only.status = true;
    OutputFeed statuses = client().subscribe_output(status_only);

    // Three tasks at once, the first holding at a gate: busy once, then idle once all three are done.
    Gate gate;
    const AsyncResult first = client()[1].apply("hold", gate.path());
    const AsyncResult second = client()[1].apply("square", 3);
    const AsyncResult third = client()[1].apply("square", 4);
    auto e = changes.next(60s);
    REQUIRE(e.has_value());
    CHECK(e->kind == OutputEvent::Kind::status);
    CHECK(e->text == "busy");
    CHECK(e->engines == std::vector<int>{1});
    CHECK(e->engine_id == 1);
    CHECK_FALSE(first.ready());
    CHECK_FALSE(changes.next(0ms).has_value());  // still busy: nothing more to say
    gate.open();
    REQUIRE(third.wait(60s));
    CHECK(second.get(0ms) == Value(9));
    e = changes.next(60s);
    REQUIRE(e.has_value());
    CHECK(e->text == "idle");
    CHECK(e->engines == std::vector<int>{1});
    CHECK_FALSE(changes.next(0ms).has_value());
    CHECK_FALSE(statuses.next(0ms).has_value());  // activity goes only to those who follow it
  }

  TEST_CASE("followers of status hear of a world that registers and of one that dies") {
    Cluster small(1, "output-status", {"--plugin", plugin});
    Client rc = small.client(30s);
    OutputFilter status;
    status.status = true;
    OutputFeed feed = rc.subscribe_output(status);
    const auto added = crew_cli({"cluster", "add", "-n", "1", "--profile", small.profile()});
    REQUIRE_MESSAGE(added.status == 0, added.err);
    auto e = feed.next(60s);
    REQUIRE(e.has_value());
    CHECK(e->kind == OutputEvent::Kind::status);
    CHECK(e->text == "registered");
    CHECK(e->engines == std::vector<int>{1});
    // The new world's engine is killed: the controller declares its world dead.
    pid_t engine_pid = 0;
    for (const auto& info : rc.engines())
      if (info.id == 1) engine_pid = static_cast<pid_t>(info.pid);
    REQUIRE(engine_pid > 0);
    ::kill(engine_pid, SIGKILL);
    e = feed.next(60s);
    REQUIRE(e.has_value());
    CHECK(e->text == "dead");
    CHECK(e->engines == std::vector<int>{1});
    CHECK_FALSE(e->detail.empty());
  }
}
