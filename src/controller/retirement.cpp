// Keeping the controller's memory bounded however long it runs: beyond --max-records finished
// records, the oldest are retired (the task database keeps them, if there is one), and the slots
// of forgotten records take new ones once nothing points at them.
#include <unordered_set>

#include "controller/controller_impl.hpp"

namespace crew::controller {

void Controller::Impl::retire_records() {
  const std::uint64_t step = retire_step();
  if (tasks.finished_held() <= cfg.max_records + step && tasks.forgotten_held() < step) return;
  // An answer waiting for the task database may hold records (to resend them): wait for it.
  if (db && db->asks_open() > 0) return;
  // Deadlines of tasks long finished stay in the heap until they pass: drop them once they are
  // most of it, or their records could never go.
  if (timeouts.size() > 2 * balanced_pending + 1024) {
    std::vector<std::pair<Deadline, TaskRecord*>> open;
    for (; !timeouts.empty(); timeouts.pop()) {
      TaskRecord* t = timeouts.top().second;
      if (t->done)
        --t->queued;
      else
        open.push_back(timeouts.top());
    }
    timeouts = decltype(timeouts)(std::greater<>(), std::move(open));
  }
  // What else points at records (the balancer's queue and the deadlines count themselves in
  // TaskRecord::queued): the engines' queues (a task that timed out still runs there), aborts,
  // dependencies, collectives and this turn's finished prerequisites.
  std::unordered_set<const TaskRecord*> pinned;
  for (const EngineRecord& e : registry.engines()) pinned.insert(e.in_flight.begin(), e.in_flight.end());
  for (const auto& [t, tickets] : abort_waits) pinned.insert(t);
  for (const auto& [t, waiting] : dependents) {
    pinned.insert(t);
    pinned.insert(waiting.begin(), waiting.end());
  }
  pinned.insert(finished_this_turn.begin(), finished_this_turn.end());
  for (const auto& [name, c] : collectives)
    for (const auto& id : c.msg_ids)
      if (const TaskRecord* t = tasks.find(id)) pinned.insert(t);
  tasks.retire(cfg.max_records, [&](const TaskRecord& t) { return !pinned.empty() && pinned.contains(&t); });
}

}  // namespace crew::controller
