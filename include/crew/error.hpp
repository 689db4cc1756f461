#pragma once
// crew's error taxonomy: stable codes (`errc`) and the exceptions thrown at the API edge.
//
// Every message reads "[crew.<family>.<name>] what happened; what to do", so users can search
// for the code and tests can match codes instead of prose.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "crew/export.hpp"

namespace crew {

/// Stable error codes. The numbers never change meaning; new codes get new numbers.
enum class errc : std::uint16_t {
  none = 0,
  // connection.*: reaching the controller
  no_profile = 100,          ///< no controller.json in the profile: no cluster is running there
  controller_timeout = 101,  ///< the controller did not answer within the timeout
  controller_gone = 102,     ///< controller.json names a controller process that no longer exists
  client_closed = 103,       ///< the client was shut down while a call was waiting
  // input.*: what the caller passed in
  bad_json = 200,        ///< a JSON literal did not parse
  bad_targets = 201,     ///< a --targets / view spec did not parse
  unknown_target = 202,  ///< an engine id that is not registered
  bad_option = 203,      ///< a command-line option or API argument out of range
  value_type = 204,      ///< a Value holds another type than the one asked for
  bad_profile = 205,     ///< a profile name or file that cannot be used
  not_a_sequence = 206,  ///< scatter / gather of something that is not an array or a list
  already_done = 207,    ///< abort of tasks that had all finished already
  unknown_task = 208,    ///< a msg_id the controller has no record of
  usage = 209,           ///< a command line that does not parse: unknown verb or option, missing argument
  bad_name = 210,        ///< a variable name that is not one (letters, digits, '_'; not starting with a digit)
  // remote.*: reported by an engine
  unknown_function = 300,  ///< no function of that name on the engine
  bad_arguments = 301,     ///< wrong argument count or type for the function
  exception = 302,         ///< the function threw
  engine_died = 303,       ///< the engine (its world) died while holding the task
  plugin_failed = 304,     ///< a plugin library could not be loaded
  unknown_name = 305,      ///< a name missing from the engine's namespace
  engine_dead = 306,       ///< the task targets an engine that is not alive
  aborted = 307,           ///< the task was dropped before it ran (shutdown, abort)
  mismatch = 308,          ///< engines' values that cannot be combined (dtype, shape, kind)
  io_failed = 309,         ///< a file operation on the engines failed (HDF5: missing file, dataset)
  // remote.*: from the load balancer, for tasks that never reached an engine
  impossible_dependency = 310,  ///< a dependency that can never be met (unknown id, follow on two engines)
  dependency_failed = 311,      ///< a prerequisite failed and the dependency did not allow failure
  task_timeout = 312,           ///< the task was not handed to an engine within its timeout
  no_matching_engine = 313,     ///< no alive engine of the view meets the task's `requires`
  copy_instead = 314,           ///< crew.pull_inline: an array too large to answer inline (the client copies it)
  withdrawn = 315,              ///< a balanced task a draining world gave back unstarted (the controller requeues it)
  // protocol.*: messages on the wire
  bad_signature = 400,  ///< missing or wrong HMAC signature
  malformed = 401,      ///< frames that do not decode
  oversized = 402,      ///< a message above the size limit
  unexpected = 403,     ///< a well-formed message that makes no sense here
  // launch.*: starting and stopping clusters
  launcher_not_found = 500,      ///< mpirun (or another launcher program) is not on PATH
  launcher_failed = 501,         ///< the launcher exited with an error
  engines_not_registered = 502,  ///< engines did not register before the deadline
  already_running = 503,         ///< the profile already has a running cluster
  not_running = 504,             ///< there is no cluster to stop / inspect
  controller_failed = 505,       ///< the controller process failed to start
  unknown_launcher = 506,        ///< no launcher of that name (built in, site or user)
  bad_launcher = 507,            ///< a launcher file that does not parse or lacks a key
  bad_template = 508,            ///< a job-script template that cannot be rendered (unknown or unset variable)
  job_rejected = 509,            ///< the batch scheduler refused the submission
  job_ended = 510,               ///< the batch job ended before its engines registered
  interrupted = 511,             ///< a signal (Ctrl-C) ended the wait; what was started is stopped
  // timeout.*
  wait_timeout = 600,  ///< a result did not arrive within the caller's timeout
  // internal.*
  internal = 900,  ///< a bug in crew: please report it with the log
};

/// "family.name" of a code, e.g. "remote.unknown_function".
CREW_API std::string_view errc_name(errc code) noexcept;
/// The code named "family.name", or errc::none.
CREW_API errc errc_from_name(std::string_view name) noexcept;
/// "[crew.family.name] message"
CREW_API std::string format_error(errc code, std::string_view message);

/// Root of all crew exceptions.
class CREW_API Error : public std::runtime_error {
public:
  Error(errc code, std::string message);
  errc code() const noexcept { return code_; }
  /// The message without the "[crew.x.y] " prefix.
  const std::string& message() const noexcept { return message_; }

private:
  errc code_;
  std::string message_;
};

/// The controller cannot be reached, or the profile has none.
class CREW_API ConnectionError : public Error {
public:
  using Error::Error;
};

/// A wait ran past its deadline.
class CREW_API TimeoutError : public Error {
public:
  explicit TimeoutError(std::string message) : Error(errc::wait_timeout, std::move(message)) {}
};

/// Bad input from the caller: unparsable JSON, bad targets, a Value of the wrong type.
class CREW_API InputError : public Error {
public:
  using Error::Error;
};

/// A message on the wire that was rejected.
class CREW_API ProtocolError : public Error {
public:
  using Error::Error;
};

/// Starting or stopping a cluster failed.
class CREW_API LaunchError : public Error {
public:
  using Error::Error;
};

/// An error raised on an engine while running a task. engine_id() is -1 for an error that
/// concerns several engines at once (a gather or reduce whose parts do not fit).
class CREW_API RemoteError : public Error {
public:
  RemoteError(errc code, int engine_id, std::string type, std::string message, std::string context = {});
  int engine_id() const noexcept { return engine_id_; }
  /// The remote error's type, e.g. "std::runtime_error" or "crew.remote.unknown_function".
  const std::string& type() const noexcept { return type_; }
  /// The remote message alone (no engine, no type).
  const std::string& remote_message() const noexcept { return remote_message_; }
  /// Extra context from the engine (function signature, host, ...), possibly empty.
  const std::string& context() const noexcept { return context_; }

protected:
  RemoteError(errc code, std::string full_message, int engine_id, std::string type, std::string message,
              std::string context);

private:
  int engine_id_;
  std::string type_;
  std::string remote_message_;
  std::string context_;
};

/// The engine running a task died (its MPI world ended) before the task completed.
class CREW_API EngineError : public RemoteError {
public:
  using RemoteError::RemoteError;
};

/// Errors from several engines at once; what() lists the first few.
class CREW_API CompositeError : public RemoteError {
public:
  explicit CompositeError(std::vector<RemoteError> errors);
  const std::vector<RemoteError>& errors() const noexcept { return errors_; }
  /// Throws the first error as its own type.
  [[noreturn]] void raise_first() const;

private:
  std::vector<RemoteError> errors_;
};

}  // namespace crew
