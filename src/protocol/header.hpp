#pragma once
// The header of every crew message, and the kinds of message.
//
// A message is a header plus a body Value (with its out-of-band frames). Headers are serialized
// with cereal (protocol/archive.hpp). The bodies of registration and of the hub's queries are
// cereal structs too (protocol/registration.hpp, protocol/hub_queries.hpp, read by
// protocol/typed_body.hpp); a task's body is its arguments, a Value.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "common/internal_api.hpp"
#include "crew/buffer.hpp"
#include "crew/error.hpp"
#include "protocol/collective.hpp"

namespace crew::wire {

/// Protocol identifier, the delimiter frame of every message; bump on incompatible changes.
/// crew/1: before typed task kinds; crew/2: registration, hello and hub query bodies were dicts;
/// crew/4: before live output; crew/5: before seals (protocol/seal.hpp).
inline constexpr std::string_view protocol_id = "crew/6";

enum class MsgKind : std::uint8_t {
  // client <-> controller
  hello = 1,         ///< client -> controller: first contact (body: wire::NoFields); reply hello_reply
  hello_reply,       ///< body: wire::HelloReply (protocol/hub_queries.hpp)
  engines_request,   ///< body: wire::EnginesRequest (protocol/hub_queries.hpp): reply when its
                     ///< wait_for engines are alive or its wait_ms pass
  engines_reply,     ///< body: wire::EnginesReply
  direct_task,       ///< client -> controller -> bridge -> rank: a function on exactly its targets;
                     ///< targets + msg_ids + function; body: list of arguments. The controller
                     ///< forwards it as it came when all its targets are in one world, else one per world
  apply_reply,       ///< one per (task, engine): engine_id, status, times, out/err; body: result
  stats_request,     ///< no body; reply stats_reply
  stats_reply,       ///< body: a dict {counter: n} (protocol/hub_queries.hpp says why a dict)
  shutdown_request,  ///< no body; the controller stops its worlds, answers shutdown_reply once they
                     ///< are gone, and exits
  shutdown_reply,
  request_error,     ///< a request the controller could not serve; error set
  balanced_request,  ///< one load-balanced task: msg_ids {id}, targets the engines it may use
                     ///< (empty: any), function; balance set; body: list of arguments
  queue_request,     ///< body: wire::NoFields; reply queue_reply, body: wire::QueueReply
  queue_reply,
  result_request,  ///< body: wire::ResultRequest; reply result_reply, body: wire::ResultReply;
                   ///< with resend, the stored replies follow (and pending ones when they come)
  result_reply,
  abort_request,  ///< body: wire::AbortRequest; reply abort_reply, body: wire::AbortReply (or error set)
  abort_reply,
  stream_chunk,        ///< client -> controller -> bridge: stream set (offset), msg_ids {the stream's task};
                       ///< one frame of the array's bytes, no body (protocol/stream.hpp)
  collective_request,  ///< a collective over targets + msg_ids: collective set (function names it
                       ///< for messages); body: its arguments. The controller splits it per world
  history_request,     ///< body: wire::HistoryRequest (protocol/hub_queries.hpp); reply history_reply,
  history_reply,       ///< body: wire::HistoryReply
  purge_request,       ///< body: wire::PurgeRequest; reply purge_reply, body: wire::PurgeReply
  purge_reply,
  restored,                ///< controller -> client, unasked: it was restored from its task database
                           ///< (body: wire::RestoredNotice); the client answers with a resume_request
  resume_request,          ///< body: wire::ResumeRequest (the tasks it still waits for); reply resume_reply,
  resume_reply,            ///< body: wire::ResumeReply (those to send again: the controller never took them)
  output_subscribe,        ///< body: wire::OutputSubscribe (every term the client follows, replacing the
                           ///< last); reply output_subscribe_reply (no body, or error set)
  output_subscribe_reply,  ///<
  output,                  ///< live output of a task: engine_id, msg_ids {its task} (none: outside any task),
                           ///< targets {world, rank}, the text in out or err; request_id = bytes lost just before
                           ///< it (an engine writing faster than it sends, a client reading slower). Bridge ->
                           ///< controller -> the clients that follow it
  output_ack,              ///< client -> controller: request_id = output bytes received so far (flow control)
  engine_status,           ///< controller -> following clients: targets the engines, function what became of
                           ///< them (registered, dead, back, stopped), out why
  // bridge (rank 0 of a world) <-> controller
  register_request = 64,  ///< body: wire::RegisterRequest (protocol/registration.hpp)
  register_reply,         ///< body: wire::RegisterReply; or error set and no body
  balanced_task,          ///< controller -> bridge: one load-balanced task for targets {engine};
                          ///< request_id its sequence number on that engine (engine/task_claims.hpp)
  heartbeat,              ///< bridge -> controller, and echoed back
  shutdown_world,         ///< controller -> bridge (and bridge -> ranks over MPI)
  goodbye,                ///< bridge -> controller (and ranks -> bridge) on the way out
  withdraw_request,       ///< controller -> bridge: give back a balanced task if it has not started;
                          ///< targets {engine}, msg_ids {id}, request_id its sequence number. Answered
                          ///< by its apply_reply (error withdrawn), or by a withdraw_reply
  withdraw_reply,         ///< bridge -> controller: msg_ids {id}; the task had started (or its engine
                          ///< cannot give tasks back): it runs to the end
  collective_task,        ///< controller -> bridge -> ranks: one world's part of a collective_request
                          ///< (collective set); targets are that world's engines
  reattach_request,       ///< bridge -> restored controller: body wire::ReattachRequest (the world as
                          ///< it registered, its place, the tasks it holds)
  reattach_reply,         ///< body: wire::RegisterReply; or error set (the world then stops)
  reply_ack,              ///< controller -> bridge: request_id = how many of the bridge's messages are
                          ///< on record (durable): the bridge keeps the rest to send again after a restore
  output_wanted,          ///< controller -> bridge: request_id 1 if some client follows live output, 0
                          ///< if none (the bridge then drops its ranks' output)
  // not a message: the first byte of a batch header (protocol/batch.hpp)
  batch = 120,
};

CREW_INTERNAL_API std::string_view kind_name(MsgKind k) noexcept;
CREW_INTERNAL_API bool kind_valid(std::uint8_t raw) noexcept;

/// Work for an engine: what a bridge hands to its ranks.
constexpr bool is_task(MsgKind k) noexcept {
  return k == MsgKind::direct_task || k == MsgKind::balanced_task || k == MsgKind::collective_task;
}
/// A kind whose header names a collective op.
constexpr bool names_collective(MsgKind k) noexcept {
  return k == MsgKind::collective_request || k == MsgKind::collective_task;
}

/// A large array that travels after its request, in stream_chunk messages, rather than inside it
/// (a scatter's data; protocol/stream.hpp). On the request: what the array is. On a chunk: where
/// its bytes go.
/// Memory in a client process on the engines' host, which the engines copy to or from themselves
/// (engine/peer_memory.hpp): scatter's and push's source, gather's landing place.
struct CREW_INTERNAL_API PeerMemory {
  std::uint64_t pid = 0;      ///< 0: none
  std::uint64_t address = 0;  ///< of this hop's first byte
  bool active() const noexcept { return pid != 0; }
};

struct CREW_INTERNAL_API StreamSpec {
  std::uint64_t bytes = 0;   ///< the array's size in bytes (0: nothing streams)
  std::uint64_t offset = 0;  ///< stream_chunk: the chunk's first byte within the array
  std::uint8_t dtype = 0;    ///< the request: the array's element type (crew::dtype)
  std::vector<std::uint64_t> shape;
  bool reply_may_stream = false;  ///< a gather task: its world may stream the joined array back
  PeerMemory peer;                ///< set: no chunks; the engines copy the array from / to there
  bool active() const noexcept { return bytes != 0; }
  bool chunked() const noexcept { return bytes != 0 && !peer.active(); }  ///< stream_chunk messages carry it
  /// How a collective's data moves (protocol/collective.hpp): what the client chose.
  Transfer transfer() const noexcept {
    return peer.active() ? Transfer::single_copy : bytes != 0 ? Transfer::streamed : Transfer::in_message;
  }
};

/// Why a task failed (code == errc::none when it did not).
struct CREW_INTERNAL_API ErrorInfo {
  errc code = errc::none;
  std::string type;  ///< e.g. "std::runtime_error", or "crew.remote.unknown_function"
  std::string message;
  std::string context;  ///< function signature, engine, host ...
  bool failed() const noexcept { return code != errc::none; }
};

/// A load-balanced task's dependency on other tasks (controller/dependency.hpp).
struct CREW_INTERNAL_API DependencySpec {
  std::vector<std::string> ids;
  bool all = true;       ///< every prerequisite (false: any one)
  bool success = true;   ///< a prerequisite that succeeded satisfies it
  bool failure = false;  ///< a prerequisite that failed satisfies it
  bool empty() const noexcept { return ids.empty(); }
  template <class Archive>
  void serialize(Archive& ar) {
    ar(ids, all, success, failure);
  }
};

/// How the load balancer treats a task (balanced_request only).
struct CREW_INTERNAL_API BalanceSpec {
  DependencySpec after;         ///< run once these are done
  DependencySpec follow;        ///< run where these ran
  std::int64_t timeout_ms = 0;  ///< fail if not handed to an engine within this (0: no limit)
  std::int32_t retries = 0;     ///< run again (elsewhere if possible) this many times after failures
  std::string requires_json;    ///< engine properties the task needs, a JSON object ("" : none)
  template <class Archive>
  void serialize(Archive& ar) {
    ar(after, follow, timeout_ms, retries, requires_json);
  }
};

/// A header's engine ids and task ids: most messages are about one task (or none), so one of
/// each lives inside the header and decoding a task's header allocates nothing for them.
using EngineIds = boost::container::small_vector<std::int32_t, 1>;
using MsgIds = boost::container::small_vector<std::string, 1>;

struct CREW_INTERNAL_API Header {
  MsgKind kind = MsgKind::hello;
  std::uint64_t request_id = 0;              ///< pairs replies with requests (non-task requests); on a balanced
                                             ///< task: its sequence number on its engine (engine/task_claims.hpp)
  EngineIds targets;                         ///< engine ids
  MsgIds msg_ids;                            ///< task ids, one per target (tasks and their requests)
  std::string function;                      ///< tasks: the function's name (a collective's, for messages)
  Collective collective = Collective::none;  ///< collective_request, collective_task: the op
  std::int32_t engine_id = -1;               ///< apply_reply: which engine ran it
  std::int64_t submitted_us = 0;             ///< client clock, µs since the epoch
  std::int64_t started_us = 0;               ///< engine clock
  std::int64_t completed_us = 0;             ///< engine clock
  ErrorInfo error;
  std::string out;      ///< captured stdout of the task
  std::string err;      ///< captured stderr of the task
  BalanceSpec balance;  ///< balanced_request only (not on the wire for other kinds)
  StreamSpec stream;    ///< one byte on the wire when nothing streams

