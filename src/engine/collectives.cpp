// scatter, gather, push and reduce inside a world, on raw MPI buffers.
#include "engine/collectives.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "common/clock.hpp"
#include "engine/collective_call.hpp"
#include "engine/executor.hpp"
#include "engine/mpi_bulk.hpp"
#include "engine/mpi_check.hpp"
#include "engine/mpi_frames.hpp"
#include "engine/peer_memory.hpp"
#include <cereal/types/common.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "protocol/archive.hpp"
#include "protocol/stream.hpp"
#include "protocol/value_codec.hpp"
#include "values/array_like.hpp"
#include "values/element_type.hpp"
#include "values/sequence.hpp"

namespace crew::detail {

// ------------------------------------------------------------------------------ shared helpers
namespace collective {

std::vector<std::byte> to_blob(const Value& v) {
  wire::Payload frames;
  wire::encode_value(v, frames, std::numeric_limits<std::size_t>::max());
  const Buffer& body = frames.front();
  return {body.data(), body.data() + body.size()};
}

Value from_blob(std::span<const std::byte> blob) {
  const Buffer b = Buffer::copy(blob.data(), blob.size());
  return wire::decode_value({&b, 1});
}

Verdict share_verdict(const Collectives::Call& call, Verdict v) {
  std::vector<std::byte> blob;
  if (call.root()) {
    wire::Writer out(blob);
    out(v);
  }
  blob = mpi_bulk::bcast_blob(call.comm, 0, std::move(blob));
  if (call.root()) return v;
  wire::Reader in(blob);
  in(v);
  return v;
}

namespace {
template <class T>
std::vector<T> gather_all(const Collectives::Call& call, const T& mine) {
  std::vector<std::byte> blob;
  wire::Writer out(blob);
  out(mine);
  std::vector<T> all;
  for (const auto& b : mpi_bulk::gather_blobs(call.comm, 0, std::move(blob))) {
    wire::Reader in(b);
    in(all.emplace_back());
  }
  return all;
}
}  // namespace

std::vector<Holding> gather_holdings(const Collectives::Call& call, const Holding& mine) {
  return gather_all(call, mine);
}

std::vector<std::string> gather_texts(const Collectives::Call& call, const std::string& mine) {
  return gather_all(call, mine);
}

namespace {
wire::Header reply_header(const Collectives::Call& call, const Verdict& verdict) {
  wire::Header h;
  h.kind = wire::MsgKind::apply_reply;
  h.function = call.function();
  h.submitted_us = call.task->submitted_us;
  h.started_us = call.started_us;
  h.completed_us = now_us();
  if (!verdict.ok())
    h.error = {verdict.code, "crew." + std::string(errc_name(verdict.code)), verdict.message, call.function()};
  return h;
}
}  // namespace

std::optional<wire::Outgoing> own_reply(const Collectives::Call& call, const Verdict& verdict, const Value& result) {
  if (!call.is_target()) return std::nullopt;
  wire::Header h = reply_header(call, verdict);
  h.engine_id = call.engine_of(call.me);
  h.msg_ids = {call.task->msg_ids[static_cast<std::size_t>(call.my_target())]};
  return wire::make_message(h, verdict.ok() ? result : Value());
}

wire::Outgoing world_reply(const Collectives::Call& call, const Verdict& verdict, const Value& result,
                           const wire::StreamSpec& streamed) {
  wire::Header h = reply_header(call, verdict);
  h.engine_id = -1;  // the world answers for all its targets
  h.targets = call.task->targets;
  h.msg_ids = call.task->msg_ids;
  h.stream = streamed;
  return wire::make_message(h, verdict.ok() ? result : Value());
}

std::vector<std::uint64_t> target_rows(const Collectives::Call& call, const Value& args, std::uint64_t length) {
  // Without counts (one world: the controller passed the request through), the world's targets
  // are all the targets: the seeds' partition over them.
  auto rows =
      args.size() == 3 ? args[2].get<std::vector<std::uint64_t>>() : seq::partition(length, call.task->targets.size());
  if (rows.size() != call.task->targets.size() || std::accumulate(rows.begin(), rows.end(), std::uint64_t{0}) != length)
    throw_error(errc::bad_arguments, "crew.scatter: the counts do not add up to the sequence's length");
  return rows;
}

std::pair<dtype, std::vector<std::uint64_t>> joined_shape(const Collectives::Call& call,
                                                          const std::vector<Holding>& held) {
  const Holding* first = nullptr;
  std::uint64_t rows = 0;
  for (int p = 0; p < call.participants(); ++p) {
    if (call.target_of[static_cast<std::size_t>(p)] < 0) continue;
    const Holding& h = held[static_cast<std::size_t>(p)];
    if (!first) first = &h;
    rows += h.shape.front();
  }
  auto shape = first->shape;
  shape.front() = rows;
  return {first->type, std::move(shape)};
}

std::string engines_text(const std::vector<int>& engines) {
  std::string out = engines.size() == 1 ? "engine " : "engines ";
  for (std::size_t i = 0; i < engines.size(); ++i) out += (i ? ", " : "") + std::to_string(engines[i]);
  return out;
}

Holding describe_array(const Value* held) {
  Holding h;
  h.status = Holding::Status::missing;
  if (held == nullptr) return h;
  std::string why;
  const auto like = seq::array_like(*held, &why);
  if (!like) {
    h.status = Holding::Status::not_array;
    h.what = held->is_list() ? seq::describe(*held) + ": " + why : seq::describe(*held);
    return h;
  }
  h.status = Holding::Status::ok;
  h.what = seq::describe_shape(like->type, like->shape);
  h.type = like->type;
  h.shape.assign(like->shape.begin(), like->shape.end());
  h.widens = like->widens;
  h.from_list = like->from_list;
  return h;
}

Agreement agree(const Collectives::Call& call, const std::vector<Holding>& held, bool trailing) {
  Agreement out;
  std::optional<dtype> fixed;
  bool int_lists = false, have_shape = false, odd = false;
  struct Part {
    const Holding* h;
    int engine;
    bool empty;
  };
  std::vector<Part> parts;
  for (int p = 0; p < call.participants(); ++p) {
    const Holding& h = held[static_cast<std::size_t>(p)];
    if (call.target_of[static_cast<std::size_t>(p)] < 0 || !h.ok()) continue;
    auto shape = h.shape;
    const bool empty = std::find(shape.begin(), shape.end(), 0) != shape.end();
    parts.push_back({&h, call.engine_of(p), empty});
    if (!h.widens && !fixed) fixed = h.type;
    if (h.widens && !empty) int_lists = true;
    if (trailing) shape.erase(shape.begin());
    // An empty list has no trailing shape of its own: it fits any (its rows are none).
    if (trailing && h.from_list && h.shape[0] == 0) continue;
    if (!have_shape)
      out.shape = std::move(shape), have_shape = true;
    else if (shape != out.shape)
      odd = true;
  }
  out.type = fixed ? *fixed : int_lists ? dtype::int64 : dtype::float64;
  for (const Part& part : parts) {
    const Holding& h = *part.h;
    if (!h.widens)
      odd = odd || h.type != out.type;
    else if (!part.empty || !h.from_list)  // int64 data: as int64 or float64; an empty list: any
      odd = odd || (out.type != dtype::int64 && out.type != dtype::float64);
  }
  if (!odd) return out;
  std::vector<std::pair<std::string, std::vector<int>>> groups;
  for (const Part& part : parts) {
    const std::string& what = part.h->what;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == what; });
    if (it == groups.end()) it = groups.insert(groups.end(), {what, {}});
    it->second.push_back(part.engine);
  }
  for (const auto& [what, engines] : groups) out.groups.push_back(what + " (" + engines_text(engines) + ")");
  return out;
}

