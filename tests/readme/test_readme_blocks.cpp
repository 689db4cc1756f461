// How crew-readme-test reads README.md: which lines are commands, what each is expected to print.
#include <doctest/doctest.h>

#include <stdexcept>

#include "readme_blocks.hpp"

using crew::readme::command_blocks;
using crew::readme::matches;

TEST_SUITE("readme.blocks") {
  TEST_CASE("only sh blocks are commands, and each command keeps its README line") {
    const auto blocks = command_blocks("text\n```text\ncrew ids\n```\n```sh\ncrew ids --json   # => [0,1]\n\n"
                                       "crew engines\n```\n```cpp\nint x;  // crew\n```\n");
    REQUIRE(blocks.size() == 1);
    CHECK(blocks[0].line == 5);
    REQUIRE(blocks[0].commands.size() == 2);
    CHECK(blocks[0].commands[0].line == 6);
    CHECK(blocks[0].commands[0].text == "crew ids --json");
    CHECK(*blocks[0].commands[0].output == "[0,1]");
    CHECK(blocks[0].commands[1].line == 8);
    CHECK_FALSE(blocks[0].commands[1].output);
  }

  TEST_CASE("a comment without => states no output, and a # inside quotes is not a comment") {
    const auto c = command_blocks("```sh\ncrew exec 'echo #1' --targets 0   # runs it => exit 1: boom ...\n```\n")
                       .at(0)
                       .commands.at(0);
    CHECK(c.text == "crew exec 'echo #1' --targets 0");
    CHECK(c.exit_status == 1);
    CHECK(*c.output == "boom ...");
    CHECK_FALSE(c.illustrative);
    const auto prose = command_blocks("```sh\ncrew queue   # tasks in flight, exit 3 if not\n```\n")[0].commands[0];
    CHECK(prose.exit_status == 0);
    CHECK_FALSE(prose.output);
  }

  TEST_CASE("e.g. marks an output as illustrative, and not-in-CI markers skip a line or the rest of a block") {
    const auto block = command_blocks("```sh\ncrew call price 1 2   # => e.g. [2] 7.97\n"
                                      "qsub job.sh   # [not in CI: needs PBS]\ncrew ids\n"
                                      "# [not in CI: needs Slurm]\nsbatch x\nsqueue\n```\n")[0];
    REQUIRE(block.commands.size() == 5);
    CHECK(block.commands[0].illustrative);
    CHECK(block.commands[0].skipped.empty());
    CHECK(block.commands[1].skipped == "needs PBS");
    CHECK(block.commands[2].skipped.empty());
    CHECK(block.commands[3].skipped == "needs Slurm");
    CHECK(block.commands[4].skipped == "needs Slurm");
  }

  TEST_CASE("lines of their own that start with => give the command above its output, line by line") {
    const auto c = command_blocks("```sh\ncrew engines    # the engines\n# => ID  HOST ...\n"
                                  "                # => 0   ...\n```\n")[0]
                       .commands.at(0);
    CHECK(*c.output == "ID  HOST ...\n0   ...");
  }

  TEST_CASE("a fence without a language, or one that never closes, is refused with its line") {
    CHECK_THROWS_WITH_AS(command_blocks("a\n```\ncrew ids\n```\n"), doctest::Contains("line 2"), std::runtime_error);
    CHECK_THROWS_WITH_AS(command_blocks("```sh\ncrew ids\n"), doctest::Contains("line 1"), std::runtime_error);
  }
}

TEST_SUITE("readme.matches") {
  TEST_CASE("without ... the output must be exactly the text, trailing white space aside") {
    CHECK(matches("[0,1,2,3]", "[0,1,2,3]\n"));
    CHECK_FALSE(matches("[0,1,2,3]", "[0,1,2]\n"));
    CHECK_FALSE(matches("[0,1,2,3]", "[0,1,2,3]\nmore\n"));
  }

  TEST_CASE("... stands for any text, also several lines, and the pieces must come in order") {
    CHECK(matches("[...] 7.97", "[2] 7.97\n"));
    CHECK(matches("wrote ... to .../run1.h5", "wrote int64[8] to /tmp/x/run1.h5"));
    CHECK(matches("first...last", "first\nmiddle\nlast"));
    CHECK(matches("a...", "a"));
    CHECK_FALSE(matches("[...] 7.97", "[2] 7.98"));
    CHECK_FALSE(matches("a...b...c", "a c b"));
    CHECK_FALSE(matches("ab...ba", "aba"));  // the start and the end may not overlap
  }

  TEST_CASE("a run of spaces matches a run of spaces of any length, but not their absence") {
    CHECK(matches("ID  PID  RANK\n0   ...  0", "ID  PID   RANK\n0   4917  0"));
    CHECK(matches("pushed a, b", "pushed a,  b"));
    CHECK_FALSE(matches("ID  PID", "IDPID"));
    CHECK_FALSE(matches("ID PID", "ID\nPID"));
  }
}
