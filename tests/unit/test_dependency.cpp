// Task dependencies (controller/dependency.hpp): when `after` and `follow` are met, still
// waiting, or unreachable, as the seeds define them.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "controller/dependency.hpp"

using namespace crew;
using namespace crew::controller;
using State = Verdict::State;

namespace {

/// A hub with tasks in given states: "ok@2" finished ok on engine 2, "failed@1", "pending".
struct Hub {
  std::map<std::string, Prerequisite> tasks;
  Hub& ok(const std::string& id, int engine) {
    tasks[id] = {true, true, false, engine};
    return *this;
  }
  Hub& failed(const std::string& id, int engine) {
    tasks[id] = {true, true, true, engine};
    return *this;
  }
  Hub& pending(const std::string& id) {
    tasks[id] = {true, false, false, -1};
    return *this;
  }
  PrerequisiteLookup lookup() const {
    return [this](const std::string& id) {
      auto it = tasks.find(id);
      return it == tasks.end() ? Prerequisite{} : it->second;
    };
  }
};

wire::DependencySpec dep(std::vector<std::string> ids, bool all = true, bool success = true, bool failure = false) {
  return {std::move(ids), all, success, failure};
}

}  // namespace

TEST_SUITE("unit.dependency") {

  TEST_CASE("no dependency is met at once, anywhere") {
    Hub hub;
    const auto v = evaluate(dep({}), true, hub.lookup());
    CHECK(v.state == State::met);
    CHECK(v.engines.empty());
  }

  TEST_CASE("after (all, success) waits for every prerequisite, then is met") {
    Hub hub;
    hub.ok("a", 0).pending("b");
    CHECK(evaluate(dep({"a", "b"}), false, hub.lookup()).state == State::waiting);
    hub.ok("b", 3);
    const auto v = evaluate(dep({"a", "b"}), false, hub.lookup());
    CHECK(v.state == State::met);
    CHECK(v.engines.empty());  // a time dependency says nothing about where
  }

  TEST_CASE("a failed prerequisite fails an all-success dependency, even while others wait") {
    Hub hub;
    hub.failed("a", 1).pending("b");
    const auto v = evaluate(dep({"a", "b"}), false, hub.lookup());
    CHECK(v.state == State::unreachable);
    CHECK(v.code == errc::dependency_failed);
    CHECK(v.why.find("a failed") != std::string::npos);
  }

  TEST_CASE("allowing failure lets a failed prerequisite satisfy it") {
    Hub hub;
    hub.failed("a", 1).ok("b", 2);
    CHECK(evaluate(dep({"a", "b"}, true, true, true), false, hub.lookup()).state == State::met);
  }

  TEST_CASE("failure only: a success makes it unreachable") {
    Hub hub;
    hub.ok("a", 1);
    const auto v = evaluate(dep({"a"}, true, false, true), false, hub.lookup());
    CHECK(v.state == State::unreachable);
    CHECK(v.code == errc::impossible_dependency);
  }

  TEST_CASE("any is met by the first that satisfies, and unreachable when all failed") {
    Hub hub;
    hub.pending("a").failed("b", 0);
    CHECK(evaluate(dep({"a", "b"}, false), false, hub.lookup()).state == State::waiting);
    hub.ok("a", 2);
    CHECK(evaluate(dep({"a", "b"}, false), false, hub.lookup()).state == State::met);
    hub.failed("a", 2);
    const auto v = evaluate(dep({"a", "b"}, false), false, hub.lookup());
    CHECK(v.state == State::unreachable);
    CHECK(v.code == errc::dependency_failed);
  }

  TEST_CASE("an unknown prerequisite is impossible at once") {
    Hub hub;
    hub.ok("a", 0);
    const auto v = evaluate(dep({"a", "nope"}), false, hub.lookup());
    CHECK(v.state == State::unreachable);
    CHECK(v.code == errc::impossible_dependency);
    CHECK(v.why.find("nope") != std::string::npos);
  }

  TEST_CASE("follow (all) is met on the one engine that ran every prerequisite") {
    Hub hub;
    hub.ok("a", 2).ok("b", 2);
    const auto v = evaluate(dep({"a", "b"}), true, hub.lookup());
    CHECK(v.state == State::met);
    CHECK(v.engines == std::vector<int>{2});
  }

  TEST_CASE("follow (all) over two engines can never be met") {
    Hub hub;
    hub.ok("a", 1).ok("b", 3);
    const auto v = evaluate(dep({"a", "b"}), true, hub.lookup());
    CHECK(v.state == State::unreachable);
    CHECK(v.code == errc::impossible_dependency);
    CHECK(v.why.find("different engines") != std::string::npos);
  }

  TEST_CASE("follow (any) may run on any engine that ran a satisfying prerequisite") {
    Hub hub;
    hub.ok("a", 1).ok("b", 3).failed("c", 0);
    const auto v = evaluate(dep({"a", "b", "c"}, false), true, hub.lookup());
    CHECK(v.state == State::met);
    CHECK(v.engines == std::vector<int>{1, 3});
  }

  TEST_CASE("follow cannot follow a prerequisite that never ran on an engine") {
    Hub hub;
    hub.failed("a", -1);  // rejected before it ran
    const auto v = evaluate(dep({"a"}, true, true, true), true, hub.lookup());
    CHECK(v.state == State::unreachable);
    CHECK(v.code == errc::impossible_dependency);
  }

  TEST_CASE("neither success nor failure can ever be met") {
    Hub hub;
    hub.ok("a", 0);
    CHECK(evaluate(dep({"a"}, true, false, false), false, hub.lookup()).state == State::unreachable);
  }
}
