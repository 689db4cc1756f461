// The data verbs: scatter, gather, reduce, save-h5, load-h5 (the hybrid data path, DESIGN §5).
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli/npy.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"
#include "cli/verbs.hpp"
#include "cli/waiting.hpp"
#include "common/targets.hpp"
#include "crew/client.hpp"
#include "values/array_like.hpp"
#include "values/json.hpp"
#include "values/sequence.hpp"

namespace crew::cli {
namespace {

/// Waits (--timeout, Ctrl-C); prints each distinct error once with the engines that reported it;
/// returns the engines that succeeded and the exit status. With --json, a failure prints its
/// error object here: the verb then prints nothing more (no success object of what did succeed).
std::pair<std::vector<int>, int> per_engine_outcome(const Common& c, const AsyncResult& ar) {
  wait_for(c, ar);
  const int status = report_engine_errors(ar);
  if (status != exit_ok && c.json) std::cout << engine_errors_json(ar).dump() << std::endl;
  std::vector<int> done;
  for (std::size_t i = 0; i < ar.size(); ++i)
    if (!ar.error(i)) done.push_back(ar.targets()[i]);
  std::sort(done.begin(), done.end());
  return {done, status};
}

/// A joined result (gather, reduce): the value, or the error reported once (--json: its error
/// object on stdout).
std::optional<Value> joined_outcome(const Common& c, const AsyncResult& ar, int& status) {
  wait_for(c, ar);
  try {
    return ar.get();
  } catch (const RemoteError& e) {
    status = report(e, c.json);
    return std::nullopt;
  }
}

/// A joined value written to `npy` (gather --npy, reduce --npy); InputError if it is not an array.
Value write_joined(const std::string& name, const Value& v, const std::string& npy) {
  std::string why;
  if (!seq::array_like(v, &why))  // lists of numbers are written as the arrays they make
    throw_error(errc::bad_option, "'" + name + "' is " + seq::describe(v) + " on the engines, not an array (" + why +
                                      "); --npy writes arrays (drop --npy to see it)");
  Value joined(*to_array(v));
  write_npy(npy, joined.as_array());
  return joined;
}

/// `file` as the engines open it: a relative path is relative to the engines' working directory
/// (where `crew cluster start` ran), so it is made absolute with the first engine's, which the
/// messages then show.
std::string engine_path(const Common& c, const Client& rc, const DirectView& view, const std::string& file) {
  const std::filesystem::path path(file);
  if (path.is_absolute() || view.targets().empty()) return file;
  const AsyncResult ar = rc[view.targets().front()].apply_list("summary", {});
  wait_for(c, ar);
  return (std::filesystem::path(ar.get()["cwd"].as_string()) / path).lexically_normal().string();
}

}  // namespace

int scatter(const Common& c, const std::string& name, const std::string& json, const std::string& npy) {
  if (json.empty() == npy.empty())
    throw_error(errc::bad_option, "give the sequence either as JSON (e.g. '[1,2,3]') or with --npy FILE");
  check_variable_name(name, "scatter");
  Value data = npy.empty() ? parse_json(json) : Value(read_npy(npy));
  const std::uint64_t length = seq::length(data, "scatter");
  // Its shape, if it is an array or a list that makes one: "scattered x (4 elements)" for 1-d
  // data, "scattered x (10x2: 10 rows)" for more dimensions.
  std::vector<std::uint64_t> shape{length};
  if (const auto like = seq::array_like(data)) shape = like->shape;
  const Client rc = connect(c);
  const auto [done, status] = per_engine_outcome(c, target_view(rc, c.targets).scatter_value(name, std::move(data)));
  if (status != exit_ok && c.json) return status;
  if (c.json) {
    std::cout << nlohmann::json{{"scattered", name}, {"length", length}, {"shape", shape}, {"engines", done}}.dump()
              << std::endl;
  } else if (!done.empty()) {
    std::string size = std::to_string(length) + " elements";
    if (shape.size() > 1) {
      size.clear();
      for (auto d : shape) size += (size.empty() ? "" : "x") + std::to_string(d);
      size += ": " + std::to_string(length) + " rows";
    }
    std::cout << "scattered " << name << " (" << size << ") to engine" << (done.size() == 1 ? " " : "s ")
              << format_id_ranges(done) << std::endl;
  }
  return status;
}

namespace {

/// gather and reduce: the joined value printed (above a screenful, its shape: shown_value), or
/// written to `npy`.
int print_joined(const Common& c, const std::string& verb, const std::string& name, const AsyncResult& ar,
                 const std::string& npy) {
  int status = exit_ok;
  const auto v = joined_outcome(c, ar, status);
  if (!v) return status;
  if (npy.empty()) {
    std::cout << (c.json ? value_text(*v) : shown_value(*v, "--npy FILE")) << std::endl;
    return status;
  }
  const Value joined = write_joined(name, *v, npy);
  const std::string path = std::filesystem::absolute(npy).lexically_normal().string();
  if (c.json)
    std::cout << nlohmann::json{{verb == "gather" ? "gathered" : "reduced", name},
                                {"npy", path},
                                {"shape", joined.as_array().shape()},
                                {"length", seq::length(joined, verb.c_str())}}
                     .dump()
              << std::endl;
  else
    std::cout << (verb == "gather" ? "gathered " : "reduced ") << name << " (" << seq::describe(joined) << ") into "
              << path << std::endl;
  return status;
}

}  // namespace

int gather(const Common& c, const std::string& name, const std::string& npy) {
  const Client rc = connect(c);
  return print_joined(c, "gather", name, target_view(rc, c.targets).gather(name), npy);
}

int reduce(const Common& c, const std::string& name, const std::string& op_text, const std::string& npy) {
  const auto o = op_from_name(op_text);
  if (!o) throw_error(errc::bad_option, "--op " + op_text + ": use sum, prod, min or max");
  const Client rc = connect(c);
  return print_joined(c, "reduce", name, target_view(rc, c.targets).reduce(name, *o), npy);
}

int save_h5(const Common& c, const std::string& file, const std::string& name, const std::string& dataset) {
  const Client rc = connect(c);
  const DirectView view = target_view(rc, c.targets);
  const std::string path = engine_path(c, rc, view, file);
  const AsyncResult ar = view.save_h5(path, name, dataset);
  const auto [done, status] = per_engine_outcome(c, ar);
  if (status != exit_ok && c.json) return status;
  std::uint64_t rows = 0;
  std::string written;
  for (std::size_t i = 0; i < ar.size(); ++i)
    if (!ar.error(i)) {
      rows += static_cast<std::uint64_t>(ar.value(i)["rows"].as_int());
      written = ar.value(i)["dataset"].as_string();
    }
  if (c.json)
    std::cout << nlohmann::json{{"file", path}, {"dataset", written}, {"rows", rows}, {"engines", done}}.dump()
              << std::endl;
  else if (!done.empty())
    std::cout << "wrote " << name << " to " << path << ":" << written << " (" << rows << " rows from engine"
              << (done.size() == 1 ? " " : "s ") << format_id_ranges(done) << ")" << std::endl;
  return status;
}

int load_h5(const Common& c, const std::string& file, const std::string& dataset, const std::string& name) {
  check_variable_name(name, "load-h5");
  const Client rc = connect(c);
  const DirectView view = target_view(rc, c.targets);
  const std::string path = engine_path(c, rc, view, file);
  const AsyncResult ar = view.load_h5(path, dataset, name);
  const auto [done, status] = per_engine_outcome(c, ar);
  if (status != exit_ok && c.json) return status;
  std::uint64_t rows = 0;
  for (std::size_t i = 0; i < ar.size(); ++i)
    if (!ar.error(i)) rows += static_cast<std::uint64_t>(ar.value(i)["rows"].as_int());
  if (c.json)
    std::cout
        << nlohmann::json{{"loaded", name}, {"file", path}, {"dataset", dataset}, {"rows", rows}, {"engines", done}}
               .dump()
        << std::endl;
  else if (!done.empty())
    std::cout << "loaded " << path << ":" << dataset << " into " << name << " (" << rows << " rows on engine"
              << (done.size() == 1 ? " " : "s ") << format_id_ranges(done) << ")" << std::endl;
  return status;
}

}  // namespace crew::cli
