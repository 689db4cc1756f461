#pragma once
// What live output a client follows (output_subscribe): a list of terms, any of which may match.
// The controller sends a client the output and status changes that match one of its terms; the
// client hands each to the feeds whose own term matches (client/output_feeds.hpp).

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "common/internal_api.hpp"
#include "protocol/header.hpp"

namespace crew::wire {

/// Changes of engines that are activity (an engine_status's function): the controller handed an
/// idle engine work, or an engine answered all it had. The others (registered, dead, back,
/// stopped, reattached) are status.
inline bool is_activity(std::string_view what) noexcept { return what == "busy" || what == "idle"; }

/// One subscription: output of these engines (none: all), of these tasks (none: any), of this
/// client's own tasks only (mine); the engines' status changes (status), and their activity.
struct CREW_INTERNAL_API OutputTerm {
  std::vector<std::int32_t> engines;
  std::vector<std::string> msg_ids;
  bool mine = false;
  bool status = false;
  bool activity = false;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(engines), CEREAL_NVP(msg_ids), CEREAL_NVP(mine), CEREAL_NVP(status), CEREAL_NVP(activity));
  }

  /// Output of `engine` written by task `msg_id` ("" outside any task), which this client
  /// submitted if `own`.
  bool matches_output(int engine, const std::string& msg_id, bool own) const {
    if (!engines.empty() && std::find(engines.begin(), engines.end(), engine) == engines.end()) return false;
    if (!msg_ids.empty() && std::find(msg_ids.begin(), msg_ids.end(), msg_id) == msg_ids.end()) return false;
    return !mine || own;
  }
  /// A change (`what`: status or activity) of `changed` engines.
  template <class Ids>
  bool matches_change(const Ids& changed, std::string_view what) const {
    if (!(is_activity(what) ? activity : status)) return false;
    if (engines.empty()) return true;
    return std::any_of(changed.begin(), changed.end(),
                       [&](int id) { return std::find(engines.begin(), engines.end(), id) != engines.end(); });
  }
};

/// The bytes of an output or engine_status message that count against a follower's window (the
/// controller's) and toward its acknowledgements (the client's): its text.
inline std::uint64_t flow_bytes(const Header& h) noexcept { return h.out.size() + h.err.size(); }

/// output_subscribe: every term the client follows now (it replaces the last; none: it follows
/// nothing).
struct CREW_INTERNAL_API OutputSubscribe {
  std::vector<OutputTerm> terms;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(terms));
  }
  std::string problem() const {
    constexpr std::size_t most = 4096;
    if (terms.size() > most)
      return "field terms: " + std::to_string(terms.size()) + " terms, more than " + std::to_string(most);
    return {};
  }
};

}  // namespace crew::wire
