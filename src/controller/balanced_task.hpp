#pragma once
// What the load balancer keeps of a balanced task from submission until it is done.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "crew/buffer.hpp"
#include "crew/value.hpp"
#include "protocol/header.hpp"
#include "protocol/payload.hpp"

namespace crew::controller {

struct BalancedTask {
  enum class Stage : std::uint8_t { waiting, ready, running };
  Stage stage = Stage::waiting;
  std::string function;
  wire::Payload payload;     ///< the arguments, kept for retries
  std::vector<int> allowed;  ///< the view's engines (empty: any)
  Value::Dict require;
  wire::DependencySpec after;
  wire::DependencySpec follow;
  std::vector<int> follow_engines;  ///< once `follow` is met: where it may run
  std::optional<Deadline> deadline;
  std::int64_t timeout_ms = 0;
  int retries_left = 0;
  std::vector<int> tried;                     ///< engines it failed on (retries go elsewhere where possible)
  std::optional<wire::ErrorInfo> last_error;  ///< its last failure, reported if it never succeeds
  bool watching = false;                      ///< registered with its unfinished prerequisites
  /// No constraint beyond the view: any engine with room will do.
  bool unconstrained() const noexcept { return allowed.empty() && require.empty() && follow_engines.empty(); }
};

}  // namespace crew::controller
