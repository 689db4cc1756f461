// Interfaces and the controller's bind address.
#include "common/network.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include "crew/error.hpp"

namespace crew {

std::vector<InterfaceAddress> interface_addresses() {
  std::vector<InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET || (a->ifa_flags & IFF_UP) == 0) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    out.push_back({a->ifa_name, text, (a->ifa_flags & IFF_LOOPBACK) != 0});
  }
  ::freeifaddrs(list);
  return out;
}

namespace {

std::string describe(const std::vector<InterfaceAddress>& all) {
  std::string out;
  for (const auto& a : all) out += (out.empty() ? "" : ", ") + a.interface + " " + a.address;
  return out.empty() ? "none" : out;
}

}  // namespace

std::string resolve_ip(const std::string& ip, const std::string& interface) {
  const bool automatic = ip == "auto" || (!interface.empty() && ip.empty());
  if (!automatic) {
    if (!interface.empty())
      throw_error(errc::bad_option, "--interface " + interface + " with --ip " + ip +
                                        ": give one of them (--interface picks the address of that interface)");
    return ip;
  }
  const auto all = interface_addresses();
  for (const auto& a : all) {
    if (!interface.empty() ? a.interface == interface : !a.loopback) return a.address;
  }
  if (!interface.empty())
    throw_error(errc::bad_option,
                "--interface " + interface +
                    ": no such interface with an IPv4 address that is up; this host has: " + describe(all));
  throw_error(errc::bad_option, "--ip auto: this host has no interface but loopback (" + describe(all) +
                                    "), so engines on other hosts could not reach the controller; give --ip ADDRESS");
}

bool is_loopback(const std::string& ip) { return ip.rfind("127.", 0) == 0 || ip == "localhost" || ip == "::1"; }

}  // namespace crew