Array held_array(const Value& held, dtype as) { return seq::to_array(held, as); }

Allocation allocate(std::size_t n) {
  auto owner = std::make_shared_for_overwrite<std::byte[]>(std::max<std::size_t>(n, 1));
  std::byte* data = owner.get();
  return {data, Buffer::view(std::move(owner), data, n)};
}

}  // namespace collective

using collective::Verdict;

namespace {

using collective::Holding;

/// What one engine holds, for gather: an array (its dtype, shape and bytes) or a list.
Holding describe_sequence(Namespace& ns, const std::string& name) {
  Holding h;
  const Value* v = ns.find(name);
  if (v == nullptr)
    h.status = Holding::Status::missing;
  else if (v->is_list() || (v->is_array() && v->as_array().ndim() > 0))
    h.status = Holding::Status::ok;
  else
    h.status = Holding::Status::not_sequence;
  if (v != nullptr && v->is_array()) {
    const Array& a = v->as_array();
    h.type = a.type();
    h.shape.assign(a.shape().begin(), a.shape().end());
    h.bytes = a.data().size();
  }
  h.kind = v != nullptr && v->is_list() ? Holding::Kind::list : Holding::Kind::array;
  return h;
}

/// What one engine holds, for reduce: a number (kind integer or real), or an array or a list
/// that is one (collective::describe_array, kind array).
Holding describe_operand(Namespace& ns, const std::string& name) {
  const Value* v = ns.find(name);
  if (v == nullptr || !v->is_number()) return collective::describe_array(v);
  Holding h;
  h.status = Holding::Status::ok;
  h.kind = v->is_int() ? Holding::Kind::integer : Holding::Kind::real;
  h.what = seq::describe(*v);
  return h;
}

/// Root: the engines whose holdings have `status`.
std::vector<int> engines_with(const Collectives::Call& call, const std::vector<Holding>& held, Holding::Status status) {
  std::vector<int> out;
  for (int p = 0; p < call.participants(); ++p)
    if (call.target_of[static_cast<std::size_t>(p)] >= 0 && held[static_cast<std::size_t>(p)].status == status)
      out.push_back(call.engine_of(p));
  return out;
}

/// Root: the participant index of engine `engine`.
int participant_of(const Collectives::Call& call, int engine) {
  for (int p = 0; p < call.participants(); ++p)
    if (call.engine_of(p) == engine) return p;
  return 0;
}

/// `n` copies of the identity element of `o` (what a root that holds nothing contributes).
Buffer identity_elements(dtype t, op o, std::uint64_t n) {
  return with_element_type(t, [&](auto tag) {
    using T = decltype(tag);
    T e{};
    switch (o) {
    case op::sum: e = T(0); break;
    case op::prod: e = T(1); break;
    case op::min:
      e = std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
      break;
    case op::max:
      e = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
      break;
    }
    return Buffer::adopt(std::vector<T>(static_cast<std::size_t>(n), e));
  });
}

}  // namespace

