#pragma once
// The msg ids crew clients make: "<session>-<n>", the controller's base-36 number for the client,
// then the client's own counter. The task table finds them by number, and the task database keys
// its rows by them, without hashing or comparing strings.

#include <cstdint>
#include <optional>
#include <string_view>

namespace crew::controller {

struct NumberedId {
  std::uint64_t session = 0;
  std::uint64_t n = 0;
};

/// "<base-36 session>-<decimal n>" in canonical form (no leading zeros), else nullopt.
inline std::optional<NumberedId> numbered_id(std::string_view id) {
  const auto dash = id.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash + 1 >= id.size() || dash > 8 || id.size() - dash > 16)
    return std::nullopt;
  NumberedId k;
  const std::string_view session = id.substr(0, dash), n = id.substr(dash + 1);
  if ((session.size() > 1 && session[0] == '0') || (n.size() > 1 && n[0] == '0')) return std::nullopt;
  for (const char c : session) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    k.session = k.session * 36 + static_cast<std::uint64_t>(d);
  }
  for (const char c : n) {
    if (c < '0' || c > '9') return std::nullopt;
    k.n = k.n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return k;
}

/// A numbered id as one integer (session in the high 23 bits, n in the low 40), growing with n
/// within a session; nullopt for other ids and for numbers beyond those bits.
inline std::optional<std::int64_t> id_key(std::string_view id) {
  const auto k = numbered_id(id);
  if (!k || k->session >= (std::uint64_t{1} << 23) || k->n >= (std::uint64_t{1} << 40)) return std::nullopt;
  return static_cast<std::int64_t>(k->session << 40 | k->n);
}

}  // namespace crew::controller
