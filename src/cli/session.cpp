// Shared by the CLI verbs.
#include "cli/session.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>

#include "cli/output.hpp"
#include "common/targets.hpp"
#include "values/json.hpp"

namespace crew::cli {

std::optional<std::chrono::steady_clock::time_point> Common::deadline() const {
  if (timeout_s <= 0) return std::nullopt;
  return started +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(timeout_s));
}

std::chrono::milliseconds Common::controller_timeout() const {
  auto ms = std::chrono::milliseconds(static_cast<long>(connect_timeout_s * 1000));
  if (const auto end = deadline()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*end - std::chrono::steady_clock::now());
    ms = std::clamp(left, std::chrono::milliseconds(1), ms);
  }
  return ms;
}

Client connect(const Common& c) {
  ClientOptions options;
  options.timeout = c.controller_timeout();
  options.ssh = c.ssh;
  return Client(c.profile, options);
}

bool no_controller(const Error& e) { return e.code() == errc::no_profile || e.code() == errc::controller_gone; }

DirectView target_view(const Client& rc, const std::string& spec) {
  auto ids = parse_targets(spec);
  if (!ids) {
    auto all = rc.ids();
    if (all.empty()) throw_error(errc::unknown_target, "the cluster has no engines alive; see `crew engines`");
    return rc[all];
  }
  return rc[*ids];
}

Value parse_argument(const std::string& text, const std::string& what) {
  try {
    return parse_json(text);
  } catch (const InputError& e) {
    std::string hint;
    if (!text.empty() && text.front() != '"' && text.front() != '[' && text.front() != '{')
      hint = "; strings need JSON quotes, e.g. '\"" + text + "\"'";
    throw_error(errc::bad_json, what + ": " + e.message() + hint);
  }
}

nlohmann::json error_json(const RemoteError& e) {
  auto out = error_object(e);
  out["$error"].erase("engine");  // the key it sits under says which engine
  return out;
}

namespace {

/// One error as several engines reported it alike.
struct SameError {
  RemoteError error;
  std::vector<int> engines;  ///< ascending
};

std::vector<SameError> distinct_errors(const AsyncResult& ar) {
  std::vector<SameError> distinct;
  for (std::size_t i = 0; i < ar.size(); ++i) {
    auto e = ar.error(i);
    if (!e) continue;
    auto it = std::find_if(distinct.begin(), distinct.end(), [&](const SameError& s) {
      return s.error.code() == e->code() && s.error.type() == e->type() &&
             s.error.remote_message() == e->remote_message();
    });
    if (it == distinct.end()) it = distinct.insert(distinct.end(), SameError{*e, {}});
    it->engines.push_back(ar.targets()[i]);
  }
  for (auto& s : distinct) std::sort(s.engines.begin(), s.engines.end());
  return distinct;
}

}  // namespace

nlohmann::json engine_errors_json(const AsyncResult& ar) {
  auto all = nlohmann::json::array();
  for (const auto& [e, engines] : distinct_errors(ar)) {
    auto one = error_json(e);
    one["$error"]["engines"] = engines;
    all.push_back(std::move(one));
  }
  if (all.empty()) return {};
  nlohmann::json out = all.front();
  if (all.size() > 1) out["errors"] = std::move(all);
  return out;
}

int report_engine_errors(const AsyncResult& ar) {
  int status = exit_ok;
  for (const auto& [e, engines] : distinct_errors(ar)) {
    status = std::max(status, exit_status_for(e.code()));
    const bool typed = !e.type().empty() && e.type().rfind("crew.", 0) != 0;
    std::cerr << format_error(e.code(), (engines.size() == 1 ? "engine " : "engines ") + format_id_ranges(engines) +
                                            ": " + (typed ? e.type() + ": " : "") + e.remote_message())
              << std::endl;
  }
  return status;
}

void check_variable_name(const std::string& name, const std::string& what) {
  const auto word = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_'; };
  if (!name.empty() && std::isdigit(static_cast<unsigned char>(name.front())) == 0 &&
      std::all_of(name.begin(), name.end(), word))
    return;
  std::string hint;
  if (name.find_first_of(" \t") != std::string::npos)
    hint = "; no spaces around '=': write NAME=JSON as one word, e.g. a=5";
  throw_error(errc::bad_name, what + ": '" + name +
                                  "' is not a variable name: names are letters, digits and '_', not starting "
                                  "with a digit" +
                                  hint);
}

}  // namespace crew::cli