// ------------------------------------------------------------------------------ the ops

Collectives::Collectives(MPI_Comm data_comm, const EngineIdentity& identity, Namespace& ns)
    : data_(data_comm), id_(identity), ns_(ns) {
  MPI_Comm_size(data_, &world_size_);
}

Collectives::~Collectives() {
  for (auto& [ranks, comm] : subcomms_)
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
}

MPI_Comm Collectives::comm_for(const std::vector<int>& ranks) {
  if (static_cast<int>(ranks.size()) == world_size_) return data_;
  if (auto it = subcomms_.find(ranks); it != subcomms_.end()) return it->second;
  const MPI_Comm comm = own_sub_comm(data_, ranks);
  subcomms_.emplace(ranks, comm);
  return comm;
}

std::optional<wire::Outgoing> Collectives::run(wire::Collective op, const wire::Header& task,
                                               std::span<const Buffer> payload) {
  Call call;
  call.op = op;
  call.task = &task;
  call.started_us = now_us();
  call.first_engine = id_.engine_id - id_.rank;
  std::vector<std::pair<int, int>> parts{{0, -1}};  // (rank, target index)
  for (std::size_t i = 0; i < task.targets.size(); ++i) {
    const int rank = task.targets[i] - call.first_engine;
    if (rank == 0)
      parts.front().second = static_cast<int>(i);
    else if (rank > 0 && rank < world_size_)
      parts.emplace_back(rank, static_cast<int>(i));
  }
  std::sort(parts.begin() + 1, parts.end());
  for (const auto& [rank, target] : parts) {
    if (rank == id_.rank) call.me = static_cast<int>(call.ranks.size());
    call.ranks.push_back(rank);
    call.target_of.push_back(target);
  }
  call.comm = comm_for(call.ranks);
  // Arguments decode the same on every rank (the bridge built them): a failure here is a bug
  // that would leave the others waiting, so it is reported loudly but still joins the op.
  try {
    call.args = wire::decode_value(payload);
  } catch (const Error&) {
    call.args = Value(Value::List{});
  }
  // Each op's one plan. How its data moves between the client and the world is the client's
  // choice, the same on every rank (wire::Transfer); inside the world it moves by MPI from or to
  // the root, or each rank copies its own part with the client.
  const wire::Transfer how = task.stream.transfer();
  if (!wire::allows(op, how)) {  // the controller refuses these: a bug, but no rank may wait for it
    const Verdict refused{errc::bad_arguments,
                          std::string(wire::collective_function(op)) + " cannot move its data " +
                              std::string(wire::transfer_name(how)),
                          {}};
    if (!wire::answers_once_per_world(op)) return collective::own_reply(call, refused);
    return call.root() ? std::optional(collective::world_reply(call, refused)) : std::nullopt;
  }
  switch (op) {
  case wire::Collective::scatter: return how == wire::Transfer::in_message ? scatter(call) : scatter_from_client(call);
  case wire::Collective::gather: return gather(call);  // its verdict picks MPI, a stream back or single copy
  case wire::Collective::push: return how == wire::Transfer::single_copy ? push_single_copy(call) : push(call);
  case wire::Collective::reduce: return reduce(call);  // by MPI; then, single copy: the root writes the result
  case wire::Collective::save_h5: return save_h5(call);
  case wire::Collective::load_h5: return load_h5(call);
  case wire::Collective::none: break;
  }
  return std::nullopt;
}

