#pragma once
// The address the controller binds, for `--ip` and `--interface`.

#include <string>
#include <vector>

#include "common/internal_api.hpp"

namespace crew {

struct CREW_INTERNAL_API InterfaceAddress {
  std::string interface;  ///< e.g. eth0, ib0
  std::string address;    ///< IPv4, dotted
  bool loopback = false;
};

/// The IPv4 addresses of this host's interfaces that are up, in the kernel's order.
CREW_INTERNAL_API std::vector<InterfaceAddress> interface_addresses();

/// `ip` as the controller should bind it: "auto" is the address of `interface` if one is named,
/// else of the first interface that is up and not loopback; any other value is kept ("*" and
/// 0.0.0.0 bind all). Throws InputError [crew.input.bad_option] naming the interfaces there are.
CREW_INTERNAL_API std::string resolve_ip(const std::string& ip, const std::string& interface);

/// True for 127.x.x.x, localhost and ::1: an address other hosts cannot reach.
CREW_INTERNAL_API bool is_loopback(const std::string& ip);

}  // namespace crew
