// crew's error codes and exceptions (crew/error.hpp): stable "family.name" codes, message format,
// RemoteError / CompositeError text, and raise_first.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "crew/error.hpp"

using namespace crew;

namespace {

/// Every code of the one list (crew/errc.hpp).
std::vector<errc> all_codes() {
  std::vector<errc> out;
  for (const auto& e : error_codes) out.push_back(e.code);
  return out;
}

/// The most derived crew type of `e`, by name (as exception_type_name spells it).
std::string type_of(const Error& e) {
  if (dynamic_cast<const EngineError*>(&e)) return "EngineError";
  if (dynamic_cast<const TaskAborted*>(&e)) return "TaskAborted";
  if (dynamic_cast<const TaskTimeout*>(&e)) return "TaskTimeout";
  if (dynamic_cast<const DependencyError*>(&e)) return "DependencyError";
  if (dynamic_cast<const CompositeError*>(&e)) return "CompositeError";
  if (dynamic_cast<const RemoteError*>(&e)) return "RemoteError";
  if (dynamic_cast<const ConnectionError*>(&e)) return "ConnectionError";
  if (dynamic_cast<const InputError*>(&e)) return "InputError";
  if (dynamic_cast<const TimeoutError*>(&e)) return "TimeoutError";
  if (dynamic_cast<const ProtocolError*>(&e)) return "ProtocolError";
  if (dynamic_cast<const LaunchError*>(&e)) return "LaunchError";
  if (dynamic_cast<const MpiError*>(&e)) return "MpiError";
  return "Error";
}

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
    const auto codes = all_codes();
    for (errc c : codes) {
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
    CHECK(names.size() == codes.size());
    CHECK(codes.size() > 50);
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
    CHECK(static_cast<int>(errc::connection_lost) == 104);
    CHECK(static_cast<int>(errc::empty_result) == 211);
    CHECK(static_cast<int>(errc::aborted) == 307);
    CHECK(static_cast<int>(errc::task_timeout) == 312);
    CHECK(static_cast<int>(errc::mpi_failed) == 700);
    CHECK(errc_name(errc::connection_lost) == "connection.lost");
    CHECK(errc_name(errc::empty_result) == "input.empty_result");
    CHECK(errc_name(errc::mpi_failed) == "mpi.failed");
  }

  TEST_CASE("families follow the code ranges") {
    for (errc c : all_codes()) {
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
      if (n >= 700 && n < 800) CHECK(family == "mpi");
      if (n >= 900) CHECK(family == "internal");
      CHECK(errc_family(c) == family);
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

  TEST_CASE("raise_first keeps the type of a task that was aborted") {
    std::vector<RemoteError> errors;
    errors.emplace_back(errc::aborted, 4, "crew.remote.aborted", "aborted by the client");
    errors.emplace_back(errc::exception, 5, "std::runtime_error", "x");
    const CompositeError e(std::move(errors));
    CHECK_THROWS_AS(e.raise_first(), TaskAborted);
  }

  TEST_CASE("throw_error throws, for every code, the type its family calls for") {
    for (const auto& info : error_codes) {
      CAPTURE(info.name);
      try {
        throw_error(info.code, "what went wrong", "what to do");
      } catch (const Error& e) {
        CHECK(e.code() == info.code);
        CHECK(type_of(e) == exception_type_name(info.code));
        CHECK(e.message().find("what went wrong; what to do") != std::string::npos);
        CHECK(std::string(e.what()).rfind("[crew." + std::string(info.name) + "] ", 0) == 0);
      }
    }
  }

  TEST_CASE("throw_error joins what and hint with '; ' and leaves out an empty hint") {
    try {
      throw_error(errc::bad_json, "'[1,' is not JSON", "close the list");
    } catch (const InputError& e) {
      CHECK(e.message() == "'[1,' is not JSON; close the list");
      CHECK(std::string(e.what()) == "[crew.input.bad_json] '[1,' is not JSON; close the list");
    }
    try {
      throw_error(errc::connection_lost, "no answer");
    } catch (const ConnectionError& e) {
      CHECK(e.message() == "no answer");
      CHECK(e.code() == errc::connection_lost);
    }
  }

  TEST_CASE("the task errors of the load balancer are RemoteErrors of their own types") {
    const struct {
      errc code;
      std::string type;
    } cases[] = {{errc::aborted, "TaskAborted"},
                 {errc::task_timeout, "TaskTimeout"},
                 {errc::dependency_failed, "DependencyError"},
                 {errc::impossible_dependency, "DependencyError"},
                 {errc::engine_died, "EngineError"},
                 {errc::unknown_function, "RemoteError"},
                 {errc::mpi_failed, "RemoteError"}};
    for (const auto& c : cases) {
      CAPTURE(errc_name(c.code));
      try {
        throw_remote_error(RemoteError(c.code, 7, "crew." + std::string(errc_name(c.code)), "why", "f(int)"));
      } catch (const RemoteError& e) {
        CHECK(type_of(e) == c.type);
        CHECK(e.code() == c.code);
        CHECK(e.engine_id() == 7);
        CHECK(e.remote_message() == "why");
        CHECK(e.context() == "f(int)");
        CHECK(std::string(e.what()) == "[crew." + std::string(errc_name(c.code)) + "] engine 7: why");
      }
    }
  }

  TEST_CASE("MpiError names the routine and the error class once") {
    const MpiError with_name("MPI_Scatterv", 15, "MPI_ERR_TRUNCATE", "MPI_ERR_TRUNCATE: message truncated");
    CHECK(std::string(with_name.what()) ==
          "[crew.mpi.failed] MPI_Scatterv failed: MPI_ERR_TRUNCATE: message truncated");
    CHECK(with_name.routine() == "MPI_Scatterv");
    CHECK(with_name.error_class() == 15);
    CHECK(with_name.code() == errc::mpi_failed);
    // An MPI whose strings do not start with the class name gets it added.
    const MpiError without("MPI_Bcast", 8, "MPI_ERR_ROOT", "invalid root");
    CHECK(without.message() == "MPI_Bcast failed: MPI_ERR_ROOT: invalid root");
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
