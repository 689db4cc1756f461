#pragma once
// A client's questions to the hub and their answers, as typed bodies (protocol/typed_body.hpp):
// hello_reply, engines_request/engines_reply, queue_reply, result_request/result_reply,
// history_request/history_reply, purge_request/purge_reply and abort_request/abort_reply. (hello and queue_request
// carry NoFields.) stats_reply stays a dict {counter: n} on purpose: it is what Client::controller_stats() and `crew
// cluster status` show, the set of counters grows with the controller, and readers (the hostile-peer tests among them)
// take every counter by its name, so a new counter needs no change on the reading side.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "common/internal_api.hpp"

namespace crew::wire {

/// The body of a request that asks nothing beyond its kind (queue_request): no bytes at all.
struct CREW_INTERNAL_API NoFields {
  template <class Archive>
  void serialize(Archive& /*ar*/) {}
};

/// hello_reply: the controller a client has reached.
struct CREW_INTERNAL_API HelloReply {
  std::string crew_version;
  std::string profile;
  std::int64_t pid = 0;
  std::int32_t engines = 0;             ///< alive now
  std::string session;                  ///< this client's msg ids start with it and a dash: short, and unique
                                        ///< for the controller's life
  std::uint64_t max_message_bytes = 0;  ///< the largest request the controller takes
  /// It keeps task records (--db sqlite): if it dies, a restored one tells the client (restored),
  /// and takes again what the client sends again; the client keeps its requests until answered.
  bool restorable = false;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(crew_version), CEREAL_NVP(profile), CEREAL_NVP(pid), CEREAL_NVP(engines), CEREAL_NVP(session),
       CEREAL_NVP(max_message_bytes), CEREAL_NVP(restorable));
  }
  std::string problem() const { return session.empty() ? "field session is empty" : std::string(); }
};

/// restored: the controller that died is back (--restore), with every world that came back.
struct CREW_INTERNAL_API RestoredNotice {
  std::int64_t pid = 0;  ///< the restored controller's
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(pid));
  }
};

/// resume_request: the client's tasks still unanswered, which it can send again.
struct CREW_INTERNAL_API ResumeRequest {
  std::vector<std::string> msg_ids;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(msg_ids));
  }
};

/// resume_reply: those the controller has no record of (it never took them, or took them too
/// shortly before it died to have written them): the client sends them again, and they run once.
/// The answers of the others come as usual (again, for those answered before: the client takes
/// each answer once).
struct CREW_INTERNAL_API ResumeReply {
  std::vector<std::string> resend;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(resend));
  }
};

/// engines_request: answer when `wait_for` engines are alive or `wait_ms` passed (0, 0: at once).
struct CREW_INTERNAL_API EnginesRequest {
  std::int32_t wait_for = 0;
  std::int64_t wait_ms = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(wait_for), CEREAL_NVP(wait_ms));
  }
  std::string problem() const {
    if (wait_for < 0) return "field wait_for is " + std::to_string(wait_for) + ": a number of engines is >= 0";
    if (wait_ms < 0) return "field wait_ms is " + std::to_string(wait_ms) + ": a wait is >= 0 ms";
    return {};
  }
};

/// One engine, as engines_reply lists it (crew::EngineInfo on the client).
struct CREW_INTERNAL_API EngineEntry {
  std::int32_t id = -1;
  std::string host;
  std::int64_t pid = 0;
  std::int32_t rank = 0;
  std::int32_t world = -1;
  std::int32_t world_size = 0;
  std::string state;       ///< "alive", "dead" or "stopped"
  std::int32_t tasks = 0;  ///< in flight
  std::int64_t completed = 0;
  std::string properties;  ///< a JSON object
  std::string launcher;    ///< of its world's job ("" if the world did not say)
  std::string job_id;
  std::int64_t job_end = 0;  ///< Unix seconds (0: unknown)
  bool draining = false;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(id), CEREAL_NVP(host), CEREAL_NVP(pid), CEREAL_NVP(rank), CEREAL_NVP(world), CEREAL_NVP(world_size),
       CEREAL_NVP(state), CEREAL_NVP(tasks), CEREAL_NVP(completed), CEREAL_NVP(properties), CEREAL_NVP(launcher),
       CEREAL_NVP(job_id), CEREAL_NVP(job_end), CEREAL_NVP(draining));
  }
};

struct CREW_INTERNAL_API EnginesReply {
  std::vector<EngineEntry> engines;  ///< every engine that ever registered, in id order
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(engines));
  }
};

