#pragma once
// save_h5 / load_h5 keep their HDF5 half in a module of their own, libcrew_h5.so beside
// libcrew_engine.so, loaded on the first save_h5 or load_h5: parallel HDF5 brings some 30
// libraries (libcurl, GnuTLS, Kerberos, LDAP, ...) that every rank of every world loaded and
// relocated at start, for operations most clusters never run.

#include <optional>

#include "engine/collectives.hpp"

namespace crew::detail::h5 {

/// One op's HDF5 part: what Collectives::save_h5 / load_h5 did (engine/h5_collectives.cpp).
using Op = std::optional<wire::Outgoing> (*)(Collectives::Call& call, Namespace& ns);

struct Ops {
  Op save = nullptr;
  Op load = nullptr;
};

/// The name of the module's one entry point: `extern "C" const Ops* crew_h5_ops()`.
inline constexpr const char* entry_point = "crew_h5_ops";
inline constexpr const char* module_file = "libcrew_h5.so";

}  // namespace crew::detail::h5
