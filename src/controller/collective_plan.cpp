// Splitting collective requests per world.
#include "controller/collective_plan.hpp"

#include <algorithm>
#include <functional>

#include "crew/error.hpp"
#include "values/sequence.hpp"

namespace crew::controller {
namespace {

void expect_args(const Value& args, std::size_t n, const char* signature) {
  if (!args.is_list() || args.size() != n) throw_error(errc::bad_option, std::string("expected ") + signature);
  for (std::size_t i = 0; i < n; ++i)
    if (!(args[i].is_string() || (i == 1 && std::string_view(signature).starts_with("scatter"))))
      throw_error(errc::bad_option, std::string("expected ") + signature + "; argument " + std::to_string(i + 1) +
                                        " is " + std::string(args[i].type_name()));
}

/// Each world's share of a partition over all the targets: its targets' row counts, and their sum.
struct WorldRows {
  Value::List counts;
  std::uint64_t rows = 0;
};
std::vector<WorldRows> rows_by_world(const std::vector<WorldShare>& shares, const std::vector<std::uint64_t>& sizes) {
  std::vector<WorldRows> out;
  std::size_t t = 0;
  for (const auto& s : shares) {
    WorldRows w;
    for (std::size_t k = 0; k < s.targets.size(); ++k, ++t) {
      w.counts.push_back(static_cast<std::int64_t>(sizes[t]));
      w.rows += sizes[t];
    }
    out.push_back(std::move(w));
  }
  return out;
}

/// A streamed scatter: each world's rows, as bytes of the whole array and as a stream of its own.
void split_stream(std::vector<WorldShare>& shares, std::size_t targets, const Value& args,
                  const wire::StreamSpec& stream) {
  if (!args.is_list() || args.size() != 2 || !args[0].is_string() || !args[1].is_null())
    throw_error(errc::bad_option, "expected scatter(name, null) before a streamed array");
  if (stream.shape.empty() || stream.shape[0] == 0 || stream.bytes % stream.shape[0] != 0)
    throw_error(errc::bad_option, "a streamed array needs rows: shape " + std::to_string(stream.shape.size()) + "-d, " +
                                      std::to_string(stream.bytes) + " bytes");
  const std::uint64_t row_bytes = stream.bytes / stream.shape[0];
  auto parts = rows_by_world(shares, seq::partition(stream.shape[0], targets));
  std::uint64_t row = 0;
  for (std::size_t w = 0; w < shares.size(); ++w) {
    WorldShare& s = shares[w];
    Value::List& counts = parts[w].counts;
    const std::uint64_t rows = parts[w].rows;
    s.stream_begin = row * row_bytes;
    if (rows == 0) {  // fewer rows than targets: this world's engines get empty arrays, sent inline
      std::vector<std::uint64_t> shape = stream.shape;
      shape[0] = 0;
      s.body = Value::list({args[0], Value(Array(static_cast<dtype>(stream.dtype), std::move(shape), Buffer())),
                            Value(std::move(counts))});
      continue;
    }
    s.stream = stream;
    s.stream.shape[0] = rows;
    s.stream.bytes = rows * row_bytes;
    if (s.stream.peer.active()) s.stream.peer.address += s.stream_begin;  // the engines copy from there
    if (shares.size() > 1) s.body = Value::list({args[0], Value(), Value(std::move(counts))});
    row += rows;
  }
}

/// A gather into the client's memory (gather(name, rows), `stream` the joined array, its place
/// in the client): each world's targets write their rows at the world's place in it.
void split_landing(std::vector<WorldShare>& shares, std::size_t targets, const Value& args,
                   const wire::StreamSpec& stream) {
  if (!args.is_list() || args.size() != 2 || !args[0].is_string() || !args[1].is_list() || args[1].size() != targets)
    throw_error(errc::bad_option, "expected gather(name, rows per target) to copy into the client");
  const auto sizes = args[1].get<std::vector<std::uint64_t>>();
  std::uint64_t length = 0;
  for (auto n : sizes) length += n;
  if (stream.shape.empty() || stream.shape[0] != length || (length != 0 && stream.bytes % length != 0))
    throw_error(errc::bad_option, "the gather's rows per target do not add up to the rows it made room for");
  const std::uint64_t row_bytes = length ? stream.bytes / length : 0;
  auto parts = rows_by_world(shares, sizes);
  std::uint64_t row = 0;
  for (std::size_t w = 0; w < shares.size(); ++w) {
    WorldShare& s = shares[w];
    s.stream = stream;
    s.stream.shape[0] = parts[w].rows;
    s.stream.bytes = parts[w].rows * row_bytes;
    s.stream.peer.address += row * row_bytes;
    s.body = Value::list({args[0]});
    row += parts[w].rows;
  }
}

}  // namespace

std::vector<WorldShare> split_by_world(wire::Collective op, const std::vector<int>& targets,
                                       const std::vector<std::string>& msg_ids, const std::vector<int>& worlds,
                                       const Value& args, const wire::StreamSpec& stream) {
  std::vector<WorldShare> shares;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (shares.empty() || shares.back().world != worlds[i]) shares.push_back(WorldShare{worlds[i], {}, {}, {}, {}, 0});
    shares.back().targets.push_back(targets[i]);
    shares.back().msg_ids.push_back(msg_ids[i]);
  }
  switch (op) {
  case wire::Collective::scatter: {
    if (stream.active()) {
      split_stream(shares, targets.size(), args, stream);
      break;
    }
    // One world: it gets the request as it came (no bulk decoding here); its root splits it.
    if (shares.size() == 1) break;
    expect_args(args, 2, "scatter(name, sequence)");
    const Value& data = args[1];
    auto parts = rows_by_world(shares, seq::partition(seq::length(data, "scatter"), targets.size()));
    std::uint64_t offset = 0;
    for (std::size_t w = 0; w < shares.size(); ++w) {
      shares[w].body =
          Value::list({args[0], seq::take(data, offset, parts[w].rows), Value(std::move(parts[w].counts))});
      offset += parts[w].rows;
    }
    break;
  }
  case wire::Collective::gather:
    if (stream.peer.active()) split_landing(shares, targets.size(), args, stream);
    break;
  case wire::Collective::push:  // copied from the client: every world's targets copy all of it
    if (stream.peer.active())
      for (auto& s : shares) s.stream = stream;
    break;
  case wire::Collective::reduce:  // one world writes its result into the client; several answer here
    if (stream.peer.active() && shares.size() == 1) shares.front().stream = stream;
    break;
  case wire::Collective::load_h5: {
    expect_args(args, 3, "load_h5(file, dataset, name)");
    std::int64_t first = 0;
    for (auto& s : shares) {
      s.body = Value::list({args[0], args[1], args[2], first, static_cast<std::int64_t>(targets.size())});
      first += static_cast<std::int64_t>(s.targets.size());
    }
    break;
  }
  case wire::Collective::save_h5: {
    expect_args(args, 3, "save_h5(file, name, dataset)");
    bool create = true;
    for (auto& s : shares) {
      s.body = Value::list({args[0], args[1], args[2], create, static_cast<std::int64_t>(shares.size())});
      create = false;
    }
    break;
  }
  default: break;
  }
  return shares;
}

bool needs_args(wire::Collective op, const std::vector<int>& worlds) {
  switch (op) {
  case wire::Collective::scatter:
    return std::adjacent_find(worlds.begin(), worlds.end(), std::not_equal_to<>()) != worlds.end();
  case wire::Collective::load_h5:
  case wire::Collective::save_h5:
  case wire::Collective::reduce: return true;
  default: return false;
  }
}

}  // namespace crew::controller
