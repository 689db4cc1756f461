// A scatter whose array follows its request in chunks (protocol/stream.hpp): the root hands
// each chunk's pieces to the ranks they belong to as the chunk comes, so that no rank holds
// more than its own part, and the memory a chunk passes through is used again for the next.
#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "common/env.hpp"
#include "engine/collective_call.hpp"
#include "engine/idle_backoff.hpp"
#include "engine/mpi_check.hpp"
#include "engine/mpi_frames.hpp"

namespace crew::detail {
namespace {

using collective::Verdict;

constexpr int tag_stream = 7301;
/// How long the root waits for the next chunk before it gives the scatter up: 60 s
/// (CREW_STREAM_STALL_MS overrides it, for tests).
std::chrono::milliseconds stall_limit() {
  static const std::chrono::milliseconds limit(env_integer("CREW_STREAM_STALL_MS", 10, 3'600'000, 60'000));
  return limit;
}

/// A rank other than the root: its part, piece after piece, in order (an empty piece: the data
/// stopped coming). Waits with naps, not spinning: a world may have more ranks than cores.
bool take_pieces(MPI_Comm comm, std::byte* out, std::uint64_t n) {
  IdleBackoff idle;
  for (std::uint64_t got = 0; got < n;) {
    int flag = 0;
    MPI_Status status;
    CREW_MPI_CHECK(MPI_Iprobe, (0, tag_stream, comm, &flag, &status));
    if (!flag) {
      if (const auto nap = idle.next(); nap.count() > 0) std::this_thread::sleep_for(nap);
      continue;
    }
    idle.worked();
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    if (count <= 0 || static_cast<std::uint64_t>(count) > n - got) {  // the end (or a bug): take it, stop
      std::vector<std::byte> ignored(static_cast<std::size_t>(std::max(count, 1)));
      CREW_MPI_CHECK(MPI_Recv, (ignored.data(), std::max(count, 0), MPI_BYTE, 0, tag_stream, comm, MPI_STATUS_IGNORE));
      return false;
    }
    CREW_MPI_CHECK(MPI_Recv, (out + got, count, MPI_BYTE, 0, tag_stream, comm, MPI_STATUS_IGNORE));
    got += static_cast<std::uint64_t>(count);
  }
  return true;
}

std::string seconds_of(std::chrono::milliseconds t) { return std::to_string(t.count() / 1000.0).substr(0, 5) + " s"; }

}  // namespace

// Root: the chunks, in order; each piece to its rank (its own into `own`). "" when all came,
// else why not. Ranks still owed pieces then get an empty one, so that none waits forever.
std::string Collectives::feed_stream(const Call& call, const std::vector<std::uint64_t>& bytes, std::byte* own) {
  const std::string& stream = call.task->msg_ids.front();
  const std::uint64_t total = call.task->stream.bytes;
  const auto participants = static_cast<std::size_t>(call.participants());
  std::vector<std::uint64_t> begin(participants), end(participants), sent(participants, 0);
  for (std::size_t p = 0, at = 0; p < participants; at += bytes[p], ++p) begin[p] = at, end[p] = at + bytes[p];
  std::string failure;
  std::vector<MPI_Request> requests;
  for (std::uint64_t got = 0; got < total && failure.empty();) {
    std::optional<StreamChunk> c = next_chunk_of(stream);
    if (!c) {
      failure = "no more of it came for " + seconds_of(stall_limit()) + " after byte " + std::to_string(got) + " of " +
                std::to_string(total);
    } else if (c->stop) {
      failure = "the world was shut down after byte " + std::to_string(got) + " of " + std::to_string(total);
    } else if (c->offset != got || c->data.empty() || c->data.size() > total - got) {
      failure = "a chunk at byte " + std::to_string(c->offset) + " (+" + std::to_string(c->data.size()) +
                ") came where byte " + std::to_string(got) + " of " + std::to_string(total) + " was due";
    } else {
      const std::uint64_t from_chunk = got, to_chunk = got + c->data.size();
      requests.clear();
      for (std::size_t p = 0; p < participants; ++p) {
        const std::uint64_t from = std::max(from_chunk, begin[p]), to = std::min(to_chunk, end[p]);
        if (from >= to) continue;
        const std::byte* piece = c->data.data() + (from - from_chunk);
        if (p == 0) {
          std::memcpy(own + (from - begin[p]), piece, to - from);
        } else {
          requests.emplace_back();
          CREW_MPI_CHECK(MPI_Isend, (piece, static_cast<int>(to - from), MPI_BYTE, static_cast<int>(p), tag_stream,
                                     call.comm, &requests.back()));
        }
        sent[p] = to - begin[p];
      }
      if (!requests.empty())
        CREW_MPI_CHECK(MPI_Waitall, (static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE));
      got = to_chunk;
    }
  }
  end_stream(stream);
  if (!failure.empty())
    for (std::size_t p = 1; p < participants; ++p)
      if (sent[p] < end[p] - begin[p])
        CREW_MPI_CHECK(MPI_Send, (nullptr, 0, MPI_BYTE, static_cast<int>(p), tag_stream, call.comm));
  return failure;
}

// Root, when the scatter failed before its data moved: the chunks still come; let them go by.
void Collectives::discard_stream(const std::string& stream, std::uint64_t total) {
  for (std::uint64_t got = 0; got < total;) {
    auto c = next_chunk_of(stream);
    if (!c || c->stop) break;
    got = c->offset + c->data.size();
  }
  end_stream(stream);
}

std::optional<StreamChunk> Collectives::next_chunk_of(const std::string& stream) {
  if (auto it = kept_chunks_.find(stream); it != kept_chunks_.end()) {
    StreamChunk c = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) kept_chunks_.erase(it);
    return c;
  }
  for (;;) {
    std::optional<StreamChunk> c = chunks_ ? chunks_(stall_limit()) : std::nullopt;
    if (!c || c->stop || c->stream == stream) return c;
    // Another client's stream, sent meanwhile: its scatter runs next, after this one.
    if (std::find(ended_streams_.begin(), ended_streams_.end(), c->stream) == ended_streams_.end())
      kept_chunks_[c->stream].push_back(std::move(*c));
  }
}

void Collectives::end_stream(const std::string& stream) {
  kept_chunks_.erase(stream);
  ended_streams_.push_back(stream);
  if (ended_streams_.size() > 64) ended_streams_.pop_front();
}

// scatter(name, null[, counts]) with the array described in the task's stream spec.
std::optional<wire::Outgoing> Collectives::scatter_from_client(Call& call) {
  const wire::StreamSpec& spec = call.task->stream;
  const Value& args = call.args;
  Verdict v;
  if (call.root()) {
    try {
      if (!args.is_list() || args.size() < 2 || args.size() > 3 || !args[0].is_string() || !args[1].is_null() ||
          (args.size() == 3 && !args[2].is_list()))
        throw_error(errc::bad_arguments, "crew.scatter takes (name, null[, counts]) before a streamed array");
      if (!dtype_valid(spec.dtype) || spec.shape.empty() || spec.shape[0] == 0)
        throw_error(errc::bad_arguments, "crew.scatter: the streamed array has no rows or no element type");
      std::uint64_t elements = 1;
      for (auto d : spec.shape) elements *= d;
      const auto type = static_cast<dtype>(spec.dtype);
      if (elements * dtype_size(type) != spec.bytes)
        throw_error(errc::bad_arguments, "crew.scatter: the streamed array's shape does not match its " +
                                             std::to_string(spec.bytes) + " bytes");
      const std::uint64_t length = spec.shape[0], row_bytes = spec.bytes / length;
      const auto rows = collective::target_rows(call, args, length);
      for (int p = 0; p < call.participants(); ++p) {
        const int t = call.target_of[static_cast<std::size_t>(p)];
        const std::uint64_t n = t >= 0 ? rows[static_cast<std::size_t>(t)] : 0;
        v.info.rows.push_back(n);
        v.info.bytes.push_back(n * row_bytes);
      }
      v.info.type = static_cast<dtype>(spec.dtype);
      v.info.shape.assign(spec.shape.begin() + 1, spec.shape.end());
    } catch (const Error& e) {
      v.code = e.code();
      v.message = e.message();
    }
  }
  v = collective::share_verdict(call, std::move(v));
  if (!v.ok()) {
    if (call.root() && spec.chunked()) discard_stream(call.task->msg_ids.front(), spec.bytes);
    return collective::own_reply(call, v);
  }

  const auto& bytes = v.info.bytes;
  const std::uint64_t mine = bytes[static_cast<std::size_t>(call.me)];
  auto recv = collective::allocate(static_cast<std::size_t>(mine));
  Verdict arrived;
  if (spec.transfer() == wire::Transfer::single_copy) {  // each rank copies its own part (engine/single_copy.cpp)
    arrived = collective::copy_from_peer(call, bytes, recv.data);
  } else {
    if (call.root()) {
      if (std::string failure = feed_stream(call, bytes, recv.data); !failure.empty())
        arrived = {errc::aborted, "the scatter's data stopped coming: " + failure, {}};
    } else {
      (void)take_pieces(call.comm, recv.data, mine);  // the root says below whether all came
    }
    arrived = collective::share_verdict(call, std::move(arrived));
  }
  // All or nothing: no engine keeps its part unless every part arrived.
  if (!arrived.ok()) return collective::own_reply(call, arrived);
  if (!call.is_target()) return std::nullopt;

  std::vector<std::uint64_t> shape{v.info.rows[static_cast<std::size_t>(call.me)]};
  shape.insert(shape.end(), v.info.shape.begin(), v.info.shape.end());
  ns_.set(args.is_list() && !args.as_list().empty() && args[0].is_string() ? args[0].as_string() : std::string(),
          Value(Array(*v.info.type, std::move(shape), recv.buffer)));
  return collective::own_reply(call, v);
}

}  // namespace crew::detail
