#pragma once
// `crew cluster <verb> --ssh [user@]host`: the verb run by crew on that host (cli/remote_cluster.cpp).

#include <string>

#include "cli/verbs.hpp"
#include "client/ssh_tunnel.hpp"
#include "common/profile.hpp"

namespace crew::cli {

/// Runs this command line (less --ssh) on c.ssh's host with c.remote_crew, showing its output as
/// it comes; returns its exit status. A start brings the cluster's connection file back into the
/// local profile; a stop removes it.
int run_remotely(const Common& c, const std::string& verb);

/// Makes the connection file `text` (read at `where`, on `target`'s host) profile `profile`'s,
/// noting the host to reach its controller through. Throws InputError [crew.input.bad_profile]
/// if it is not a connection file.
ControllerFile save_imported(const std::string& profile, const std::string& text, const std::string& where,
                             const detail::SshTarget& target);

}  // namespace crew::cli
