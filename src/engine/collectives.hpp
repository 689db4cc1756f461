#pragma once
// This rank's part in a collective operation (protocol/collective.hpp): scatter, gather, push
// (broadcast), reduce, save_h5 and load_h5, on raw MPI buffers among the participants of one
// world: the targeted ranks plus rank 0, the root, which holds the world's data.
//
// Every decision that could differ between ranks (bad arguments, a missing name, mismatched
// shapes) is made by the root and broadcast before any bulk data moves, so all participants
// always take the same path: an error never leaves a rank waiting in a collective.

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crew/context.hpp"
#include "protocol/collective.hpp"
#include "protocol/header.hpp"
#include "protocol/wire.hpp"

namespace crew::detail {

struct EngineIdentity;
namespace collective {
struct Verdict;
struct Holding;
}  // namespace collective

/// A chunk of a streamed array (protocol/stream.hpp), as rank 0's engine thread receives it.
struct StreamChunk {
  std::string stream;  ///< the world's task it belongs to (its first msg id)
  std::uint64_t offset = 0;
  Buffer data;
  bool stop = false;  ///< not a chunk: the world is shutting down
};
/// Rank 0: the next chunk, waiting up to the given time (nullopt: none came).
using ChunkSource = std::function<std::optional<StreamChunk>(std::chrono::milliseconds)>;
/// Rank 0: sends a message to the controller now, ahead of the collective's end (a stream).
using MessageSink = std::function<void(wire::Outgoing)>;

class Collectives {
public:
  /// `data_comm`: the world's communicator reserved for collectives (crew's own duplicate).
  Collectives(MPI_Comm data_comm, const EngineIdentity& identity, Namespace& ns);
  ~Collectives();
  Collectives(const Collectives&) = delete;
  Collectives& operator=(const Collectives&) = delete;

  /// Runs this rank's part of `task`; the reply this rank sends, if it sends one.
  std::optional<wire::Outgoing> run(wire::Collective op, const wire::Header& task, std::span<const Buffer> payload);

  /// Rank 0: where the chunks of streamed arrays come from (the bridge).
  void set_chunk_source(ChunkSource source) { chunks_ = std::move(source); }
  /// Rank 0: how a streamed answer leaves (the bridge).
  void set_message_sink(MessageSink sink) { sink_ = std::move(sink); }

  /// One op in progress on this rank (engine/collective_call.hpp).
  struct Call;

private:
  std::optional<wire::Outgoing> scatter(Call& call);
  // engine/stream_scatter.cpp: a scatter whose array is not in the message: it follows in chunks
  // (streamed), or each rank copies its own part from the client (single_copy)
  std::optional<wire::Outgoing> scatter_from_client(Call& call);
  std::string feed_stream(const Call& call, const std::vector<std::uint64_t>& bytes, std::byte* own);
  void discard_stream(const std::string& stream, std::uint64_t total);
  /// The next chunk of `stream`: kept from before, or from the source (chunks of other streams
  /// that come meanwhile are kept for their turn; those of streams that ended are dropped).
  std::optional<StreamChunk> next_chunk_of(const std::string& stream);
  /// `stream` is over: what is kept of it goes, and what still comes of it will be dropped.
  void end_stream(const std::string& stream);
  // engine/stream_gather.cpp: one world's gather, its array streamed back
  std::optional<wire::Outgoing> gather_streamed(Call& call, const collective::Verdict& v,
                                                const std::vector<collective::Holding>& held, const std::string& name);
  // engine/single_copy.cpp: the array copied straight from / into the client's memory
  std::optional<wire::Outgoing> push_single_copy(Call& call);
  std::optional<wire::Outgoing> gather_single_copy(Call& call, const collective::Verdict& v,
                                                   const std::vector<collective::Holding>& held,
                                                   const std::string& name);
  std::optional<wire::Outgoing> gather(Call& call);
  std::optional<wire::Outgoing> push(Call& call);
  std::optional<wire::Outgoing> reduce(Call& call);
  std::optional<wire::Outgoing> save_h5(Call& call);
  std::optional<wire::Outgoing> load_h5(Call& call);

  /// The communicator of exactly these world ranks (cached; the world's own for all of them).
  MPI_Comm comm_for(const std::vector<int>& ranks);

  MPI_Comm data_;
  const EngineIdentity& id_;
  Namespace& ns_;
  int world_size_ = 1;
  std::map<std::vector<int>, MPI_Comm> subcomms_;
  ChunkSource chunks_;
  std::map<std::string, std::deque<StreamChunk>> kept_chunks_;  ///< other streams' chunks, for their turn
  std::deque<std::string> ended_streams_;                       ///< the last few that ended
  MessageSink sink_;
};

}  // namespace crew::detail
