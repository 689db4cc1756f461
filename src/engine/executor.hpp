#pragma once
// Runs one task on one engine: decodes the arguments, resolves Refs from the namespace, calls the
// registered function with stdout/stderr captured, and builds the reply. Never throws for a
// failing task: the failure goes into the reply.

#include <mpi.h>

#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>

#include "common/internal_api.hpp"
#include "crew/context.hpp"
#include "engine/collectives.hpp"
#include "engine/fd_capture.hpp"
#include "engine/output_pump.hpp"
#include "engine/task_output.hpp"
#include "protocol/header.hpp"
#include "protocol/wire.hpp"

namespace crew::detail {

struct CREW_INTERNAL_API EngineIdentity {
  int engine_id = -1;
  int rank = 0;
  int world_size = 1;
  int world_id = -1;
  MPI_Comm user_comm = MPI_COMM_NULL;
  MPI_Comm data_comm = MPI_COMM_NULL;  ///< crew's collectives (engine/collectives.hpp)
  std::string host;
};

class Collectives;

class CREW_INTERNAL_API Executor {
public:
  explicit Executor(EngineIdentity identity);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// Runs this engine's part of `task`: the reply (apply_reply) to send, if this engine sends
  /// one (in a collective, rank 0 may take part without being a target, and gather / reduce
  /// answer once per world, from rank 0).
  std::optional<wire::Outgoing> run(const wire::Header& task, std::span<const Buffer> payload);

  /// Rank 0: where streamed arrays' chunks come from (engine/collectives.hpp).
  void set_chunk_source(ChunkSource source);
  /// Rank 0: how streamed answers leave (engine/collectives.hpp).
  void set_message_sink(MessageSink sink);
  /// Where the live output of this engine's tasks goes (engine/output_pump.hpp); without one, a
  /// task's output leaves only with its reply. `followed`: whether anyone follows it now. Set
  /// before the first task runs.
  void set_output_sink(OutputPump::Sink sink, OutputPump::Followed followed = {});
  /// From now on a task's output is also what it writes to descriptors 1 and 2
  /// (engine/fd_capture.hpp): printf, Fortran, child processes. Once per process.
  void capture_fds();

  const EngineIdentity& identity() const noexcept { return id_; }
  Namespace& ns() noexcept { return ns_; }

private:
  wire::Outgoing run_function(const wire::Header& task, std::span<const Buffer> payload);

  EngineIdentity id_;
  Namespace ns_;
  std::unique_ptr<Collectives> collectives_;
  std::unique_ptr<OutputPump> output_;
  std::unique_ptr<FdCapture> fds_;  ///< set: tasks' output is read from the descriptors
  // std::cout and std::cerr are swapped for these while a task runs. Reused for every task: a new
  // stream per task costs more than the task.
  TaskOutputBuf out_buf_{false};
  TaskOutputBuf err_buf_{true};
  std::ostream out_{&out_buf_};
  std::ostream err_{&err_buf_};
};

/// A failed task's reply, for tasks that never reach an executor (e.g. lost with a dead world).
CREW_INTERNAL_API wire::Outgoing failure_reply(const wire::Header& task, const std::string& msg_id, int engine_id,
                                               const wire::ErrorInfo& error);

}  // namespace crew::detail
