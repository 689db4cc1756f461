#pragma once
// Reduction operators for DirectView::reduce: element by element across engines, like MPI_Reduce.

#include <optional>
#include <string_view>

#include "crew/export.hpp"

namespace crew {

enum class op { sum, prod, min, max };

/// "sum", "prod", "min", "max".
CREW_API std::string_view op_name(op o) noexcept;
/// The operator named `name`, or nullopt.
CREW_API std::optional<op> op_from_name(std::string_view name) noexcept;

}  // namespace crew
