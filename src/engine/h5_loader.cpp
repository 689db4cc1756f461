// save_h5 / load_h5 in libcrew_engine: the HDF5 module (engine/h5_module.hpp) loaded on first
// use, and every participant agreeing that it has it before any of them goes on.
#include <dlfcn.h>

#include <filesystem>

#include "engine/collective_call.hpp"
#include "engine/h5_module.hpp"
#include "engine/mpi_check.hpp"
#include "engine/mpi_frames.hpp"

namespace crew::detail {
namespace {

struct H5Module {
  const h5::Ops* ops = nullptr;
  std::string error;  ///< why not, if not
};

/// The module beside the library this code is in (the build tree's src/, the installed lib/),
/// loaded once and never unloaded (HDF5 ends itself at exit).
const H5Module& h5_module() {
  static const H5Module loaded = [] {
    H5Module m;
    Dl_info self{};
    if (::dladdr(reinterpret_cast<void*>(&h5_module), &self) == 0 || self.dli_fname == nullptr) {
      m.error = std::string("cannot tell where libcrew_engine is, to find ") + h5::module_file + " beside it";
      return m;
    }
    const std::string path = (std::filesystem::path(self.dli_fname).parent_path() / h5::module_file).string();
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    const char* why = handle == nullptr ? ::dlerror() : nullptr;
    auto* entry =
        handle != nullptr ? reinterpret_cast<const h5::Ops* (*)()>(::dlsym(handle, h5::entry_point)) : nullptr;
    if (entry == nullptr) {
      m.error = "crew's HDF5 module " + path + " did not load (" +
                (why != nullptr ? std::string(why) : std::string("no ") + h5::entry_point + " in it") +
                "); reinstall crew";
      return m;
    }
    m.ops = entry();
    return m;
  }();
  return loaded;
}

std::optional<wire::Outgoing> run_h5(Collectives::Call& call, Namespace& ns, h5::Op h5::Ops::*op) {
  const H5Module& m = h5_module();
  int mine = m.ops != nullptr ? 1 : 0, all = 0;
  CREW_MPI_CHECK(MPI_Allreduce, (&mine, &all, 1, MPI_INT, MPI_MIN, call.comm));
  if (all == 1) return (m.ops->*op)(call, ns);
  return collective::own_reply(call, collective::Verdict{errc::io_failed,
                                                         m.ops == nullptr
                                                             ? m.error
                                                             : std::string("crew's HDF5 module did not load on another "
                                                                           "engine of this world (see its message)"),
                                                         {}});
}

}  // namespace

std::optional<wire::Outgoing> Collectives::save_h5(Call& call) { return run_h5(call, ns_, &h5::Ops::save); }
std::optional<wire::Outgoing> Collectives::load_h5(Call& call) { return run_h5(call, ns_, &h5::Ops::load); }

}  // namespace crew::detail
