// A plugin the system tests load at run time with view.load_plugin(path).
#include <crew/engine.hpp>

namespace {
long triple(long x) { return 3 * x; }
}  // namespace

CREW_FUNCTION(triple);
