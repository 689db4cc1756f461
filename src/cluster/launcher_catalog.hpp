#pragma once
// Where launchers and job-script templates are found, later ones overriding earlier ones:
//   built in  <prefix>/share/crew/{launchers,jobscripts}/ (in a build tree: <build>/share/crew/)
//   site      /etc/crew/{launchers,jobscripts}/          ($CREW_SITE_DIR overrides /etc/crew)
//   user      $CREW_HOME/{launchers,jobscripts}/
//   profile   $CREW_HOME/profile_<name>/jobscripts/      (templates only)

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cluster/launcher_definition.hpp"

namespace crew::cluster {

struct LauncherDirectory {
  std::string origin;  ///< "built in", "site", "user"
  std::filesystem::path path;
};

/// The launcher directories, in order of precedence (lowest first).
std::vector<LauncherDirectory> launcher_directories();

struct CatalogEntry {
  std::optional<LauncherDefinition> definition;  ///< absent if the file does not parse
  std::filesystem::path file;
  std::string origin;
  std::string problem;      ///< why it does not parse
  bool overridden = false;  ///< a later directory has one of the same name
};

/// Every launcher file found (all origins), sorted by name then precedence.
std::vector<CatalogEntry> list_launchers();

/// The launcher called `name` (the highest-precedence file). Throws LaunchError
/// [crew.launch.unknown_launcher] listing the known ones, or [crew.launch.bad_launcher].
LauncherDefinition find_launcher(const std::string& name);

/// The template file for `name_or_path` (a path if it has a '/'), searched in the profile's
/// jobscripts/, then user, site and built-in ones. Throws LaunchError [crew.launch.bad_template].
std::filesystem::path find_template(const std::string& name_or_path, const std::string& profile);

/// The programs of `d` missing from PATH.
std::vector<std::string> missing_programs(const LauncherDefinition& d);
/// Throws LaunchError [crew.launch.not_found] naming the missing programs and the package.
void require_programs(const LauncherDefinition& d);

}  // namespace crew::cluster