/// queue_reply (crew::QueueStatus on the client).
struct CREW_INTERNAL_API QueueReply {
  struct Engine {
    std::int32_t id = -1;
    std::int32_t world = -1;
    std::string state;
    std::int32_t queue = 0;  ///< tasks in flight on it
    std::int64_t completed = 0;
    std::int32_t depth = 0;  ///< balanced tasks it may hold now
    template <class Archive>
    void serialize(Archive& ar) {
      ar(CEREAL_NVP(id), CEREAL_NVP(world), CEREAL_NVP(state), CEREAL_NVP(queue), CEREAL_NVP(completed),
         CEREAL_NVP(depth));
    }
  };
  std::vector<Engine> engines;
  std::int64_t unassigned = 0;  ///< balanced tasks ready, waiting for an engine with room
  std::int64_t waiting = 0;     ///< balanced tasks waiting for their dependencies
  std::string scheme;
  std::int32_t hwm = 0;
  std::int64_t submitted = 0, completed = 0, failed = 0, retried = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(engines), CEREAL_NVP(unassigned), CEREAL_NVP(waiting), CEREAL_NVP(scheme), CEREAL_NVP(hwm),
       CEREAL_NVP(submitted), CEREAL_NVP(completed), CEREAL_NVP(failed), CEREAL_NVP(retried));
  }
};

/// result_request: where these tasks stand; with `resend`, their stored replies follow.
struct CREW_INTERNAL_API ResultRequest {
  std::vector<std::string> msg_ids;
  bool resend = false;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(msg_ids), CEREAL_NVP(resend));
  }
};

struct CREW_INTERNAL_API ResultReply {
  std::vector<std::string> pending, completed, failed, unknown;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(pending), CEREAL_NVP(completed), CEREAL_NVP(failed), CEREAL_NVP(unknown));
  }
};

/// What a history entry's task came to.
enum class TaskState : std::uint8_t { pending, ok, failed };
/// Their names, by value: what users write and read (crew history --status, TaskSummary::status).
inline constexpr std::array<std::string_view, 3> task_state_names{"pending", "ok", "failed"};

/// history_request: the tasks the controller has records of, oldest first, those that match.
struct CREW_INTERNAL_API HistoryRequest {
  std::int64_t since_us = 0;            ///< submitted at or after (Unix us; 0: any time)
  std::vector<std::uint8_t> only{};     ///< TaskStates to list (empty: all)
  std::vector<std::int32_t> engines{};  ///< ran (or runs, or is queued) on one of these (empty: any)
  std::uint64_t last = 0;               ///< only the newest `last` of those that match (0: all)
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(since_us), CEREAL_NVP(only), CEREAL_NVP(engines), CEREAL_NVP(last));
  }
  std::string problem() const {
    for (auto s : only)
      if (s > static_cast<std::uint8_t>(TaskState::failed))
        return "field only holds " + std::to_string(s) + ": a task state is 0 (pending), 1 (ok) or 2 (failed)";
    return {};
  }
};

/// One task as history_reply lists it (crew::TaskSummary on the client).
struct CREW_INTERNAL_API HistoryEntry {
  std::string msg_id;
  std::string function;
  std::int32_t engine = -1;  ///< where it ran or runs (-1: no engine yet, or none ever)
  std::uint8_t state = 0;    ///< a TaskState
  std::string error;         ///< failed: the error's type, e.g. "crew.remote.aborted"
  std::int64_t submitted_us = 0, started_us = 0, completed_us = 0;  ///< Unix us (0: not yet)
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(msg_id), CEREAL_NVP(function), CEREAL_NVP(engine), CEREAL_NVP(state), CEREAL_NVP(error),
       CEREAL_NVP(submitted_us), CEREAL_NVP(started_us), CEREAL_NVP(completed_us));
  }
};

struct CREW_INTERNAL_API HistoryReply {
  std::vector<HistoryEntry> tasks;  ///< oldest first
  std::uint64_t matched = 0;        ///< how many matched, before `last` cut them
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(tasks), CEREAL_NVP(matched));
  }
};

/// purge_request: forget finished tasks, their records and results: these ids, or all, or those
/// submitted before a time. Pending tasks are never purged.
struct CREW_INTERNAL_API PurgeRequest {
  std::vector<std::string> msg_ids;
  bool all = false;
  std::int64_t before_us = 0;  ///< Unix us (0: no time bound)
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(msg_ids), CEREAL_NVP(all), CEREAL_NVP(before_us));
  }
  std::string problem() const {
    const int ways = (msg_ids.empty() ? 0 : 1) + (all ? 1 : 0) + (before_us != 0 ? 1 : 0);
    return ways == 1 ? std::string() : "name exactly one of msg_ids, all and before_us";
  }
};

struct CREW_INTERNAL_API PurgeReply {
  std::uint64_t purged = 0;          ///< records forgotten
  std::uint64_t bytes = 0;           ///< result bytes given back
  std::vector<std::string> pending;  ///< named, but not finished: kept
  std::vector<std::string> unknown;  ///< named, but no record (mistyped, or purged before)
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(purged), CEREAL_NVP(bytes), CEREAL_NVP(pending), CEREAL_NVP(unknown));
  }
};

/// abort_request: abort these balanced tasks if they have not started.
struct CREW_INTERNAL_API AbortRequest {
  std::vector<std::string> msg_ids;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(msg_ids));
  }
};

/// abort_reply (unless its header carries an error).
struct CREW_INTERNAL_API AbortReply {
  std::vector<std::string> aborted, done, running;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(aborted), CEREAL_NVP(done), CEREAL_NVP(running));
  }
};

}  // namespace crew::wire
