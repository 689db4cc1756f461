#include "mpi_world.hpp"

#include <algorithm>
#include <memory>
#include <numeric>

#include "engine/mpi_check.hpp"
#include "protocol/collective.hpp"
#include "protocol/value_codec.hpp"

namespace crew::testing {

int mpi_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int mpi_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

namespace {
std::unique_ptr<detail::Executor> engine;
}

detail::Executor& rank_engine() {
  if (engine) return *engine;
  engine = [] {
    detail::EngineIdentity id;
    id.rank = mpi_rank();
    id.engine_id = id.rank;
    id.world_size = mpi_size();
    id.world_id = 0;
    id.host = "mpi-test";
    id.user_comm = detail::own_comm(MPI_COMM_WORLD);
    id.data_comm = detail::own_comm(MPI_COMM_WORLD);
    return std::make_unique<detail::Executor>(id);
  }();
  return *engine;
}

void close_rank_engine() {
  if (!engine) return;
  const detail::EngineIdentity id = engine->identity();
  engine.reset();
  MPI_Comm user = id.user_comm, data = id.data_comm;
  MPI_Comm_free(&user);
  MPI_Comm_free(&data);
}

std::vector<int> all_engines() {
  std::vector<int> ids(static_cast<std::size_t>(mpi_size()));
  std::iota(ids.begin(), ids.end(), 0);
  return ids;
}

std::optional<wire::Packet> run_on_world(const std::string& function, Value::List args,
                                         const std::vector<int>& targets) {
  static long task_number = 0;  // the same on every rank: every rank runs every case
  ++task_number;
  const int rank = mpi_rank();
  if (rank != 0 && std::find(targets.begin(), targets.end(), rank) == targets.end()) return std::nullopt;
  wire::Header task;
  // As the client sends it (a collective's name becomes its op), and the controller splits it.
  const wire::Collective op = wire::collective_of(function);
  task.kind = op == wire::Collective::none ? wire::MsgKind::direct_task : wire::MsgKind::collective_task;
  task.collective = op;
  task.targets = wire::EngineIds(targets.begin(), targets.end());
  for (const int t : targets) task.msg_ids.push_back("t" + std::to_string(task_number) + "-" + std::to_string(t));
  task.function = function;
  // As the bridge forwards it: the bulk data (the first argument of push, the second of
  // scatter) only to rank 0.
  const std::size_t data_index = op == wire::Collective::push ? 0 : 1;
  if (rank != 0 && wire::carries_data(op) && args.size() > data_index) args[data_index] = Value();
  wire::Payload payload;
  wire::encode_value(Value(std::move(args)), payload);
  auto reply = rank_engine().run(task, payload);
  if (!reply) return std::nullopt;
  auto packets = wire::unpack(std::move(reply->header_bytes), std::move(reply->payload));
  if (packets.size() != 1) return std::nullopt;
  return std::move(packets.front());
}

Value rows_array(std::uint64_t rows) {
  std::vector<std::int64_t> xs(rows * 2);
  std::iota(xs.begin(), xs.end(), 0);
  return Value(Array::from(std::move(xs), {rows, 2}));
}

}  // namespace crew::testing
