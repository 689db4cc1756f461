#pragma once
// Runs one task on one engine: decodes the arguments, resolves Refs from the namespace, calls the
// registered function with stdout/stderr captured, and builds the reply. Never throws for a
// failing task: the failure goes into the reply.

#include <mpi.h>

#include <span>
#include <sstream>
#include <string>

#include "crew/context.hpp"
#include "protocol/header.hpp"
#include "protocol/wire.hpp"

namespace crew::detail {

struct EngineIdentity {
  int engine_id = -1;
  int rank = 0;
  int world_size = 1;
  int world_id = -1;
  MPI_Comm user_comm = MPI_COMM_NULL;
  std::string host;
};

class Executor {
public:
  explicit Executor(EngineIdentity identity) : id_(std::move(identity)) {}

  /// The reply (apply_reply) for the part of `task` addressed to this engine.
  wire::Outgoing run(const wire::Header& task, std::span<const Buffer> payload);

  const EngineIdentity& identity() const noexcept { return id_; }
  Namespace& ns() noexcept { return ns_; }

private:
  EngineIdentity id_;
  Namespace ns_;
  std::ostringstream out_;  ///< reused for every task: a new stream per task costs more than the task
  std::ostringstream err_;
};

/// A failed task's reply, for tasks that never reach an executor (e.g. lost with a dead world).
wire::Outgoing failure_reply(const wire::Header& task, const std::string& msg_id, int engine_id,
                             const wire::ErrorInfo& error);

}  // namespace crew::detail
