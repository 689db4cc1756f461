// `crew profile import`: a cluster that runs on another host (a login node), made a local profile
// whose clients reach it through ssh (client/ssh_tunnel.hpp).
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/output.hpp"
#include "cli/remote_cluster.hpp"
#include "cli/verbs.hpp"
#include "client/ssh_tunnel.hpp"
#include "common/profile.hpp"
#include "crew/client.hpp"

namespace crew::cli {

namespace {

namespace fs = std::filesystem;

struct Source {
  detail::SshTarget target;
  std::string path;  ///< on the remote host, as its shell reads it (~ expands)
};

/// "[user@]host[:port][:PATH]" (scp's form, with an optional port before the path).
Source parse_source(const std::string& text) {
  const auto first = text.find(':');
  std::string host = text.substr(0, first), rest = first == std::string::npos ? "" : text.substr(first + 1);
  if (const auto colon = rest.find(':'); !rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())) &&
                                         rest.substr(0, colon).find_first_not_of("0123456789") == std::string::npos) {
    host += ":" + rest.substr(0, colon);  // a port
    rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
  }
  Source s{detail::parse_ssh_target(host), rest.empty() ? ".crew/profile_default/controller.json" : rest};
  // The path goes through the remote shell (for its ~): nothing else of the shell's.
  if (s.path.find_first_of(" \t\n;|&$`'\"\\<>(){}*?!#") != std::string::npos)
    throw_error(errc::bad_option, "profile import: the remote path '" + s.path +
                                      "' has a character the remote shell would read; give a plain path (~/ allowed)");
  return s;
}

}  // namespace

int profile_import(const Common& c, const std::string& source) {
  const Source s = parse_source(source);
  const fs::path dir = profile_dir(c.profile);
  if (fs::exists(dir / "cluster.json"))
    throw_error(errc::bad_option, "profile '" + c.profile + "' has a cluster started on this host (" +
                                      (dir / "cluster.json").string() +
                                      "); import into another profile: --profile NAME");
  const std::string where = s.target.text() + ":" + s.path;
  const ControllerFile file =
      save_imported(c.profile, detail::ssh_run(s.target, "cat -- " + s.path, c.controller_timeout()), where, s.target);
  // It works, or it goes: a profile that cannot reach its controller is no use.
  std::size_t alive = 0;
  try {
    ClientOptions options;
    options.timeout = c.controller_timeout();
    alive = Client(c.profile, options).ids().size();
  } catch (...) {
    std::error_code ec;
    fs::remove(dir / controller_file_name, ec);
    throw;
  }
  if (c.json) {
    std::cout << nlohmann::json{{"profile", c.profile},
                                {"source", where},
                                {"ssh", file.ssh},
                                {"client_url", file.client_url},
                                {"engines_alive", alive}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "profile '" << c.profile << "' imported from " << where << ": its controller (at " << file.client_url
              << " on " << (file.host.empty() ? s.target.destination : file.host) << ") answered through ssh, " << alive
              << " engine" << (alive == 1 ? "" : "s") << " alive; try `crew ids" << c.profile_flag() << "`"
              << std::endl;
  }
  return exit_ok;
}

}  // namespace crew::cli
