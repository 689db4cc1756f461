// Shared by the CLI verbs.
#include "cli/session.hpp"

#include "common/targets.hpp"
#include "crew/json.hpp"

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

}  // namespace crew::cli
