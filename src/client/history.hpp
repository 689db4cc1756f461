#pragma once
// Client::history's two conversions, shared with the offline `crew history` (which reads a task
// database when no controller runs): a filter as the controller's request, and its entries as
// TaskSummary.

#include "common/internal_api.hpp"
#include "crew/client.hpp"
#include "protocol/hub_queries.hpp"

namespace crew::detail {

/// Throws InputError [crew.input.bad_option] for a status other than pending, ok and failed.
CREW_INTERNAL_API wire::HistoryRequest history_request(const HistoryFilter& filter);
CREW_INTERNAL_API TaskSummary task_summary(wire::HistoryEntry&& entry);

}  // namespace crew::detail
