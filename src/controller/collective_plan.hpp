#pragma once
// How the controller splits a collective request (protocol/collective.hpp) over the worlds of
// its targets: each world gets one message naming only its own engines; scatter's sequence is
// cut into contiguous parts (the seeds' partition over all targets, in engine-id order), and
// load_h5 / save_h5 learn where their world's rows sit in the whole.

#include <optional>
#include <string>
#include <vector>

#include "crew/value.hpp"
#include "protocol/collective.hpp"
#include "protocol/header.hpp"

namespace crew::controller {

struct WorldShare {
  int world = -1;
  std::vector<int> targets;  ///< engine ids, ascending
  std::vector<std::string> msg_ids;
  std::optional<Value> body;       ///< the world's arguments; nullopt: the request's own, unchanged
  wire::StreamSpec stream;         ///< a streamed scatter: the world's part of the array
  std::uint64_t stream_begin = 0;  ///< where that part starts in the whole array
};

/// `targets` (ascending, all alive) with their msg_ids and worlds; `args` the decoded request
/// arguments (needed for scatter over several worlds, load_h5 and save_h5; `decode_args` says
/// whether they are). Throws InputError for bad arguments (not a sequence, wrong argument
/// count), naming what was expected.
/// A streamed scatter (`stream` active) is split by the array's description: each world gets
/// its rows' bytes as a stream of its own.
std::vector<WorldShare> split_by_world(wire::Collective op, const std::vector<int>& targets,
                                       const std::vector<std::string>& msg_ids, const std::vector<int>& worlds,
                                       const Value& args, const wire::StreamSpec& stream = {});

/// Whether split_by_world needs the request's arguments decoded (a single world's scatter does
/// not: its bulk data passes through untouched).
bool needs_args(wire::Collective op, const std::vector<int>& worlds);

}  // namespace crew::controller
