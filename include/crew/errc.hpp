#pragma once
// crew's error codes: the one list. The enum, the "family.name" of each code, the exception type
// a code raises (crew/error.hpp) and the table in the README (`cmake --build build --target
// error-table`) all come from CREW_ERROR_CODES below.
//
// Numbers never change meaning; a new code gets a new number in its family's hundred.

#include <array>
#include <cstdint>
#include <string_view>

// X(enumerator, number, "family.name", "what it means, in one line")
#define CREW_ERROR_CODES(X)                                                                                            \
  X(none, 0, "ok.none", "no error")                                                                                    \
  /* connection.*: reaching the controller */                                                                          \
  X(no_profile, 100, "connection.no_profile", "no controller.json in the profile: no cluster is running there")        \
  X(controller_timeout, 101, "connection.timeout", "no controller answered the first request within the timeout")      \
  X(controller_gone, 102, "connection.controller_gone",                                                                \
    "controller.json names a controller process that no longer exists")                                                \
  X(client_closed, 103, "connection.client_closed", "the client was shut down while a call was waiting")               \
  X(connection_lost, 104, "connection.lost",                                                                           \
    "the controller stopped answering mid-session: a request went unanswered within the timeout")                      \
  X(controller_restarted, 105, "connection.controller_restarted",                                                      \
    "the controller died while it held the task, and restarted without its outcome")                                   \
  X(ssh_failed, 106, "connection.ssh_failed",                                                                          \
    "--ssh could not reach the controller: no ssh client, or ssh could not connect or forward")                        \
  X(refused, 107, "connection.refused",                                                                                \
    "the controller refused the connection: a CURVE key it does not admit, or security unlike the file's")             \
  /* input.*: what the caller passed in */                                                                             \
  X(bad_json, 200, "input.bad_json", "a JSON literal did not parse")                                                   \
  X(bad_targets, 201, "input.bad_targets", "a --targets / view spec did not parse")                                    \
  X(unknown_target, 202, "input.unknown_target", "an engine id that is not registered")                                \
  X(bad_option, 203, "input.bad_option", "a command-line option or API argument out of range")                         \
  X(value_type, 204, "input.value_type", "a Value holds another type than the one asked for")                          \
  X(bad_profile, 205, "input.bad_profile", "a profile name or file that cannot be used")                               \
  X(not_a_sequence, 206, "input.not_a_sequence", "scatter / gather of something that is not an array or a list")       \
  X(already_done, 207, "input.already_done", "abort of tasks that had all finished already")                           \
  X(unknown_task, 208, "input.unknown_task", "a msg_id the controller has no record of")                               \
  X(usage, 209, "input.usage", "a command line that does not parse: unknown verb or option, missing argument")         \
  X(bad_name, 210, "input.bad_name", "a variable name that is not one (letters, digits, '_'; no leading digit)")       \
  X(empty_result, 211, "input.empty_result",                                                                           \
    "a call on an AsyncResult that holds no task (default-made or moved-from)")                                        \
  /* remote.*: reported by an engine */                                                                                \
  X(unknown_function, 300, "remote.unknown_function", "no function of that name on the engine")                        \
  X(bad_arguments, 301, "remote.bad_arguments", "wrong argument count or type for the function")                       \
  X(exception, 302, "remote.exception", "the function threw")                                                          \
  X(engine_died, 303, "remote.engine_died", "the engine (its world) died while holding the task")                      \
  X(plugin_failed, 304, "remote.plugin_failed", "a plugin library could not be loaded")                                \
  X(unknown_name, 305, "remote.unknown_name", "a name missing from the engine's namespace")                            \
  X(engine_dead, 306, "remote.engine_dead", "the task targets an engine that is not alive")                            \
  X(aborted, 307, "remote.aborted", "the task was dropped before it ran (abort, shutdown)")                            \
  X(mismatch, 308, "remote.mismatch", "engines' values that cannot be combined (dtype, shape, kind)")                  \
  X(io_failed, 309, "remote.io_failed", "a file operation on the engines failed (HDF5: missing file, dataset)")        \
  /* remote.*: from the load balancer, for tasks that never reached an engine */                                       \
  X(impossible_dependency, 310, "remote.impossible_dependency",                                                        \
    "a dependency that can never be met (unknown id, follow on two engines)")                                          \
  X(dependency_failed, 311, "remote.dependency_failed",                                                                \
    "a prerequisite failed and the dependency did not allow failure")                                                  \
  X(task_timeout, 312, "remote.task_timeout", "the task was not handed to an engine within its timeout")               \
  X(no_matching_engine, 313, "remote.no_matching_engine", "no alive engine of the view meets the task's `require`")    \
  X(copy_instead, 314, "remote.copy_instead", "crew.pull_inline: an array too large to answer inline (copied)")        \
  X(withdrawn, 315, "remote.withdrawn", "a balanced task a draining world gave back unstarted (requeued)")             \
  /* protocol.*: messages on the wire */                                                                               \
  X(bad_signature, 400, "protocol.bad_signature", "missing or wrong HMAC signature")                                   \
  X(malformed, 401, "protocol.malformed", "frames that do not decode")                                                 \
  X(oversized, 402, "protocol.oversized", "a message above the size limit")                                            \
  X(unexpected, 403, "protocol.unexpected", "a well-formed message that makes no sense here")                          \
  X(replayed, 404, "protocol.replayed", "a message that came before (captured and sent again), or our own sent back")  \
  /* launch.*: starting and stopping clusters */                                                                       \
  X(launcher_not_found, 500, "launch.not_found", "mpirun (or another launcher program) is not on PATH")                \
  X(launcher_failed, 501, "launch.failed", "the launcher exited with an error")                                        \
  X(engines_not_registered, 502, "launch.engines_not_registered", "engines did not register before the deadline")      \
  X(already_running, 503, "launch.already_running", "the profile already has a running cluster")                       \
  X(not_running, 504, "launch.not_running", "there is no cluster to stop / inspect")                                   \
  X(controller_failed, 505, "launch.controller_failed", "the controller process failed to start")                      \
  X(unknown_launcher, 506, "launch.unknown_launcher", "no launcher of that name (built in, site or user)")             \
  X(bad_launcher, 507, "launch.bad_launcher", "a launcher file that does not parse or lacks a key")                    \
  X(bad_template, 508, "launch.bad_template", "a job-script template that cannot be rendered (unknown or unset name)") \
  X(job_rejected, 509, "launch.job_rejected", "the batch scheduler refused the submission")                            \
  X(job_ended, 510, "launch.job_ended", "the batch job ended before its engines registered")                           \
  X(interrupted, 511, "launch.interrupted",                                                                            \
    "a signal (Ctrl-C) ended the wait: a start is undone, submitted tasks go on")                                      \
  /* timeout.*: the caller's own deadline */                                                                           \
  X(wait_timeout, 600, "timeout.wait", "a result did not arrive within the caller's timeout (the task goes on)")       \
  /* mpi.*: MPI inside an engine's world */                                                                            \
  X(mpi_failed, 700, "mpi.failed", "an MPI routine returned an error: the message names the routine and error class")  \
  X(mpi_thread_level, 701, "mpi.thread_level", "MPI was initialised without MPI_THREAD_MULTIPLE, which engines need")  \
  /* hub.*: the controller's records */                                                                                \
  X(db_failed, 800, "hub.db_failed", "the task database (SQLite) could not be opened, read or written")                \
  /* internal.* */                                                                                                     \
  X(internal, 900, "internal.bug", "a bug in crew: please report it with the log")

