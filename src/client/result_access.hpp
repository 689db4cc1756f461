#pragma once
// An AsyncResult over a result state, for crew's own code that is not the client (its tests): the
// constructor is private, so that users make results only by submitting work.

#include <memory>
#include <utility>

#include "client/client_core.hpp"
#include "crew/async_result.hpp"

namespace crew::detail {

struct ResultAccess {
  static AsyncResult wrap(std::shared_ptr<ResultState> state) { return AsyncResult(std::move(state)); }
};

}  // namespace crew::detail