  template <class Archive>
  void serialize(Archive& ar) {
    ar(kind, request_id, targets, msg_ids, function, engine_id, submitted_us, started_us, completed_us, error.code,
       error.type, error.message, error.context, out, err);
    if (kind == MsgKind::balanced_request) ar(balance);
    if (names_collective(kind)) ar(collective);
    std::uint8_t streams = (stream.active() || stream.peer.active() ? 1 : 0) | (stream.reply_may_stream ? 2 : 0) |
                           (stream.peer.active() ? 4 : 0);
    ar(streams);
    if (streams & 1) ar(stream.bytes, stream.offset, stream.dtype, stream.shape);
    stream.reply_may_stream = (streams & 2) != 0;
    if (streams & 4) ar(stream.peer.pid, stream.peer.address);
  }
};

/// A balanced task's sequence number on its engine (0: not a balanced task).
inline std::uint64_t balanced_seq(const Header& h) noexcept {
  return h.kind == MsgKind::balanced_task ? h.request_id : 0;
}

CREW_INTERNAL_API Buffer encode_header(const Header& h);

/// The header's bytes appended to `out`.
CREW_INTERNAL_API void encode_header_into(const Header& h, std::vector<std::byte>& out);
/// Throws ProtocolError [crew.protocol.malformed].
CREW_INTERNAL_API Header decode_header(std::span<const std::byte> bytes);

}  // namespace crew::wire
