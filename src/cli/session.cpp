// Shared by the CLI verbs.
#include "cli/session.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>

#include "cli/output.hpp"
#include "common/targets.hpp"
#include "values/json.hpp"

namespace crew::cli {

Client connect(const Common& c) {
  return Client(c.profile, ClientOptions{std::chrono::milliseconds(static_cast<long>(c.timeout_s * 1000))});
}

DirectView target_view(const Client& rc, const std::string& spec) {
  auto ids = parse_targets(spec);
  if (!ids) {
    auto all = rc.ids();
    if (all.empty()) throw InputError(errc::unknown_target, "the cluster has no engines alive; see `crew engines`");
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
    throw InputError(errc::bad_json, what + ": " + e.message() + hint);
  }
}

nlohmann::json error_json(const RemoteError& e) {
  return {
      {"$error", {{"code", std::string(errc_name(e.code()))}, {"type", e.type()}, {"message", e.remote_message()}}}};
}

int report_engine_errors(const AsyncResult& ar) {
  struct Same {
    RemoteError error;
    std::vector<int> engines;
  };
  std::vector<Same> distinct;
  int status = exit_ok;
  for (std::size_t i = 0; i < ar.size(); ++i) {
    auto e = ar.error(i);
    if (!e) continue;
    auto it = std::find_if(distinct.begin(), distinct.end(), [&](const Same& s) {
      return s.error.code() == e->code() && s.error.type() == e->type() &&
             s.error.remote_message() == e->remote_message();
    });
    if (it == distinct.end()) it = distinct.insert(distinct.end(), Same{*e, {}});
    it->engines.push_back(ar.targets()[i]);
    status = std::max(status, errc_name(e->code()).rfind("input.", 0) == 0 ? exit_usage : exit_failure);
  }
  for (auto& [e, engines] : distinct) {
    std::sort(engines.begin(), engines.end());
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
  throw InputError(errc::bad_name, what + ": '" + name +
                                       "' is not a variable name: names are letters, digits and '_', not starting "
                                       "with a digit" +
                                       hint);
}

}  // namespace crew::cli
