// `crew shell` against a real cluster: fed a script on its standard input, and typed at in a real
// terminal (tmux: send-keys, capture-pane) for what only a terminal has: Tab completion, history
// across sessions, Ctrl-C at the prompt and during a wait. Every wait is on what the screen
// shows, with a deadline; the tmux server (and the shell in it) ends with the test.
#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/profile.hpp"
#include "test_support.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

const std::string plugin = (test_bin_dir() / "system" / "libcrew_test_plugin.so").string();

/// One cluster for the suite: 2 engines with the test plugin, profile "sh".
Cluster& cluster() {
  static Cluster c(2, "sh", {"--plugin", plugin});
  return c;
}

/// `crew shell --profile sh` with `script` on its standard input.
RunResult run_script(const std::string& script) {
  TempDir dir;
  const fs::path file = dir.path() / "script";
  std::ofstream(file) << script;
  proc::RunOptions o;
  o.stdin_file = file;
  o.timeout = std::chrono::seconds(120);
  return proc::run({(bin_dir() / "crew").string(), "shell", "--profile", "sh"}, o);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// A terminal: a tmux server of the test's own (its own socket), one 200x50 window running
/// `crew shell --profile sh`. The destructor ends the server and everything in it.
class Terminal {
public:
  Terminal() : socket_("crew-test-" + std::to_string(::getpid()) + "-" + std::to_string(++count_)) {
    const char* home = std::getenv("CREW_HOME");
    const std::string command = "env CREW_HOME=" + std::string(home ? home : "") + " " + (bin_dir() / "crew").string() +
                                " shell --profile sh; echo SHELL-EXITED-$?; sleep 600";
    REQUIRE(tmux({"new-session", "-d", "-s", "t", "-x", "200", "-y", "50", command}).status == 0);
    REQUIRE_MESSAGE(wait_for("crew[sh]>"), screen());
  }
  ~Terminal() { (void)tmux({"kill-server"}); }
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  /// tmux send-keys: text is typed, words like Enter, Tab, C-c, Up are keys.
  void keys(const std::vector<std::string>& keys) {
    std::vector<std::string> args{"send-keys", "-t", "t"};
    args.insert(args.end(), keys.begin(), keys.end());
    REQUIRE(tmux(args).status == 0);
  }
  void type(const std::string& text) { keys({"-l", text}); }
  std::string screen() { return tmux({"capture-pane", "-p", "-t", "t", "-S", "-200"}).out; }
  /// Waits until the screen shows `text` `times` times or more.
  bool wait_for(const std::string& text, int times = 1, std::chrono::milliseconds timeout = 30s) {
    return poll_for(
        [&] {
          const std::string s = screen();
          int n = 0;
          for (auto at = s.find(text); at != std::string::npos; at = s.find(text, at + 1)) ++n;
          return n >= times;
        },
        timeout, 20ms);
  }
  /// The line the cursor is on, as shown.
  std::string current_line() {
    const auto y = std::stoi(tmux({"display-message", "-p", "-t", "t", "#{cursor_y}"}).out);
    const auto rows = lines_of(tmux({"capture-pane", "-p", "-N", "-t", "t"}).out);  // -N: trailing blanks kept
    if (y >= static_cast<int>(rows.size())) return "";
    std::string row = rows[static_cast<std::size_t>(y)];
    const auto x = std::stoul(tmux({"display-message", "-p", "-t", "t", "#{cursor_x}"}).out);
    return row.substr(0, x);  // up to the cursor
  }

private:
  RunResult tmux(std::vector<std::string> args) {
    args.insert(args.begin(), {"tmux", "-L", socket_});
    proc::RunOptions o;
    o.timeout = std::chrono::seconds(10);
    return proc::run(args, o);
  }
  std::string socket_;
  static inline int count_ = 0;
};

}  // namespace

