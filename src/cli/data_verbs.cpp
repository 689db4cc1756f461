// The data verbs: scatter, gather, reduce, save-h5, load-h5 (the hybrid data path, DESIGN §5).
#include <algorithm>
#include <iostream>

#include "cli/npy.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"
#include "cli/verbs.hpp"
#include "common/targets.hpp"
#include "crew/client.hpp"
#include "values/array_like.hpp"
#include "values/json.hpp"
#include "values/sequence.hpp"

namespace crew::cli {
namespace {

/// Waits; prints each distinct error once with the engines that reported it; returns the engines
/// that succeeded and the exit status.
std::pair<std::vector<int>, int> per_engine_outcome(const AsyncResult& ar) {
  ar.wait();
  std::vector<int> done;
  std::vector<std::pair<std::string, std::vector<int>>> errors;  // [crew.x.y] message -> engines
  int status = exit_ok;
  for (std::size_t i = 0; i < ar.size(); ++i) {
    if (auto err = ar.error(i)) {
      const std::string text = format_error(err->code(), err->remote_message());
      auto it = std::find_if(errors.begin(), errors.end(), [&](const auto& e) { return e.first == text; });
      if (it == errors.end()) it = errors.insert(errors.end(), {text, {}});
      it->second.push_back(ar.targets()[i]);
      const auto family = errc_name(err->code());
      status = std::max(status, family.rfind("input.", 0) == 0 ? exit_usage : exit_failure);
    } else {
      done.push_back(ar.targets()[i]);
    }
  }
  for (auto& [text, engines] : errors) {
    std::sort(engines.begin(), engines.end());
    std::cerr << text << " (engine" << (engines.size() == 1 ? " " : "s ") << format_id_ranges(engines) << ")"
              << std::endl;
  }
  return {done, status};
}

/// A joined result (gather, reduce): the value, or the error reported once.
std::optional<Value> joined_outcome(const AsyncResult& ar, int& status) {
  try {
    return ar.get();
  } catch (const RemoteError& e) {
    std::cerr << e.what() << std::endl;
    status = errc_name(e.code()).rfind("input.", 0) == 0 ? exit_usage : exit_failure;
    return std::nullopt;
  }
}

}  // namespace

int scatter(const Common& c, const std::string& name, const std::string& json, const std::string& npy) {
  if (json.empty() == npy.empty())
    throw InputError(errc::bad_option, "give the sequence either as JSON (e.g. '[1,2,3]') or with --npy FILE");
  check_variable_name(name, "scatter");
  Value data = npy.empty() ? parse_json(json) : Value(read_npy(npy));
  const std::uint64_t length = seq::length(data, "scatter");
  // Its shape, if it is an array or a list that makes one: "scattered x (4 elements)" for 1-d
  // data, "scattered x (10x2: 10 rows)" for more dimensions.
  std::vector<std::uint64_t> shape{length};
  if (const auto like = seq::array_like(data)) shape = like->shape;
  const Client rc = connect(c);
  const auto [done, status] = per_engine_outcome(target_view(rc, c.targets).scatter_value(name, std::move(data)));
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

int gather(const Common& c, const std::string& name, const std::string& npy) {
  const Client rc = connect(c);
  int status = exit_ok;
  const auto v = joined_outcome(target_view(rc, c.targets).gather(name), status);
  if (!v) return status;
  if (!npy.empty()) {
    std::string why;
    if (!seq::array_like(*v, &why))  // lists of numbers are written as the arrays they make
      throw InputError(errc::bad_option, "'" + name + "' is " + seq::describe(*v) + " on the engines, not an array (" +
                                             why + "); --npy writes arrays (drop --npy)");
    const Array joined = *to_array(*v);
    write_npy(npy, joined);
    if (c.json)
      std::cout << nlohmann::json{{"gathered", name}, {"npy", npy}, {"length", seq::length(*v, "gather")}}.dump()
                << std::endl;
    else
      std::cout << "gathered " << name << " (" << seq::describe(Value(joined)) << ") into " << npy << std::endl;
    return status;
  }
  std::cout << value_text(*v) << std::endl;
  return status;
}

int reduce(const Common& c, const std::string& name, const std::string& op_text) {
  const auto o = op_from_name(op_text);
  if (!o) throw InputError(errc::bad_option, "--op " + op_text + ": use sum, prod, min or max");
  const Client rc = connect(c);
  int status = exit_ok;
  const auto v = joined_outcome(target_view(rc, c.targets).reduce(name, *o), status);
  if (v) std::cout << value_text(*v) << std::endl;
  return status;
}

int save_h5(const Common& c, const std::string& file, const std::string& name, const std::string& dataset) {
  const Client rc = connect(c);
  const AsyncResult ar = target_view(rc, c.targets).save_h5(file, name, dataset);
  const auto [done, status] = per_engine_outcome(ar);
  std::uint64_t rows = 0;
  std::string written;
  for (std::size_t i = 0; i < ar.size(); ++i)
    if (!ar.error(i)) {
      rows += static_cast<std::uint64_t>(ar.value(i)["rows"].as_int());
      written = ar.value(i)["dataset"].as_string();
    }
  if (c.json)
    std::cout << nlohmann::json{{"file", file}, {"dataset", written}, {"rows", rows}, {"engines", done}}.dump()
              << std::endl;
  else if (!done.empty())
    std::cout << "wrote " << name << " to " << file << ":" << written << " (" << rows << " rows from engine"
              << (done.size() == 1 ? " " : "s ") << format_id_ranges(done) << ")" << std::endl;
  return status;
}

int load_h5(const Common& c, const std::string& file, const std::string& dataset, const std::string& name) {
  check_variable_name(name, "load-h5");
  const Client rc = connect(c);
  const AsyncResult ar = target_view(rc, c.targets).load_h5(file, dataset, name);
  const auto [done, status] = per_engine_outcome(ar);
  std::uint64_t rows = 0;
  for (std::size_t i = 0; i < ar.size(); ++i)
    if (!ar.error(i)) rows += static_cast<std::uint64_t>(ar.value(i)["rows"].as_int());
  if (c.json)
    std::cout
        << nlohmann::json{{"loaded", name}, {"file", file}, {"dataset", dataset}, {"rows", rows}, {"engines", done}}
               .dump()
        << std::endl;
  else if (!done.empty())
    std::cout << "loaded " << file << ":" << dataset << " into " << name << " (" << rows << " rows on engine"
              << (done.size() == 1 ? " " : "s ") << format_id_ranges(done) << ")" << std::endl;
  return status;
}

}  // namespace crew::cli
