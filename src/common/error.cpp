// crew's error codes and exception types.
#include "crew/error.hpp"

#include <algorithm>
#include <sstream>

namespace crew {
namespace {

std::string composite_message(const std::vector<RemoteError>& errors) {
  constexpr std::size_t shown = 4;
  std::ostringstream out;
  out << errors.size() << " engine" << (errors.size() == 1 ? "" : "s") << " raised errors:";
  for (std::size_t i = 0; i < std::min(shown, errors.size()); ++i) out << "\n  " << errors[i].what();
  if (errors.size() > shown) out << "\n  ... and " << errors.size() - shown << " more (see errors())";
  return out.str();
}

template <class T>
[[noreturn]] void rethrow_as(const RemoteError& e) {
  throw T(e.code(), e.engine_id(), e.type(), e.remote_message(), e.context());
}

}  // namespace

std::string format_error(errc code, std::string_view message) {
  std::string out = "[crew.";
  out += errc_name(code);
  out += "] ";
  out += message;
  return out;
}

Error::Error(errc code, std::string message)
    : std::runtime_error(format_error(code, message)), code_(code), message_(std::move(message)) {}

RemoteError::RemoteError(errc code, int engine_id, std::string type, std::string message, std::string context)
    : RemoteError(code,
                  (engine_id >= 0 ? "engine " + std::to_string(engine_id) + ": " : std::string()) +
                      (type.empty() || type.rfind("crew.", 0) == 0 ? std::string() : type + ": ") + message,
                  engine_id, type, message, std::move(context)) {}  // copies: `message` is read above

RemoteError::RemoteError(errc code, std::string full_message, int engine_id, std::string type, std::string message,
                         std::string context)
    : Error(code, std::move(full_message)), engine_id_(engine_id), type_(std::move(type)),
      remote_message_(std::move(message)), context_(std::move(context)) {}

CompositeError::CompositeError(std::vector<RemoteError> errors)
    : RemoteError(errors.empty() ? errc::internal : errors.front().code(), composite_message(errors),
                  errors.empty() ? -1 : errors.front().engine_id(),
                  errors.empty() ? std::string() : errors.front().type(),
                  errors.empty() ? std::string() : errors.front().remote_message(),
                  errors.empty() ? std::string() : errors.front().context()),
      errors_(std::move(errors)) {}

void CompositeError::raise_first() const {
  if (errors_.empty()) throw_error(errc::internal, "empty CompositeError");
  throw_remote_error(errors_.front());
}

MpiError::MpiError(std::string routine, int error_class, std::string_view error_class_name,
                   std::string_view error_string)
    : Error(errc::mpi_failed,
            [&] {
              // Open MPI's strings already start with the class name ("MPI_ERR_TRUNCATE: message truncated").
              std::string text = routine + " failed: ";
              if (error_string.substr(0, error_class_name.size()) != error_class_name) {
                text += error_class_name;
                text += ": ";
              }
              text += error_string;
              return text;
            }()),
      routine_(std::move(routine)), error_class_(error_class) {}

void throw_remote_error(const RemoteError& e) {
  switch (e.code()) {
  case errc::engine_died: rethrow_as<EngineError>(e);
  case errc::aborted: rethrow_as<TaskAborted>(e);
  case errc::task_timeout: rethrow_as<TaskTimeout>(e);
  case errc::impossible_dependency:
  case errc::dependency_failed: rethrow_as<DependencyError>(e);
  default: rethrow_as<RemoteError>(e);
  }
}

void throw_error(errc code, std::string_view what, std::string_view hint) {
  std::string message(what);
  if (!hint.empty()) {
    message += "; ";
    message += hint;
  }
  const std::string_view family = errc_family(code);
  if (family == "connection") throw ConnectionError(code, std::move(message));
  if (family == "input") throw InputError(code, std::move(message));
  if (family == "timeout") throw TimeoutError(code, std::move(message));
  if (family == "protocol") throw ProtocolError(code, std::move(message));
  if (family == "launch") throw LaunchError(code, std::move(message));
  if (family == "mpi") throw MpiError(code, std::move(message));
  if (family == "remote") throw_remote_error(RemoteError(code, -1, std::string(), std::move(message)));
  throw Error(code, std::move(message));
}

}  // namespace crew