TEST_SUITE("cli.shell") {

  TEST_CASE("a script piped into the shell runs each line; a bad line is an error and the next one runs") {
    (void)cluster();
    const RunResult r = run_script("ids --json\n"
                                   "# a comment\n"
                                   "push a=[1,2,3]\n"
                                   "x = pull a\n"
                                   "x\n"
                                   "nosuchverb\n"
                                   "call echo \"unclosed\n"
                                   "call echo $nosuchname\n"
                                   "call echo $x --targets 0 --json\n"
                                   "call echo '\"$x\"' --targets 1 --json\n"
                                   "engines --json\n");
    INFO(r.out << r.err);
    CHECK(r.status == 0);  // the last line's
    const auto out = lines_of(r.out);
    REQUIRE(out.size() == 7);
    CHECK(nlohmann::json::parse(out[0]) == nlohmann::json::array({0, 1}));
    CHECK(out[1] == "pushed a to engines 0-1");
    const auto x = nlohmann::json::parse(out[3]);  // `x` prints what `x = pull a` kept
    CHECK(x == nlohmann::json::parse(R"({"0":{"a":[1,2,3]},"1":{"a":[1,2,3]}})"));
    CHECK(out[2] == "x = " + x.dump());
    CHECK(nlohmann::json::parse(out[4]) == nlohmann::json{{"0", x}});     // $x passed as JSON, echoed back
    CHECK(nlohmann::json::parse(out[5]) == nlohmann::json{{"1", "$x"}});  // single quotes keep $x as it is
    CHECK(nlohmann::json::parse(out[6]).size() == 2);
    CHECK(r.err.find("'nosuchverb' is not a verb") != std::string::npos);
    CHECK(r.err.find("opens a quote it does not close") != std::string::npos);
    CHECK(r.err.find("$nosuchname: the session holds no such name") != std::string::npos);
  }

  TEST_CASE("%px runs a shell command on every engine, output per engine; the line goes to the engines as typed") {
    (void)cluster();
    const RunResult r = run_script("%px echo $((6 * 7)) from $0\n");
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    for (const char* engine : {"[0] exit 0\n", "[1] exit 0\n"}) CHECK(r.out.find(engine) != std::string::npos);
    CHECK(r.out.find("42 from") != std::string::npos);
  }

  TEST_CASE("a failing line's status is the script's when it is the last; exit ends the script") {
    (void)cluster();
    CHECK(run_script("ids\ncall nosuchfunction\n").status == 1);
    const RunResult r = run_script("exit\nids --json\n");
    CHECK(r.status == 0);
    CHECK(r.out.empty());
  }

  TEST_CASE("on a terminal: Tab completes verbs, the engines' function names, options and engine ids") {
    (void)cluster();
    Terminal t;
    t.type("func");
    t.keys({"Tab"});
    CHECK(poll_for([&] { return t.current_line() == "crew[sh]> functions "; }, 10s));
    t.keys({"C-u"});
    t.type("call ech");
    t.keys({"Tab"});
    CHECK(poll_for([&] { return t.current_line() == "crew[sh]> call echo "; }, 10s));
    t.type("7 --targ");
    t.keys({"Tab"});
    CHECK(poll_for([&] { return t.current_line() == "crew[sh]> call echo 7 --targets "; }, 10s));
    t.keys({"Tab", "Tab"});  // the choices: all and the ids, on a line of their own
    CHECK(poll_for(
        [&] {
          const auto rows = lines_of(t.screen());
          return std::any_of(rows.begin(), rows.end(), [](const std::string& row) {
            return row.find("0") != std::string::npos && row.find("1") != std::string::npos &&
                   row.find("all") != std::string::npos && row.find("crew[sh]") == std::string::npos;
          });
        },
        10s));
    t.type("0");
    t.keys({"Enter"});
    CHECK(t.wait_for("[0] 7"));
  }

  TEST_CASE("on a terminal: Ctrl-C clears the line, ends a wait (the task goes on), and never ends the shell") {
    (void)cluster();
    Terminal t;
    t.type("half a line");
    t.keys({"C-c"});
    CHECK(t.wait_for("crew[sh]>", 2));
    CHECK(poll_for([&] { return t.current_line() == "crew[sh]> "; }, 10s));  // the line is gone
    Gate gate;
    t.type("call hold '\"" + gate.path() + "\"' --targets 0");
    t.keys({"Enter"});
    REQUIRE(gate.wait_held(30s));
    t.keys({"C-c"});
    CHECK(t.wait_for("interrupted (Ctrl-C) with 1 result still to come"));
    t.keys({"C-c"});  // at the prompt again: the shell lives on
    t.type("ids");
    t.keys({"Enter"});
    CHECK(t.wait_for("0 1"));
    CHECK(t.screen().find("SHELL-EXITED") == std::string::npos);
    gate.open();
  }

  TEST_CASE("on a terminal: history is kept in the profile across sessions; Ctrl-D leaves") {
    (void)cluster();
    {
      Terminal t;
      t.type("engines --json");
      t.keys({"Enter"});
      CHECK(t.wait_for("\"world\""));
      t.keys({"C-d"});
      CHECK(t.wait_for("SHELL-EXITED-0"));
    }
    CHECK(fs::exists(profile_dir("sh") / "shell_history"));
    Terminal again;
    again.keys({"Up"});
    CHECK(poll_for([&] { return again.current_line() == "crew[sh]> engines --json"; }, 10s));
  }

  TEST_CASE("a controller that goes away is reported, and the shell reaches the next one") {
    Cluster own(1, "sh-lost", {});
    Terminal t;  // (profile sh; the lines below name sh-lost)
    t.type("ids --profile sh-lost");
    t.keys({"Enter"});
    CHECK(t.wait_for("\n0\n"));
    own.stop();
    t.type("ids --profile sh-lost");
    t.keys({"Enter"});
    CHECK(t.wait_for("[crew.connection."));
    Cluster back(1, "sh-lost", {});
    t.type("ids --profile sh-lost");
    t.keys({"Enter"});
    CHECK(t.wait_for("\n0\n", 2));
  }

}  // TEST_SUITE
