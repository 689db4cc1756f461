#pragma once
// Collective operations: work that all the targeted engines of a world do together, with MPI
// collectives inside the world (DESIGN §5). A client asks for one in a collective_request, the
// op in its header (protocol/header.hpp); the controller splits and joins it per world, one
// collective_task each, and the bridge hands that to every participant (the targeted ranks, plus
// rank 0, which holds the world's data and is the root of every collective). Users name the ops
// by the reserved function names below ("crew.scatter"); the client turns a name into the op.
//
// Replies: scatter, push, save_h5 and load_h5 answer per targeted engine, like any task; gather
// and reduce answer once per world, from rank 0, one reply naming all the world's msg_ids.

#include <string_view>

#include "common/internal_api.hpp"

namespace crew::wire {

enum class Collective : unsigned char { none, scatter, gather, push, reduce, save_h5, load_h5 };

/// The op a user's function name asks for ("crew.scatter" -> scatter), or none: the client's
/// lookup when it builds a request; past the client, messages carry the op itself.
CREW_INTERNAL_API Collective collective_of(std::string_view function) noexcept;
/// The reserved function name of an op.
CREW_INTERNAL_API std::string_view collective_function(Collective c) noexcept;

/// gather and reduce: rank 0 answers once for the whole world.
constexpr bool answers_once_per_world(Collective c) noexcept {
  return c == Collective::gather || c == Collective::reduce;
}
/// Ops whose second argument is bulk data that only rank 0 needs (the bridge strips it for others).
constexpr bool carries_data(Collective c) noexcept { return c == Collective::scatter || c == Collective::push; }
/// save_h5: worlds take turns (one file, written by one MPI job at a time).
constexpr bool worlds_take_turns(Collective c) noexcept { return c == Collective::save_h5; }

/// How a collective's bulk data moves between the client and a world. Inside the world it always
/// moves by MPI (scatterv, gatherv, bcast, reduce) from or to rank 0, or, for single_copy, each
/// rank moves its own part. The client picks one per request (client/client.cpp: large arrays go
/// outside the message, copied when the engines share its host); the request says which in its
/// stream (StreamSpec::transfer, protocol/header.hpp); the controller refuses what the op cannot
/// do (allows, below); every rank then runs the op's plan for it (engine/collectives.cpp: run).
enum class Transfer : unsigned char {
  in_message,   ///< the data is in the request (scatter, push) or in the reply (gather, reduce);
                ///< a one-world gather's large result may still stream back in chunks (rank 0's
                ///< choice, when the controller allows it: StreamSpec::reply_may_stream)
  streamed,     ///< the data follows the request in stream_chunk messages (scatter)
  single_copy,  ///< the engines copy from or into the client's memory on their host
};

/// Whether `op` can move its data by `t`.
constexpr bool allows(Collective op, Transfer t) noexcept {
  switch (t) {
  case Transfer::in_message: return true;
  case Transfer::streamed: return op == Collective::scatter;
  case Transfer::single_copy:
    return op == Collective::scatter || op == Collective::push || op == Collective::gather || op == Collective::reduce;
  }
  return false;
}

/// "streamed", for messages.
constexpr std::string_view transfer_name(Transfer t) noexcept {
  switch (t) {
  case Transfer::in_message: return "in the message";
  case Transfer::streamed: return "streamed";
  case Transfer::single_copy: return "copied with the client";
  }
  return "?";
}

}  // namespace crew::wire
