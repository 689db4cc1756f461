// Keeping the controller's memory bounded however long it runs: beyond --max-records finished
// records, the oldest are retired (the task database keeps them, if there is one), and the slots
// of forgotten records are used again once nothing points at them.
#include <unordered_set>

#include "controller/controller_impl.hpp"

namespace crew::controller {

/// Retires in steps of this many records past the limit at least (each step walks every record held).
static std::uint64_t retire_step(std::uint64_t max_records) { return std::max<std::uint64_t>(max_records / 8, 256); }

void Controller::Impl::retire_records() {
  const bool over = tasks.finished_held() > cfg.max_records + retire_step(cfg.max_records);
  if (!over && tasks.forgotten_held() < retire_step(cfg.max_records)) return;
  // An answer waiting for the task database may hold records (to resend them): wait for it.
  if (db && db->asks_open() > 0) return;
  // Records the controller's queues point at stay: the engines' (a task that timed out still runs
  // there), aborts', dependencies', collectives' and this turn's finished prerequisites.
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
  const auto is_pinned = [&](const TaskRecord& t) { return pinned.contains(&t); };

  if (over) tasks.retire_oldest(cfg.max_records, is_pinned);
  // The balancer's queue and the deadlines drop forgotten records only when they reach them.
  std::erase_if(ready, [](const TaskRecord* t) { return t->forgotten; });
  std::vector<std::pair<Deadline, TaskRecord*>> deadlines;
  deadlines.reserve(timeouts.size());
  for (; !timeouts.empty(); timeouts.pop())
    if (!timeouts.top().second->forgotten) deadlines.push_back(timeouts.top());
  timeouts = decltype(timeouts)(std::greater<>(), std::move(deadlines));
  tasks.reuse_forgotten(is_pinned);
}

}  // namespace crew::controller
