// crew's error codes and exceptions (crew/error.hpp): stable "family.name" codes, message format,
// RemoteError / CompositeError text, and raise_first.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "crew/error.hpp"

using namespace crew;

namespace {

const std::vector<errc> all_codes{
    errc::none,
    errc::no_profile,
    errc::controller_timeout,
    errc::controller_gone,
    errc::client_closed,
    errc::bad_json,
    errc::bad_targets,
    errc::unknown_target,
    errc::bad_option,
    errc::value_type,
    errc::bad_profile,
    errc::not_a_sequence,
    errc::already_done,
    errc::unknown_task,
    errc::usage,
    errc::bad_name,
    errc::unknown_function,
    errc::bad_arguments,
    errc::exception,
    errc::engine_died,
    errc::plugin_failed,
    errc::unknown_name,
    errc::engine_dead,
    errc::aborted,
    errc::mismatch,
    errc::io_failed,
    errc::impossible_dependency,
    errc::dependency_failed,
    errc::task_timeout,
    errc::no_matching_engine,
    errc::bad_signature,
    errc::malformed,
    errc::oversized,
    errc::unexpected,
    errc::launcher_not_found,
    errc::launcher_failed,
    errc::engines_not_registered,
    errc::already_running,
    errc::not_running,
    errc::controller_failed,
    errc::wait_timeout,
    errc::internal,
};

std::vector<RemoteError> remote_errors(int n) {
  std::vector<RemoteError> out;
  for (int i = 0; i < n; ++i)
    out.emplace_back(errc::exception, i, "std::runtime_error", "failure number " + std::to_string(i));
  return out;
}

}  // namespace

