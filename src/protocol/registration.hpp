#pragma once
// Registration: a world's rank 0 (its bridge) introduces the world to the controller
// (register_request), and the controller answers with the world's place (register_reply).
// Both bodies are typed (protocol/typed_body.hpp).

#include <cstdint>
#include <string>
#include <vector>

#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "common/internal_api.hpp"

namespace crew::wire {

/// The batch job a world runs in, as its job script exported it (CREW_LAUNCHER, CREW_JOB_ID,
/// CREW_JOB_END_TIME).
struct CREW_INTERNAL_API JobInfo {
  std::string launcher;       ///< "slurm", "local", ...
  std::string id;             ///< "": the world runs in no job crew knows of
  std::int64_t end_time = 0;  ///< Unix seconds when the job is killed (0: unknown)
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(launcher), CEREAL_NVP(id), CEREAL_NVP(end_time));
  }
};

/// register_request: the world, one entry per rank in each list.
struct CREW_INTERNAL_API RegisterRequest {
  std::int32_t size = 0;                ///< ranks in the world
  std::vector<std::string> hosts;       ///< per rank
  std::vector<std::int64_t> pids;       ///< per rank
  std::vector<std::string> properties;  ///< per rank: its engine properties, a JSON object
  std::string crew_version;             ///< of the engines
  JobInfo job;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(size), CEREAL_NVP(hosts), CEREAL_NVP(pids), CEREAL_NVP(properties), CEREAL_NVP(crew_version),
       CEREAL_NVP(job));
  }
  /// What does not fit together ("" when nothing): a world has at least one rank, and every
  /// list has one entry per rank.
  std::string problem() const;
};

/// register_reply (unless its header carries an error): where the world's engines are.
struct CREW_INTERNAL_API RegisterReply {
  std::int32_t world = -1;
  std::int32_t first_engine = -1;   ///< engine id of rank 0; rank r is first_engine + r
  std::int32_t heartbeat_ms = 0;    ///< how often the bridge beats
  std::int64_t drain_margin_s = 0;  ///< a world whose job ends within this takes no new balanced tasks
  /// This run of the controller (random, never 0): its heartbeat echoes carry it, so a bridge
  /// whose controller was restored (another incarnation) knows to reattach.
  std::uint64_t incarnation = 0;
  /// The controller keeps task records that survive it (--db sqlite): a bridge that stops hearing
  /// from it keeps its world running, waiting up to orphan_timeout_s for a restored controller.
  bool restorable = false;
  std::int64_t orphan_timeout_s = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(world), CEREAL_NVP(first_engine), CEREAL_NVP(heartbeat_ms), CEREAL_NVP(drain_margin_s),
       CEREAL_NVP(incarnation), CEREAL_NVP(restorable), CEREAL_NVP(orphan_timeout_s));
  }
  std::string problem() const;
};

/// A task a world holds (given to one of its engines, not answered yet), as a reattach reports it.
struct CREW_INTERNAL_API HeldTask {
  std::string msg_id;
  std::int32_t engine = -1;
  std::uint64_t balanced_seq = 0;  ///< its number on that engine if load-balanced (0: a direct task)
  std::string function;
  std::int64_t submitted_us = 0;  ///< when its client submitted it
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(msg_id), CEREAL_NVP(engine), CEREAL_NVP(balanced_seq), CEREAL_NVP(function),
       CEREAL_NVP(submitted_us));
  }
};

/// reattach_request: a world whose controller died comes back to the restored one, in the place
/// it had (same world id, same engine ids), with the tasks it still holds.
struct CREW_INTERNAL_API ReattachRequest {
  RegisterRequest world;
  std::int32_t world_id = -1;
  std::int32_t first_engine = -1;
  std::uint64_t old_incarnation = 0;
  std::vector<HeldTask> held;
  /// Per rank: the number of the last balanced task it was given (0: none).
  std::vector<std::uint64_t> last_balanced_seq;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(world), CEREAL_NVP(world_id), CEREAL_NVP(first_engine), CEREAL_NVP(old_incarnation), CEREAL_NVP(held),
       CEREAL_NVP(last_balanced_seq));
  }
  std::string problem() const;
};

}  // namespace crew::wire
