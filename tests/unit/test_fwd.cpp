// crew/fwd.hpp: every name it declares is a public type that the public headers define, with
// the same kind and underlying type (a wrong one does not compile), and a header that includes
// only fwd.hpp can declare functions on them.
#include "crew/fwd.hpp"

namespace {
// What a user's header can do with only the forward declarations.
int engines_of(const crew::DirectView& view);
crew::Value first_of(const crew::AsyncResult& result);
}  // namespace

#include <doctest/doctest.h>

#include <type_traits>

#include "crew/crew.hpp"
#include "crew/engine.hpp"
#include "crew/json.hpp"

namespace {

int engines_of(const crew::DirectView& view) { return static_cast<int>(view.targets().size()); }
crew::Value first_of(const crew::AsyncResult& result) { return result.value(0); }

template <class... T>
constexpr bool all_complete() {
  return ((sizeof(T) > 0) && ...);  // sizeof of a type fwd.hpp declared but nothing defined fails
}

}  // namespace

TEST_SUITE("fwd") {
  TEST_CASE("every forward-declared type is defined by the public headers") {
    static_assert(
        all_complete<crew::Buffer, crew::Array, crew::Value, crew::Ref, crew::Object, crew::Error,
                     crew::ConnectionError, crew::TimeoutError, crew::InputError, crew::ProtocolError,
                     crew::LaunchError, crew::RemoteError, crew::EngineError, crew::CompositeError, crew::Client,
                     crew::ClientOptions, crew::EngineInfo, crew::QueueStatus, crew::ResultStatus, crew::DirectView,
                     crew::LoadBalancedView, crew::Dependency, crew::TaskOptions, crew::MapOptions, crew::Range,
                     crew::AbortReport, crew::AsyncResult, crew::ResultMetadata, crew::AsyncMap, crew::Engine,
                     crew::EngineOptions, crew::Context, crew::Namespace>());
    static_assert(std::is_same_v<std::underlying_type_t<crew::dtype>, std::uint8_t>);
    static_assert(std::is_same_v<std::underlying_type_t<crew::errc>, std::uint16_t>);
    static_assert(std::is_enum_v<crew::op>);
    static_assert(std::is_base_of_v<crew::Error, crew::CompositeError>);
    CHECK(crew::op_name(crew::op::sum) == "sum");
    // The functions declared on forward types above link to their definitions.
    CHECK_THROWS_AS(first_of(crew::AsyncResult()), crew::Error);
    (void)&engines_of;
  }
}
