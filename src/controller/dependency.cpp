// Task dependencies.
#include "controller/dependency.hpp"

#include <algorithm>
#include <set>

namespace crew::controller {
namespace {

Verdict unreachable(errc code, std::string why) {
  Verdict v;
  v.state = Verdict::State::unreachable;
  v.code = code;
  v.why = std::move(why);
  return v;
}

std::string outcome(const Prerequisite& p) { return p.failed ? "failed" : "succeeded"; }

std::string wanted(const wire::DependencySpec& d) {
  if (d.success && d.failure) return "to finish";
  if (d.failure) return "to fail";
  return "to succeed";
}

}  // namespace

Verdict evaluate(const wire::DependencySpec& dep, bool location, const PrerequisiteLookup& lookup) {
  Verdict met;
  if (dep.ids.empty()) return met;
  if (!dep.success && !dep.failure)
    return unreachable(errc::impossible_dependency,
                       "a dependency with success and failure both false can never be met");
  const std::string kind = location ? "follow" : "after";
  std::size_t satisfying = 0, finished = 0;
  std::set<int> places;  // where satisfying prerequisites ran
  std::string unsatisfied;
  bool a_failure_unsatisfied = false;
  for (const auto& id : dep.ids) {
    const Prerequisite p = lookup(id);
    if (!p.known)
      return unreachable(
          errc::impossible_dependency,
          "task " + id + " (in " + kind +
              ") is not known to the controller: a mistyped or purged id, or one retired by a controller "
              "without a task database (it keeps the newest --max-records finished tasks; "
              "with --db sqlite it reads older ones from the file)");
    if (!p.done) continue;
    ++finished;
    const bool ok = p.failed ? dep.failure : dep.success;
    if (!ok) {
      a_failure_unsatisfied |= p.failed;
      if (unsatisfied.empty()) unsatisfied = id + " " + outcome(p) + ", but the dependency wanted it " + wanted(dep);
      if (dep.all)
        return unreachable(p.failed ? errc::dependency_failed : errc::impossible_dependency,
                           "prerequisite " + unsatisfied + " (" + kind + ", all)");
      continue;
    }
    ++satisfying;
    if (location) {
      if (p.engine < 0) {
        if (dep.all)
          return unreachable(errc::impossible_dependency,
                             "prerequisite " + id + " never ran on an engine, so no engine can follow it");
        continue;
      }
      places.insert(p.engine);
      if (dep.all && places.size() > 1)
        return unreachable(errc::impossible_dependency,
                           "the prerequisites ran on different engines (" + std::to_string(*places.begin()) + " and " +
                               std::to_string(*places.rbegin()) + "), so no engine ran all of them (follow, all)");
    }
  }
  const bool done_waiting = dep.all ? satisfying == dep.ids.size() : (location ? !places.empty() : satisfying > 0);
  if (done_waiting) {
    met.engines.assign(places.begin(), places.end());
    return met;
  }
  if (finished == dep.ids.size()) {
    if (location && satisfying > 0)
      return unreachable(errc::impossible_dependency, "no prerequisite that " + wanted(dep).substr(3) +
                                                          "ed ran on an engine, so none can be followed");
    return unreachable(a_failure_unsatisfied ? errc::dependency_failed : errc::impossible_dependency,
                       "none of the prerequisites satisfied it (" + kind + ", any): " + unsatisfied);
  }
  Verdict waiting;
  waiting.state = Verdict::State::waiting;
  return waiting;
}

}  // namespace crew::controller
