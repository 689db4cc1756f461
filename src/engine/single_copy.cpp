// Scatter, push and gather that copy straight from or into a client's memory on the same host
// (engine/peer_memory.hpp): every rank moves its own part, in parallel, and nothing goes through
// rank 0, the bridge or the controller. All or nothing, as every collective here: a part that
// fails to copy fails the operation on every target, and no engine keeps a part.
#include <numeric>

#include "engine/collective_call.hpp"
#include "engine/peer_memory.hpp"
#include "values/element_type.hpp"

namespace crew::detail {

namespace collective {

Verdict all_copied(const Collectives::Call& call, const std::string& mine, const char* what) {
  const auto failures = gather_texts(call, mine);
  Verdict v;
  if (call.root()) {
    std::vector<int> engines;
    std::string first;
    for (int p = 0; p < call.participants(); ++p) {
      const std::string& f = failures[static_cast<std::size_t>(p)];
      if (f.empty()) continue;
      engines.push_back(call.engine_of(p));
      if (first.empty()) first = f;
    }
    if (!engines.empty())
      v = {errc::aborted,
           std::string(what) + " failed on " + engines_text(engines) + ": " + first +
               " (CREW_SINGLE_COPY=0 in the client turns same-host copies off)",
           {}};
  }
  return share_verdict(call, std::move(v));
}

namespace {
std::uint64_t offset_of(const Collectives::Call& call, const std::vector<std::uint64_t>& bytes) {
  return std::accumulate(bytes.begin(), bytes.begin() + call.me, std::uint64_t{0});
}

}  // namespace

Verdict copy_from_peer(const Collectives::Call& call, const std::vector<std::uint64_t>& bytes, std::byte* out) {
  const wire::PeerMemory& peer = call.task->stream.peer;
  const std::uint64_t n = bytes[static_cast<std::size_t>(call.me)];
  const std::string failure = n ? peer_memory::read(peer.pid, peer.address + offset_of(call, bytes), out, n) : "";
  return all_copied(call, failure, "copying the array from the client");
}

Verdict copy_to_peer(const Collectives::Call& call, const std::vector<std::uint64_t>& bytes, const std::byte* in) {
  const wire::PeerMemory& peer = call.task->stream.peer;
  const std::uint64_t n = bytes[static_cast<std::size_t>(call.me)];
  const std::string failure = n ? peer_memory::write(peer.pid, peer.address + offset_of(call, bytes), in, n) : "";
  return all_copied(call, failure, "copying the array into the client");
}

}  // namespace collective

// push({name: null}) with the array in the client's memory: every target copies all of it.
std::optional<wire::Outgoing> Collectives::push_single_copy(Call& call) {
  const wire::StreamSpec& spec = call.task->stream;
  const Value& args = call.args;  // on the root
  const bool args_ok = args.is_list() && args.size() == 1 && args[0].is_dict() && args[0].size() == 1 &&
                       args[0].as_dict().begin()->second.is_null();
  collective::Verdict v;
  if (call.root()) {
    std::uint64_t elements = 1;
    for (auto d : spec.shape) elements *= d;
    if (!args_ok)
      v = {errc::bad_arguments, "crew.push takes ({name: null}) before an array its engines copy", {}};
    else if (!dtype_valid(spec.dtype) || elements * dtype_size(static_cast<dtype>(spec.dtype)) != spec.bytes)
      v = {errc::bad_arguments,
           "crew.push: the array's shape does not match its " + std::to_string(spec.bytes) + " bytes",
           {}};
    else
      v.info.name = args[0].as_dict().begin()->first;  // only the root has the arguments
  }
  v = collective::share_verdict(call, std::move(v));
  if (!v.ok()) return collective::own_reply(call, v);

  auto recv = collective::allocate(call.is_target() ? static_cast<std::size_t>(spec.bytes) : 0);
  // Each target reads the whole array from its start: offset 0 for everyone.
  const wire::PeerMemory& peer = spec.peer;
  const std::string failure =
      call.is_target() ? peer_memory::read(peer.pid, peer.address, recv.data, spec.bytes) : std::string();
  const collective::Verdict arrived = collective::all_copied(call, failure, "copying the array from the client");
  if (!arrived.ok()) return collective::own_reply(call, arrived);
  if (!call.is_target()) return std::nullopt;
  ns_.set(v.info.name, Value(Array(static_cast<dtype>(spec.dtype), spec.shape, recv.buffer)));
  return collective::own_reply(call, v);
}

// gather(name[, rows]) into the client's memory: every target writes its part where it goes.
std::optional<wire::Outgoing> Collectives::gather_single_copy(Call& call, const collective::Verdict& v,
                                                              const std::vector<collective::Holding>& held,
                                                              const std::string& name) {
  const wire::StreamSpec& spec = call.task->stream;
  const auto& bytes = v.info.bytes;
  collective::Verdict fits;
  if (call.root()) {
    auto [type, shape] = collective::joined_shape(call, held);
    if (static_cast<std::uint8_t>(type) != spec.dtype || shape != spec.shape)
      fits = {errc::mismatch,
              "'" + name +
                  "' changed while the gather ran (its dtype or shape is not the one the "
                  "client made room for); gather again",
              {}};
  }
  fits = collective::share_verdict(call, std::move(fits));
  if (!fits.ok()) return call.root() ? std::optional(collective::world_reply(call, fits)) : std::nullopt;
  const std::byte* mine =
      call.is_target() && bytes[static_cast<std::size_t>(call.me)] ? ns_.find(name)->as_array().data().data() : nullptr;
  const collective::Verdict copied = collective::copy_to_peer(call, bytes, mine);
  if (!call.root()) return std::nullopt;
  return collective::world_reply(call, copied.ok() ? v : copied);  // the array is in the client already
}

}  // namespace crew::detail