// scatter(name, data, counts): the root splits its world's part along the first axis.
std::optional<wire::Outgoing> Collectives::scatter(Call& call) {
  Verdict v;
  std::vector<std::byte> list_blobs;  // root, lists: every participant's encoded sub-list
  const Value& args = call.args;
  if (call.root()) {
    try {
      if (!args.is_list() || args.size() < 2 || args.size() > 3 || !args[0].is_string() ||
          (args.size() == 3 && !args[2].is_list()))
        throw_error(errc::bad_arguments, "crew.scatter takes (name, sequence[, counts])");
      const Value& data = args[1];
      const std::uint64_t length = seq::length(data, "scatter");
      const auto rows = collective::target_rows(call, args, length);
      std::uint64_t at = 0;
      for (int p = 0; p < call.participants(); ++p) {
        const int t = call.target_of[static_cast<std::size_t>(p)];
        const std::uint64_t n = t >= 0 ? rows[static_cast<std::size_t>(t)] : 0;
        v.info.rows.push_back(n);
        if (data.is_array()) {
          v.info.bytes.push_back(n * (length ? data.as_array().data().size() / length : 0));
        } else {
          const auto blob = collective::to_blob(seq::take(data, at, n));
          list_blobs.insert(list_blobs.end(), blob.begin(), blob.end());
          v.info.bytes.push_back(blob.size());
        }
        at += n;
      }
      if (data.is_array()) {
        const Array& a = data.as_array();
        v.info.type = a.type();
        v.info.shape.assign(a.shape().begin() + 1, a.shape().end());
      }
    } catch (const Error& e) {
      v.code = e.code();
      v.message = e.message();
    }
  }
  v = collective::share_verdict(call, std::move(v));
  if (!v.ok()) return collective::own_reply(call, v);

  const auto& bytes = v.info.bytes;
  const std::uint64_t mine = bytes[static_cast<std::size_t>(call.me)];
  auto recv = collective::allocate(static_cast<std::size_t>(mine));
  const std::byte* send = nullptr;
  if (call.root()) send = v.info.type ? args[1].as_array().data().data() : list_blobs.data();
  mpi_bulk::scatterv(call.comm, 0, send, bytes, recv.data);
  if (!call.is_target()) return std::nullopt;

  Value part;
  if (v.info.type) {
    std::vector<std::uint64_t> shape{v.info.rows[static_cast<std::size_t>(call.me)]};
    shape.insert(shape.end(), v.info.shape.begin(), v.info.shape.end());
    part = Value(Array(*v.info.type, std::move(shape), recv.buffer));
  } else {
    part = collective::from_blob(recv.buffer.bytes());
  }
  ns_.set(call.args[0].as_string(), std::move(part));
  return collective::own_reply(call, v);
}

