#pragma once
// What a call throws, for tests of errors: its code, its message.

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "crew/error.hpp"

namespace crew::testing {

/// The code of the crew::Error that `f` throws; errc::none if it throws nothing.
template <class F>
errc code_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return errc::none;
}

/// The message of the crew::Error that `f` throws; empty if it throws nothing.
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

/// The message of the InputError that `f` throws (with the code `code`, if given); a failed
/// check if it throws nothing or something else.
template <class F>
std::string input_error_of(F&& f, std::optional<errc> code = std::nullopt) {
  try {
    f();
  } catch (const InputError& e) {
    if (code) CHECK(e.code() == *code);
    return e.what();
  }
  FAIL_CHECK("expected crew::InputError");
  return {};
}

}  // namespace crew::testing
