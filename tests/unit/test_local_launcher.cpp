// mpirun as crew starts it (cluster/local_launcher.hpp): shell-like word splitting and the
// mpirun flags crew adds (--oversubscribe, --allow-run-as-root) only when needed.
#include <doctest/doctest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cluster/local_launcher.hpp"
#include "crew/error.hpp"

using namespace crew;
using cluster::LocalLaunch;
using cluster::split_words;
using Words = std::vector<std::string>;

namespace {

struct Command {
  Words argv;
  Words notices;
};

Command command_for(const LocalLaunch& launch) {
  Command c;
  c.argv = cluster::mpirun_prefix(launch, [&](const std::string& line) { c.notices.push_back(line); });
  return c;
}

std::size_t count_of(const Words& words, const std::string& w) {
  return static_cast<std::size_t>(std::count(words.begin(), words.end(), w));
}

bool is_root() { return ::geteuid() == 0; }

}  // namespace

TEST_SUITE("unit.local_launcher" * doctest::timeout(30)) {

  TEST_CASE("split_words splits on blanks and drops empty runs") {
    CHECK(split_words("") == Words{});
    CHECK(split_words("   ") == Words{});
    CHECK(split_words("a b  c") == Words{"a", "b", "c"});
    CHECK(split_words("  --mca btl self\t-x\nFOO=1 ") == Words{"--mca", "btl", "self", "-x", "FOO=1"});
  }

  TEST_CASE("split_words keeps quoted text together") {
    CHECK(split_words("'a b' c") == Words{"a b", "c"});
    CHECK(split_words("\"a b\" c") == Words{"a b", "c"});
    CHECK(split_words("x='1 2'") == Words{"x=1 2"});
    CHECK(split_words("\"x\"'y'z") == Words{"xyz"});
    CHECK(split_words("'' b") == Words{"", "b"});  // an empty quoted word is a word
    CHECK(split_words("\"it's\"") == Words{"it's"});
    CHECK(split_words("'say \"hi\"'") == Words{"say \"hi\""});
  }

  TEST_CASE("split_words handles backslash escapes like a shell") {
    CHECK(split_words("a\\ b") == Words{"a b"});
    CHECK(split_words("\\'x") == Words{"'x"});
    CHECK(split_words("\"a\\\"b\"") == Words{"a\"b"});  // escape inside double quotes
    CHECK(split_words("'a\\b'") == Words{"a\\b"});      // no escapes inside single quotes
  }

  TEST_CASE("split_words rejects an unbalanced quote") {
    for (const std::string text : {"\"abc", "'abc", "a 'b c", "\"a\\\""}) {
      CAPTURE(text);
      try {
        (void)split_words(text);
        FAIL_CHECK("accepted");
      } catch (const InputError& e) {
        CHECK(e.code() == errc::bad_option);
        CHECK(std::string(e.what()).find("unbalanced quote") != std::string::npos);
      }
    }
  }

  TEST_CASE("usable_cores counts the cores this process may run on, not the machine's") {
    cpu_set_t all;
    REQUIRE(sched_getaffinity(0, sizeof all, &all) == 0);
    CHECK(cluster::usable_cores() >= 1);
    CHECK(cluster::usable_cores() <= CPU_COUNT(&all));  // cores, not hardware threads
    // Pinned to one CPU (this thread only, then restored), one core is usable.
    int first = 0;
    while (!CPU_ISSET(first, &all)) ++first;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
    const int pinned = cluster::usable_cores();
    REQUIRE(sched_setaffinity(0, sizeof all, &all) == 0);
    CHECK(pinned == 1);
  }

  TEST_CASE("mpirun_prefix is mpirun, crew's flags, then the user's arguments in order") {
    LocalLaunch launch;
    launch.engines = 1;
    launch.mpirun_args = {"--mca", "btl", "self,vader"};
    const Command c = command_for(launch);
    Words expected{"mpirun"};
    if (is_root()) expected.push_back("--allow-run-as-root");
    for (const char* w : {"--mca", "btl", "self,vader"}) expected.push_back(w);
    CHECK(c.argv == expected);
    CHECK(c.notices.size() == (is_root() ? 1u : 0u));
  }

  TEST_CASE("mpirun_prefix adds --oversubscribe only above the usable cores") {
    const int cores = cluster::usable_cores();
    LocalLaunch launch;
    launch.engines = cores;
    CHECK(count_of(command_for(launch).argv, "--oversubscribe") == 0);

    launch.engines = cores + 1;
    const Command over = command_for(launch);
    CHECK(count_of(over.argv, "--oversubscribe") == 1);
    REQUIRE_FALSE(over.notices.empty());
    CHECK(over.notices[0].find("--oversubscribe") != std::string::npos);
    CHECK(over.notices[0].find(std::to_string(cores + 1) + " engines") != std::string::npos);
  }

  TEST_CASE("mpirun_prefix does not oversubscribe when the user refused it") {
    LocalLaunch launch;
    launch.engines = cluster::usable_cores() + 3;
    launch.oversubscribe_allowed = false;
    const Command c = command_for(launch);
    CHECK(count_of(c.argv, "--oversubscribe") == 0);
    CHECK(c.notices.size() == (is_root() ? 1u : 0u));
  }

  TEST_CASE("mpirun_prefix does not repeat flags the user already gave") {
    LocalLaunch launch;
    launch.engines = cluster::usable_cores() + 1;
    launch.mpirun_args = {"--oversubscribe", "--allow-run-as-root"};
    const Command c = command_for(launch);
    CHECK(count_of(c.argv, "--oversubscribe") == 1);
    CHECK(count_of(c.argv, "--allow-run-as-root") == 1);
    CHECK(c.notices.empty());
  }

  TEST_CASE("mpirun_prefix adds --allow-run-as-root exactly when running as root") {
    LocalLaunch launch;
    const Command c = command_for(launch);
    CHECK(count_of(c.argv, "--allow-run-as-root") == (is_root() ? 1u : 0u));
    const bool noticed = std::any_of(c.notices.begin(), c.notices.end(),
                                     [](const std::string& n) { return n.find("root") != std::string::npos; });
    CHECK(noticed == is_root());
  }

}  // TEST_SUITE