// gather(name): every target's sequence, joined in engine order at the root.
std::optional<wire::Outgoing> Collectives::gather(Call& call) {
  // (name), or (name, rows) where the client made room for the joined array (single copy)
  const std::string name =
      call.args.is_list() && (call.args.size() == 1 || call.args.size() == 2) && call.args[0].is_string()
          ? call.args[0].as_string()
          : std::string();
  Holding held = call.is_target() ? describe_sequence(ns_, name) : Holding{};
  std::vector<std::byte> my_blob;  // lists travel encoded
  if (held.ok() && held.kind == Holding::Kind::list) {
    my_blob = collective::to_blob(*ns_.find(name));
    held.bytes = my_blob.size();
  }
  const auto all = collective::gather_holdings(call, held);

  Verdict v;
  if (call.root()) {
    const Holding* first = nullptr;  // the first target's: the others must be alike
    std::vector<std::uint64_t> bytes;
    std::vector<int> odd;  // engines whose kind differs from the first
    for (int p = 0; p < call.participants(); ++p) {
      const Holding& h = all[static_cast<std::size_t>(p)];
      const bool target = call.target_of[static_cast<std::size_t>(p)] >= 0;
      bytes.push_back(target ? h.bytes : 0);
      if (!target || !h.ok()) continue;
      if (!first) first = &h;
      const bool alike = h.kind == first->kind &&
                         (h.kind == Holding::Kind::list ||
                          (h.type == first->type && std::equal(h.shape.begin() + 1, h.shape.end(),
                                                               first->shape.begin() + 1, first->shape.end())));
      if (!alike) odd.push_back(call.engine_of(p));
    }
    const bool lists = first != nullptr && first->kind == Holding::Kind::list;
    if (name.empty()) {
      v = {errc::bad_arguments, "crew.gather takes (name)", {}};
    } else if (auto missing = engines_with(call, all, Holding::Status::missing); !missing.empty()) {
      v = {errc::unknown_name,
           "no '" + name + "' on " + collective::engines_text(missing) + " (push or scatter it first)",
           {}};
    } else if (auto bad = engines_with(call, all, Holding::Status::not_sequence); !bad.empty()) {
      v = {errc::not_a_sequence,
           "'" + name + "' is not an array or a list on " + collective::engines_text(bad) +
               "; gather joins sequences (pull fetches other values)",
           {}};
    } else if (!odd.empty()) {
      v = {errc::mismatch,
           "'" + name + "' has another dtype, trailing shape or kind on " + collective::engines_text(odd) +
               " than on the first engine; gather needs them alike",
           {}};
    } else {
      const std::uint64_t total = std::accumulate(bytes.begin(), bytes.end(), std::uint64_t{0});
      // One world's array of more than a chunk goes back as a stream (engine/stream_gather.cpp).
      const bool streams = !lists && call.task->stream.reply_may_stream && sink_ && total > wire::stream_chunk_bytes();
      const bool single_copy = call.task->stream.transfer() == wire::Transfer::single_copy;
      if (single_copy && lists) {
        v = {errc::mismatch, "'" + name + "' is a list, not an array, and cannot be copied into the client's", {}};
      } else {
        v.info.bytes = std::move(bytes);
        v.info.list = lists;
        v.info.stream = streams && !single_copy;
        v.info.single_copy = single_copy;
      }
    }
  }
  v = collective::share_verdict(call, std::move(v));
  if (!v.ok()) return call.root() ? std::optional(collective::world_reply(call, v)) : std::nullopt;

  if (v.info.single_copy) return gather_single_copy(call, v, all, name);
  if (v.info.stream) return gather_streamed(call, v, all, name);
  const auto& bytes = v.info.bytes;
  const std::uint64_t total = std::accumulate(bytes.begin(), bytes.end(), std::uint64_t{0});
  const std::byte* send = nullptr;
  if (call.is_target()) send = v.info.list ? my_blob.data() : ns_.find(name)->as_array().data().data();
  auto recv = collective::allocate(call.root() ? static_cast<std::size_t>(total) : 0);
  mpi_bulk::gatherv(call.comm, 0, send, bytes, recv.data);
  if (!call.root()) return std::nullopt;

  Value joined;
  if (v.info.list) {
    std::vector<Value> parts;
    std::uint64_t at = 0;
    for (auto n : bytes) {
      if (n) parts.push_back(collective::from_blob(recv.buffer.bytes().subspan(at, n)));
      at += n;
    }
    joined = seq::concat(parts);
  } else {
    // The parts arrived in engine order, already one contiguous array.
    auto [type, shape] = collective::joined_shape(call, all);
    joined = Value(Array(type, std::move(shape), recv.buffer));
  }
  return collective::world_reply(call, v, joined);
}