namespace crew {

/// Stable error codes (the list above; the numbers never change meaning).
enum class errc : std::uint16_t {
#define CREW_ERRC_ENUMERATOR(id, number, name, meaning) id = number,
  CREW_ERROR_CODES(CREW_ERRC_ENUMERATOR)
#undef CREW_ERRC_ENUMERATOR
};

/// One row of the list: the code, its "family.name" and what it means.
struct ErrcInfo {
  errc code;
  std::string_view name;
  std::string_view meaning;
};

/// Every code, in the list's order.
inline constexpr std::array error_codes{
#define CREW_ERRC_INFO(id, number, name, meaning) ErrcInfo{errc::id, name, meaning},
    CREW_ERROR_CODES(CREW_ERRC_INFO)
#undef CREW_ERRC_INFO
};

/// "family.name" of a code, e.g. "remote.unknown_function" ("internal.unknown_code" if none).
constexpr std::string_view errc_name(errc code) noexcept {
  for (const auto& entry : error_codes)
    if (entry.code == code) return entry.name;
  return "internal.unknown_code";
}

/// The family of a code: "remote" for remote.unknown_function.
constexpr std::string_view errc_family(errc code) noexcept {
  const std::string_view name = errc_name(code);
  return name.substr(0, name.find('.'));
}

/// The code named "family.name", or errc::none.
constexpr errc errc_from_name(std::string_view name) noexcept {
  for (const auto& entry : error_codes)
    if (entry.name == name) return entry.code;
  return errc::none;
}

}  // namespace crew
