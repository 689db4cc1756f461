#pragma once
// crew's error taxonomy: stable codes (`errc`, crew/errc.hpp) and the exceptions thrown at the API
// edge. Every message reads "[crew.<family>.<name>] what happened; what to do", so users can
// search for the code and tests can match codes instead of prose.
//
// One habit raises them: throw_error(code, what, hint) throws the type that the code's family
// calls for (the table below), so a code and its exception type never disagree:
//
//   connection.*  ConnectionError        protocol.*  ProtocolError
//   input.*       InputError             launch.*    LaunchError
//   timeout.*     TimeoutError           mpi.*       MpiError
//   remote.*      RemoteError, or        hub.*, internal.*  Error
//                 EngineError (engine_died), TaskAborted (aborted), TaskTimeout (task_timeout),
//                 DependencyError (impossible_dependency, dependency_failed)

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "crew/errc.hpp"
#include "crew/export.hpp"

namespace crew {

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

/// A wait ran past the caller's deadline (the work goes on).
class CREW_API TimeoutError : public Error {
public:
  using Error::Error;
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

/// The task was dropped before it ran: aborted (`abort`), or its engines shut down.
class CREW_API TaskAborted : public RemoteError {
public:
  using RemoteError::RemoteError;
};

/// A load-balanced task was not handed to an engine within its own `timeout` (the task is
/// over; unlike TimeoutError, which is the caller's wait running out while the task goes on).
class CREW_API TaskTimeout : public RemoteError {
public:
  using RemoteError::RemoteError;
};

/// A task's dependency failed (remote.dependency_failed) or can never be met
/// (remote.impossible_dependency): the task did not run.
class CREW_API DependencyError : public RemoteError {
public:
  using RemoteError::RemoteError;
};

/// An MPI routine failed inside an engine's world (crew's communicators return errors instead of
/// aborting the world). routine() is e.g. "MPI_Scatterv", error_class() MPI's error class.
class CREW_API MpiError : public Error {
public:
  using Error::Error;
  /// "<routine> failed: <class name>: <MPI's error string>"
  MpiError(std::string routine, int error_class, std::string_view error_class_name, std::string_view error_string);
  const std::string& routine() const noexcept { return routine_; }
  int error_class() const noexcept { return error_class_; }

private:
  std::string routine_;
  int error_class_ = 0;
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

/// The exception type throw_error raises for `code` (the table at the top of this file), e.g.
/// "TaskAborted" for remote.aborted.
constexpr std::string_view exception_type_name(errc code) noexcept {
  switch (code) {
  case errc::engine_died: return "EngineError";
  case errc::aborted: return "TaskAborted";
  case errc::task_timeout: return "TaskTimeout";
  case errc::impossible_dependency:
  case errc::dependency_failed: return "DependencyError";
  default: break;
  }
  const std::string_view family = errc_family(code);
  if (family == "connection") return "ConnectionError";
  if (family == "input") return "InputError";
  if (family == "timeout") return "TimeoutError";
  if (family == "protocol") return "ProtocolError";
  if (family == "launch") return "LaunchError";
  if (family == "mpi") return "MpiError";
  if (family == "remote") return "RemoteError";
  return "Error";
}

/// The one way to raise an error from a code: throws the exception type of `code`'s family (see
/// the top of this file) with the message "what; hint" (hint: what to do; may be empty).
[[noreturn]] CREW_API void throw_error(errc code, std::string_view what, std::string_view hint = {});

/// Throws `error` as the type its code calls for: EngineError, TaskAborted, TaskTimeout,
/// DependencyError or RemoteError (a RemoteError kept by value, e.g. in CompositeError::errors()).
[[noreturn]] CREW_API void throw_remote_error(const RemoteError& error);

}  // namespace crew