// push({name: value, ...}): one broadcast inside the world.
std::optional<wire::Outgoing> Collectives::push(Call& call) {
  Verdict v;
  std::vector<std::byte> blob;
  if (call.root()) {
    if (!call.args.is_list() || call.args.size() != 1 || !call.args[0].is_dict())
      v = {errc::bad_arguments, "crew.push takes ({name: value, ...})", {}};
    else
      blob = collective::to_blob(call.args[0]);
  }
  v = collective::share_verdict(call, std::move(v));
  if (!v.ok()) return collective::own_reply(call, v);
  blob = mpi_bulk::bcast_blob(call.comm, 0, std::move(blob));
  if (!call.is_target()) return std::nullopt;
  const Value values = call.root() ? call.args[0] : collective::from_blob(blob);
  for (const auto& [k, x] : values.as_dict()) ns_.set(k, x);
  return collective::own_reply(call, v);
}

// reduce(name, op): element by element across the targets, at the root.
std::optional<wire::Outgoing> Collectives::reduce(Call& call) {
  const Value& args = call.args;
  const bool args_ok = args.is_list() && args.size() == 2 && args[0].is_string() && args[1].is_string() &&
                       op_from_name(args[1].as_string());
  const std::string name = args_ok ? args[0].as_string() : std::string();
  const Holding held = call.is_target() ? describe_operand(ns_, name) : Holding{};
  const auto all = collective::gather_holdings(call, held);

  Verdict v;
  if (call.root()) {
    if (!args_ok) {
      v = {errc::bad_arguments, "crew.reduce takes (name, op) with op one of sum, prod, min, max", {}};
    } else if (auto missing = engines_with(call, all, Holding::Status::missing); !missing.empty()) {
      v = {errc::unknown_name,
           "no '" + name + "' on " + collective::engines_text(missing) + " (push or scatter it first)",
           {}};
    } else if (auto bad = engines_with(call, all, Holding::Status::not_array); !bad.empty()) {
      v = {errc::mismatch,
           "'" + name + "' is not a number or an array on " + collective::engines_text(bad) + " (" +
               all[static_cast<std::size_t>(participant_of(call, bad.front()))].what +
               "); reduce combines numbers, arrays and lists of numbers",
           {}};
    } else {
      // All numbers (int64, or float64 if any is a double), or all arrays (lists as arrays) of
      // one dtype and shape.
      bool numbers = true, arrays = true, doubles = false;
      std::vector<std::pair<std::string, std::vector<int>>> kinds;  // what -> engines, for the error
      for (int p = 0; p < call.participants(); ++p) {
        if (call.target_of[static_cast<std::size_t>(p)] < 0) continue;
        const Holding& h = all[static_cast<std::size_t>(p)];
        const bool array = h.kind == Holding::Kind::array;
        numbers = numbers && !array;
        arrays = arrays && array;
        doubles = doubles || h.kind == Holding::Kind::real;
        const std::string what = array ? h.what : "a number";
        auto it = std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) { return k.first == what; });
        if (it == kinds.end()) it = kinds.insert(kinds.end(), {what, {}});
        it->second.push_back(call.engine_of(p));
      }
      std::vector<std::string> groups;
      collective::Agreement agreed;
      if (arrays) {
        agreed = collective::agree(call, all, false);
        groups = agreed.groups;
      } else if (!numbers) {
        for (const auto& [what, engines] : kinds)
          groups.push_back(what + " (" + collective::engines_text(engines) + ")");
      }
      if (!groups.empty()) {
        std::string others;
        for (std::size_t i = 1; i < groups.size(); ++i) others += (i > 1 ? ", " : "") + groups[i];
        v = {errc::mismatch,
             "cannot " + args[1].as_string() + " '" + name + "': " + groups.front() + " with " + others +
                 "; reduce combines values element by element, so every engine needs one dtype and shape",
             {}};
      } else {
        v.info.scalar = numbers;
        v.info.type = numbers ? (doubles ? dtype::float64 : dtype::int64) : agreed.type;
        if (!numbers) v.info.shape = agreed.shape;
        v.info.reduce_op = *op_from_name(args[1].as_string());
      }
    }
  }
  v = collective::share_verdict(call, std::move(v));
  if (!v.ok()) return call.root() ? std::optional(collective::world_reply(call, v)) : std::nullopt;

  const dtype type = v.info.type.value_or(dtype::float64);
  const op o = v.info.reduce_op;
  const bool scalar = v.info.scalar;
  const auto& shape = v.info.shape;
  std::uint64_t n = 1;
  if (!scalar)
    for (auto d : shape) n *= d;
  Buffer mine;
  if (!call.is_target()) {
    mine = identity_elements(type, o, n);
  } else {
    const Value& x = *ns_.find(name);
    if (!scalar)
      mine = collective::held_array(x, type).data();  // a list becomes the array the root agreed on
    else if (type == dtype::int64)
      mine = Buffer::adopt(std::vector<std::int64_t>{x.as_int()});
    else
      mine = Buffer::adopt(std::vector<double>{x.as_double()});
  }
  auto out = collective::allocate(call.root() ? static_cast<std::size_t>(n * dtype_size(type)) : 0);
  mpi_bulk::reduce(call.comm, 0, mine.data(), out.data, n, type, o);
  if (!call.root()) return std::nullopt;
  if (call.task->stream.transfer() == wire::Transfer::single_copy) {  // into the client's memory
    const wire::StreamSpec& room = call.task->stream;
    if (scalar || room.dtype != static_cast<std::uint8_t>(type) || room.shape != shape)
      return collective::world_reply(
          call, {errc::mismatch,
                 "'" + name +
                     "' changed while the reduce ran (its dtype or shape is not the one the client made "
                     "room for); reduce again",
                 {}});
    if (std::string failure = peer_memory::write(room.peer.pid, room.peer.address, out.data, room.bytes);
        !failure.empty())
      return collective::world_reply(call, {errc::aborted,
                                            "copying the result into the client failed: " + failure +
                                                " (CREW_SINGLE_COPY=0 in the client turns same-host copies off)",
                                            {}});
    return collective::world_reply(call, v);  // the result is in the client already
  }
  Value result;
  if (!scalar)
    result = Value(Array(type, shape, out.buffer));
  else if (type == dtype::int64)
    result = Value(Array(type, {1}, out.buffer).at_int(0));
  else
    result = Value(Array(type, {1}, out.buffer).at_double(0));
  return collective::world_reply(call, v, result);
}

}  // namespace crew::detail
