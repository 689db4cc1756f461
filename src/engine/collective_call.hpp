#pragma once
// One collective operation in progress on one rank, and the helpers every op shares
// (engine/collectives.cpp, engine/h5_collectives.cpp).

#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/internal_api.hpp"
#include "crew/error.hpp"
#include "crew/reduce_op.hpp"
#include "crew/value.hpp"
#include "engine/collectives.hpp"

namespace crew::detail {

struct Collectives::Call {
  wire::Collective op = wire::Collective::none;
  const wire::Header* task = nullptr;
  Value args;                  ///< the task's arguments (bulk data only on the root)
  std::vector<int> ranks;      ///< participants: world ranks, ascending, 0 (the root) first
  std::vector<int> target_of;  ///< per participant: its index in task->targets, or -1
  MPI_Comm comm = MPI_COMM_NULL;
  int me = 0;            ///< my index among the participants
  int first_engine = 0;  ///< engine id of world rank 0
  std::int64_t started_us = 0;

  bool root() const noexcept { return me == 0; }
  int my_target() const noexcept { return target_of[static_cast<std::size_t>(me)]; }
  bool is_target() const noexcept { return my_target() >= 0; }
  int participants() const noexcept { return static_cast<int>(ranks.size()); }
  int engine_of(int participant) const noexcept { return first_engine + ranks[static_cast<std::size_t>(participant)]; }
  const std::string& function() const noexcept { return task->function; }
};

namespace collective {

/// How the participants move the data, when the root found nothing wrong: each op sets the
/// fields it uses, and every participant reads them after share_verdict.
struct CREW_INTERNAL_API Plan {
  std::vector<std::uint64_t> bytes;  ///< scatter, gather: each participant's part, in bytes
  std::vector<std::uint64_t> rows;   ///< scatter, save_h5: each participant's rows
  std::vector<std::uint64_t> shape;  ///< scatter, save_h5: the array's shape after the first axis;
                                     ///< reduce: the result's whole shape
  std::optional<dtype> type;         ///< the array's element type (scatter: none for a list)
  bool list = false;                 ///< gather: the parts are lists, which travel encoded
  bool stream = false;               ///< gather: the joined array streams back (engine/stream_gather.cpp)
  bool single_copy = false;          ///< gather: each target writes its part into the client
  bool scalar = false;               ///< reduce: of numbers, not arrays
  op reduce_op = op::sum;            ///< reduce
  std::string name;                  ///< push by single copy: where it lands (the root has the arguments)
  template <class Archive>
  void serialize(Archive& ar) {
    ar(bytes, rows, shape, type, list, stream, single_copy, scalar, reduce_op, name);
  }
};

/// What the root decided, broadcast to every participant before bulk data moves.
struct CREW_INTERNAL_API Verdict {
  errc code = errc::none;
  std::string message;
  Plan info;  ///< when ok
  bool ok() const noexcept { return code == errc::none; }
  template <class Archive>
  void serialize(Archive& ar) {
    ar(code, message, info);
  }
};

/// What one participant holds under the op's name, gathered at the root before it decides
/// (describe_array, and the gather's and reduce's own descriptions in engine/collectives.cpp).
struct CREW_INTERNAL_API Holding {
  enum class Status : std::uint8_t { none, missing, not_array, not_sequence, ok };
  enum class Kind : std::uint8_t { array, list, integer, real };
  Status status = Status::none;  ///< none: this participant is not a target
  Kind kind = Kind::array;       ///< status ok: an array (or, for reduce and save_h5, a list that is one)
  std::string what;              ///< "float64[3,2]", or what it is instead and why that is no array
  dtype type = dtype::float64;
  std::vector<std::uint64_t> shape;
  bool widens = false;      ///< int64 data that also fits a float64 array (values/array_like.hpp)
  bool from_list = false;   ///< the array is a list's
  std::uint64_t bytes = 0;  ///< gather: this part's size (a list's, encoded)
  bool ok() const noexcept { return status == Status::ok; }
  template <class Archive>
  void serialize(Archive& ar) {
    ar(status, kind, what, type, shape, widens, from_list, bytes);
  }
};

/// Root: sends `v`; others: receive it. Same value everywhere afterwards.
CREW_INTERNAL_API Verdict share_verdict(const Collectives::Call& call, Verdict v);
/// Every participant's holding, in participant order, at the root (empty elsewhere).
CREW_INTERNAL_API std::vector<Holding> gather_holdings(const Collectives::Call& call, const Holding& mine);
/// Every participant's text, in participant order, at the root (empty elsewhere).
CREW_INTERNAL_API std::vector<std::string> gather_texts(const Collectives::Call& call, const std::string& mine);

/// The reply for this rank's own target (nullopt if this rank is not a target).
CREW_INTERNAL_API std::optional<wire::Outgoing> own_reply(const Collectives::Call& call, const Verdict& verdict,
                                                          const Value& result = Value());
/// The root's one reply for all the world's targets (gather, reduce); `streamed`: the result
/// follows in chunks (protocol/stream.hpp).
CREW_INTERNAL_API wire::Outgoing world_reply(const Collectives::Call& call, const Verdict& verdict,
                                             const Value& result = Value(), const wire::StreamSpec& streamed = {});

/// Flat bytes of a value (everything inline) and back.
CREW_INTERNAL_API std::vector<std::byte> to_blob(const Value& v);
CREW_INTERNAL_API Value from_blob(std::span<const std::byte> blob);

/// scatter: each target's rows of a `length`-row sequence, in target order: the counts the
/// controller gave (args[2]) or else the seeds' partition over the task's targets. Throws
/// Error [bad_arguments] if the counts do not add up.
CREW_INTERNAL_API std::vector<std::uint64_t> target_rows(const Collectives::Call& call, const Value& args,
                                                         std::uint64_t length);

/// gather: the joined array's dtype and shape (the first target's, with every target's rows),
/// from the participants' holdings.
CREW_INTERNAL_API std::pair<dtype, std::vector<std::uint64_t>> joined_shape(const Collectives::Call& call,
                                                                            const std::vector<Holding>& held);

/// Single copy with the client (engine/single_copy.cpp): every participant's failure ("" for
/// none) gathered at the root, as one verdict for all.
CREW_INTERNAL_API Verdict all_copied(const Collectives::Call& call, const std::string& mine, const char* what);
/// This participant's part (`bytes`, in participant order, are all the parts: each starts after
/// the ones before it) copied from / to the client's memory the task names; then all_copied.
CREW_INTERNAL_API Verdict copy_from_peer(const Collectives::Call& call, const std::vector<std::uint64_t>& bytes,
                                         std::byte* out);
CREW_INTERNAL_API Verdict copy_to_peer(const Collectives::Call& call, const std::vector<std::uint64_t>& bytes,
                                       const std::byte* in);

/// "engines 2, 5" / "engine 3".
CREW_INTERNAL_API std::string engines_text(const std::vector<int>& engines);

/// What one engine holds under a name that must be an array (reduce, save_h5), for the root:
/// missing, not_array, or ok. A list counts as the array numpy.array would make of it
/// (values/array_like.hpp).
CREW_INTERNAL_API Holding describe_array(const Value* held);
/// Root: the one dtype the participants' arrays (status ok) take, after they agreed (int64 data,
/// arrays or lists of ints, takes float64 beside float64 parts; an empty list any dtype), and their
/// shape (whole, or `trailing`: all but the first axis; an empty list fits any). When they do not
/// agree, `groups` has each distinct holding with its engines, in engine order:
/// {"float64[3,2] (engine 0)", "float64[2,2] (engines 1, 2)"}.
struct CREW_INTERNAL_API Agreement {
  dtype type = dtype::float64;
  std::vector<std::uint64_t> shape;  ///< whole, or trailing
  std::vector<std::string> groups;   ///< empty: they agree
  bool ok() const noexcept { return groups.empty(); }
};
CREW_INTERNAL_API Agreement agree(const Collectives::Call& call, const std::vector<Holding>& held, bool trailing);
/// This rank's array for the op, as the verdict's dtype: the held array itself, or the held list
/// converted.
CREW_INTERNAL_API Array held_array(const Value& held, dtype as);

/// A zero-initialised-free buffer of `n` bytes, as the Buffer that will own it.
struct CREW_INTERNAL_API Allocation {
  std::byte* data = nullptr;
  Buffer buffer;
};
CREW_INTERNAL_API Allocation allocate(std::size_t n);

}  // namespace collective
}  // namespace crew::detail
