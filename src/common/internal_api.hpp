#pragma once
// CREW_INTERNAL_API: exports an internal function or class from the crew shared library that
// defines it, because another of crew's own libraries, programs or tests calls it across that
// library boundary (e.g. libcrew_client.so calling the wire codec in libcrew_core.so). Crew's
// shared libraries hide every other symbol (src/CMakeLists.txt). Not part of the public API: these
// declarations live in src/, whose headers are not installed.

#define CREW_INTERNAL_API __attribute__((visibility("default")))
