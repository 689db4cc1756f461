// Registration bodies: what makes one that decoded still wrong.
#include "protocol/registration.hpp"

namespace crew::wire {

namespace {
std::string per_rank(const char* field, std::size_t count, std::int32_t size) {
  if (count == static_cast<std::size_t>(size)) return {};
  return "field " + std::string(field) + " has " + std::to_string(count) + (count == 1 ? " entry" : " entries") +
         " for a world of size " + std::to_string(size) + " (one per rank)";
}
}  // namespace

std::string RegisterRequest::problem() const {
  if (size < 1) return "field size is " + std::to_string(size) + ": a world has at least one rank";
  for (std::string why : {per_rank("hosts", hosts.size(), size), per_rank("pids", pids.size(), size),
                          per_rank("properties", properties.size(), size)})
    if (!why.empty()) return why;
  return {};
}

std::string RegisterReply::problem() const {
  if (world < 0) return "field world is " + std::to_string(world) + ": world ids start at 0";
  if (first_engine < 0) return "field first_engine is " + std::to_string(first_engine) + ": engine ids start at 0";
  if (heartbeat_ms < 1) return "field heartbeat_ms is " + std::to_string(heartbeat_ms) + ": it must be positive";
  if (drain_margin_s < 0) return "field drain_margin_s is " + std::to_string(drain_margin_s) + ": it must be >= 0";
  return {};
}

std::string ReattachRequest::problem() const {
  if (std::string why = world.problem(); !why.empty()) return why;
  if (world_id < 0) return "field world_id is " + std::to_string(world_id) + ": world ids start at 0";
  if (first_engine < 0) return "field first_engine is " + std::to_string(first_engine) + ": engine ids start at 0";
  if (!last_balanced_seq.empty()) return per_rank("last_balanced_seq", last_balanced_seq.size(), world.size);
  return {};
}

}  // namespace crew::wire
