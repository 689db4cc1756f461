#pragma once
// The process-wide function registry behind CREW_FUNCTION and crew::register_invoker: what the
// executor looks functions up in, and what the `functions` builtin lists. Users register through
// crew/function.hpp; they call functions through a client.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/internal_api.hpp"
#include "crew/function.hpp"

namespace crew {

struct FunctionInfo {
  std::string name;
  std::string signature;  ///< e.g. "mul(double, double) -> double"
  std::string origin;     ///< "builtin", "program", or the plugin's path
  Invoker invoke;
};

/// The function registered as `name`, or nullptr.
CREW_INTERNAL_API const FunctionInfo* find_function(std::string_view name);
/// All registered functions, sorted by name.
CREW_INTERNAL_API std::vector<const FunctionInfo*> list_functions();
/// Registered names close to `name` (for "did you mean"), best first; crew's internal `crew.*`
/// functions only when `name` is one of them.
CREW_INTERNAL_API std::vector<std::string> near_function_names(std::string_view name, std::size_t max = 4);

}  // namespace crew
