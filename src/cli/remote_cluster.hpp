#pragma once
// `crew cluster <verb> --ssh [user@]host`: the verb run by crew on that host (cli/remote_cluster.cpp).

#include <string>

#include "cli/verbs.hpp"

namespace crew::cli {

/// Runs this command line (less --ssh) on c.ssh's host with c.remote_crew, showing its output as
/// it comes; returns its exit status. A start brings the cluster's connection file back into the
/// local profile; a stop removes it.
int run_remotely(const Common& c, const std::string& verb);

}  // namespace crew::cli
