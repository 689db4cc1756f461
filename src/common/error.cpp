// crew's error codes and exception types.
#include "crew/error.hpp"

#include <algorithm>
#include <array>
#include <sstream>

namespace crew {
namespace {

struct CodeName {
  errc code;
  std::string_view name;
};

constexpr std::array kCodeNames{
    CodeName{errc::none, "ok.none"},
    CodeName{errc::no_profile, "connection.no_profile"},
    CodeName{errc::controller_timeout, "connection.timeout"},
    CodeName{errc::controller_gone, "connection.controller_gone"},
    CodeName{errc::client_closed, "connection.client_closed"},
    CodeName{errc::bad_json, "input.bad_json"},
    CodeName{errc::bad_targets, "input.bad_targets"},
    CodeName{errc::unknown_target, "input.unknown_target"},
    CodeName{errc::bad_option, "input.bad_option"},
    CodeName{errc::value_type, "input.value_type"},
    CodeName{errc::bad_profile, "input.bad_profile"},
    CodeName{errc::not_a_sequence, "input.not_a_sequence"},
    CodeName{errc::already_done, "input.already_done"},
    CodeName{errc::unknown_task, "input.unknown_task"},
    CodeName{errc::usage, "input.usage"},
    CodeName{errc::bad_name, "input.bad_name"},
    CodeName{errc::unknown_function, "remote.unknown_function"},
    CodeName{errc::bad_arguments, "remote.bad_arguments"},
    CodeName{errc::exception, "remote.exception"},
    CodeName{errc::engine_died, "remote.engine_died"},
    CodeName{errc::plugin_failed, "remote.plugin_failed"},
    CodeName{errc::unknown_name, "remote.unknown_name"},
    CodeName{errc::engine_dead, "remote.engine_dead"},
    CodeName{errc::aborted, "remote.aborted"},
    CodeName{errc::mismatch, "remote.mismatch"},
    CodeName{errc::io_failed, "remote.io_failed"},
    CodeName{errc::impossible_dependency, "remote.impossible_dependency"},
    CodeName{errc::dependency_failed, "remote.dependency_failed"},
    CodeName{errc::task_timeout, "remote.task_timeout"},
    CodeName{errc::no_matching_engine, "remote.no_matching_engine"},
    CodeName{errc::copy_instead, "remote.copy_instead"},
    CodeName{errc::withdrawn, "remote.withdrawn"},
    CodeName{errc::bad_signature, "protocol.bad_signature"},
    CodeName{errc::malformed, "protocol.malformed"},
    CodeName{errc::oversized, "protocol.oversized"},
    CodeName{errc::unexpected, "protocol.unexpected"},
    CodeName{errc::launcher_not_found, "launch.not_found"},
    CodeName{errc::launcher_failed, "launch.failed"},
    CodeName{errc::engines_not_registered, "launch.engines_not_registered"},
    CodeName{errc::already_running, "launch.already_running"},
    CodeName{errc::not_running, "launch.not_running"},
    CodeName{errc::controller_failed, "launch.controller_failed"},
    CodeName{errc::unknown_launcher, "launch.unknown_launcher"},
    CodeName{errc::bad_launcher, "launch.bad_launcher"},
    CodeName{errc::bad_template, "launch.bad_template"},
    CodeName{errc::job_rejected, "launch.job_rejected"},
    CodeName{errc::job_ended, "launch.job_ended"},
    CodeName{errc::interrupted, "launch.interrupted"},
    CodeName{errc::wait_timeout, "timeout.wait"},
    CodeName{errc::internal, "internal.bug"},
};

std::string composite_message(const std::vector<RemoteError>& errors) {
  constexpr std::size_t shown = 4;
  std::ostringstream out;
  out << errors.size() << " engine" << (errors.size() == 1 ? "" : "s") << " raised errors:";
  for (std::size_t i = 0; i < std::min(shown, errors.size()); ++i) out << "\n  " << errors[i].what();
  if (errors.size() > shown) out << "\n  ... and " << errors.size() - shown << " more (see errors())";
  return out.str();
}

}  // namespace

std::string_view errc_name(errc code) noexcept {
  for (const auto& entry : kCodeNames)
    if (entry.code == code) return entry.name;
  return "internal.unknown_code";
}

errc errc_from_name(std::string_view name) noexcept {
  for (const auto& entry : kCodeNames)
    if (entry.name == name) return entry.code;
  return errc::none;
}

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
  if (errors_.empty()) throw Error(errc::internal, "empty CompositeError");
  const RemoteError& first = errors_.front();
  if (first.code() == errc::engine_died)
    throw EngineError(first.code(), first.engine_id(), first.type(), first.remote_message(), first.context());
  throw first;
}

}  // namespace crew