TEST_SUITE("unit.error" * doctest::timeout(30)) {

  TEST_CASE("every code has a unique family.name that maps back to it") {
    std::set<std::string_view> names;
    for (errc c : all_codes) {
      const std::string_view name = errc_name(c);
      CAPTURE(static_cast<int>(c));
      CAPTURE(name);
      const auto dot = name.find('.');
      REQUIRE(dot != std::string_view::npos);
      CHECK(dot > 0);
      CHECK(dot + 1 < name.size());
      CHECK(name.find('.', dot + 1) == std::string_view::npos);
      CHECK(name != "internal.unknown_code");
      CHECK(errc_from_name(name) == c);
      names.insert(name);
    }
    CHECK(names.size() == all_codes.size());
  }

  TEST_CASE("code numbers are stable") {
    CHECK(static_cast<int>(errc::no_profile) == 100);
    CHECK(static_cast<int>(errc::bad_json) == 200);
    CHECK(static_cast<int>(errc::value_type) == 204);
    CHECK(static_cast<int>(errc::unknown_function) == 300);
    CHECK(static_cast<int>(errc::engine_died) == 303);
    CHECK(static_cast<int>(errc::bad_signature) == 400);
    CHECK(static_cast<int>(errc::malformed) == 401);
    CHECK(static_cast<int>(errc::launcher_not_found) == 500);
    CHECK(static_cast<int>(errc::wait_timeout) == 600);
    CHECK(static_cast<int>(errc::internal) == 900);
  }

  TEST_CASE("families follow the code ranges") {
    for (errc c : all_codes) {
      const int n = static_cast<int>(c);
      const std::string_view name = errc_name(c);
      CAPTURE(name);
      const std::string_view family = name.substr(0, name.find('.'));
      if (n >= 100 && n < 200) CHECK(family == "connection");
      if (n >= 200 && n < 300) CHECK(family == "input");
      if (n >= 300 && n < 400) CHECK(family == "remote");
      if (n >= 400 && n < 500) CHECK(family == "protocol");
      if (n >= 500 && n < 600) CHECK(family == "launch");
      if (n >= 600 && n < 700) CHECK(family == "timeout");
    }
  }

  TEST_CASE("unknown codes and names do not alias real ones") {
    CHECK(errc_name(static_cast<errc>(999)) == "internal.unknown_code");
    CHECK(errc_from_name("no.such") == errc::none);
    CHECK(errc_from_name("") == errc::none);
    CHECK(errc_from_name("input.bad_json.extra") == errc::none);
  }

  TEST_CASE("format_error prefixes the code in brackets") {
    CHECK(format_error(errc::bad_json, "oops") == "[crew.input.bad_json] oops");
    CHECK(format_error(errc::unknown_function, "") == "[crew.remote.unknown_function] ");
  }

  TEST_CASE("Error carries its code and message, what() has the prefix") {
    const InputError e(errc::bad_targets, "bad list");
    CHECK(e.code() == errc::bad_targets);
    CHECK(e.message() == "bad list");
    CHECK(std::string(e.what()) == "[crew.input.bad_targets] bad list");
    const Error& base = e;
    CHECK(base.code() == errc::bad_targets);
    const TimeoutError t("waited 5 s");
    CHECK(t.code() == errc::wait_timeout);
    CHECK(std::string(t.what()) == "[crew.timeout.wait] waited 5 s");
  }

  TEST_CASE("RemoteError names the engine and the remote type") {
    const RemoteError e(errc::exception, 3, "std::runtime_error", "boom", "f(double) -> double");
    CHECK(std::string(e.what()) == "[crew.remote.exception] engine 3: std::runtime_error: boom");
    CHECK(e.engine_id() == 3);
    CHECK(e.type() == "std::runtime_error");
    CHECK(e.remote_message() == "boom");
    CHECK(e.context() == "f(double) -> double");
    CHECK(e.code() == errc::exception);
  }

  TEST_CASE("RemoteError does not repeat a crew type that the code already says") {
    const RemoteError e(errc::unknown_function, 1, "crew.remote.unknown_function", "no function 'x'");
    CHECK(std::string(e.what()) == "[crew.remote.unknown_function] engine 1: no function 'x'");
    const RemoteError untyped(errc::exception, 0, "", "bare");
    CHECK(std::string(untyped.what()) == "[crew.remote.exception] engine 0: bare");
  }

  TEST_CASE("CompositeError lists up to four errors and says how many more") {
    const CompositeError e(remote_errors(6));
    const std::string what = e.what();
    CHECK(what.find("6 engines raised errors") != std::string::npos);
    for (int i = 0; i < 4; ++i) CHECK(what.find("failure number " + std::to_string(i)) != std::string::npos);
    CHECK(what.find("failure number 4") == std::string::npos);
    CHECK(what.find("failure number 5") == std::string::npos);
    CHECK(what.find("and 2 more") != std::string::npos);
    CHECK(e.errors().size() == 6);
    // It is a RemoteError that looks like its first error.
    CHECK(e.code() == errc::exception);
    CHECK(e.engine_id() == 0);
    CHECK(e.type() == "std::runtime_error");
    CHECK(e.remote_message() == "failure number 0");
  }

  TEST_CASE("CompositeError with four or fewer errors lists them all") {
    const std::string four = CompositeError(remote_errors(4)).what();
    CHECK(four.find("failure number 3") != std::string::npos);
    CHECK(four.find("more") == std::string::npos);
    const std::string one = CompositeError(remote_errors(1)).what();
    CHECK(one.find("1 engine raised errors") != std::string::npos);
  }

  TEST_CASE("raise_first throws EngineError when the first engine died") {
    std::vector<RemoteError> errors;
    errors.emplace_back(errc::engine_died, 2, "crew.remote.engine_died", "world 0 died");
    errors.emplace_back(errc::exception, 3, "std::runtime_error", "x");
    const CompositeError e(std::move(errors));
    try {
      e.raise_first();
    } catch (const EngineError& first) {
      CHECK(first.engine_id() == 2);
      CHECK(first.code() == errc::engine_died);
      CHECK(first.remote_message() == "world 0 died");
    } catch (...) {
      FAIL_CHECK("raise_first did not throw EngineError");
    }
  }

  TEST_CASE("raise_first throws a plain RemoteError for other failures") {
    const CompositeError e(remote_errors(2));
    try {
      e.raise_first();
    } catch (const EngineError&) {
      FAIL_CHECK("an exception is not an EngineError");
    } catch (const CompositeError&) {
      FAIL_CHECK("raise_first rethrew the composite");
    } catch (const RemoteError& first) {
      CHECK(first.engine_id() == 0);
      CHECK(first.remote_message() == "failure number 0");
    }
  }

  TEST_CASE("raise_first on an empty CompositeError is an internal error") {
    const CompositeError e({});
    CHECK(e.code() == errc::internal);
    try {
      e.raise_first();
    } catch (const RemoteError&) {
      FAIL_CHECK("no remote error to raise");
    } catch (const Error& err) {
      CHECK(err.code() == errc::internal);
    }
  }

}  // TEST_SUITE
