#pragma once
// An exception from user code, caught and thrown on with more context (which item of a map
// failed), keeping the original type's name for the RemoteError the client sees.

#include <stdexcept>
#include <string>

namespace crew::detail {

class ForwardedException : public std::runtime_error {
public:
  ForwardedException(std::string type, const std::string& what) : std::runtime_error(what), type_(std::move(type)) {}
  const std::string& type() const noexcept { return type_; }

private:
  std::string type_;
};

/// The demangled type of the exception being handled ("unknown" outside a handler).
std::string current_exception_type();

}  // namespace crew::detail
