#pragma once
// crew: the client side in one include (values, errors, Client, views, AsyncResult).
// Engine-side code (CREW_FUNCTION, Context, Engine) includes crew/engine.hpp.

#include "crew/async_map.hpp"
#include "crew/async_result.hpp"
#include "crew/client.hpp"
#include "crew/convert.hpp"
#include "crew/error.hpp"
#include "crew/fwd.hpp"
#include "crew/load_balanced_view.hpp"
#include "crew/output.hpp"
#include "crew/value.hpp"
#include "crew/version.hpp"
#include "crew/view.hpp"
