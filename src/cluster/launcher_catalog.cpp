// Finding launchers and templates.
#include "cluster/launcher_catalog.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "common/process.hpp"
#include "common/profile.hpp"
#include "crew/error.hpp"

namespace crew::cluster {
namespace {

namespace fs = std::filesystem;

fs::path site_root() {
  if (const char* env = std::getenv("CREW_SITE_DIR"); env != nullptr && *env != '\0') return env;
  return "/etc/crew";
}

/// <prefix>/share/crew beside the running program (bin/../share/crew); in a build tree the
/// programs live in <build>/src and the files are copied to <build>/share/crew.
fs::path builtin_root() { return proc::self_exe().parent_path().parent_path() / "share" / "crew"; }

std::vector<std::pair<std::string, fs::path>> roots() {
  return {{"built in", builtin_root()}, {"site", site_root()}, {"user", crew_home()}};
}

}  // namespace

std::vector<LauncherDirectory> launcher_directories() {
  std::vector<LauncherDirectory> out;
  for (const auto& [origin, root] : roots()) out.push_back({origin, root / "launchers"});
  return out;
}

std::vector<CatalogEntry> list_launchers() {
  std::vector<CatalogEntry> out;
  std::map<std::string, std::size_t> latest;  // name -> index of its highest-precedence entry
  for (const auto& dir : launcher_directories()) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir.path, ec))
      if (e.path().extension() == ".toml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      CatalogEntry entry;
      entry.file = f;
      entry.origin = dir.origin;
      try {
        entry.definition = read_launcher_file(f, dir.origin);
      } catch (const Error& e) {
        entry.problem = e.message();
      }
      const std::string name = f.stem().string();
      if (auto it = latest.find(name); it != latest.end()) out[it->second].overridden = true;
      latest[name] = out.size();
      out.push_back(std::move(entry));
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const CatalogEntry& a, const CatalogEntry& b) { return a.file.stem() < b.file.stem(); });
  return out;
}

LauncherDefinition find_launcher(const std::string& name) {
  const auto dirs = launcher_directories();
  for (auto dir = dirs.rbegin(); dir != dirs.rend(); ++dir) {
    const fs::path file = dir->path / (name + ".toml");
    std::error_code ec;
    if (fs::exists(file, ec)) return read_launcher_file(file, dir->origin);
  }
  std::vector<std::string> known;
  for (const auto& e : list_launchers())
    if (!e.overridden) known.push_back(e.file.stem().string());
  std::string where;
  for (const auto& d : dirs) where += (where.empty() ? "" : ", ") + d.path.string();
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  throw_error(errc::unknown_launcher, "no launcher '" + name +
                                          "'; the launchers are: " + (list.empty() ? "(none found)" : list) +
                                          " (from " + where + "; `crew launchers` lists them)");
}

fs::path find_template(const std::string& name_or_path, const std::string& profile) {
  std::error_code ec;
  if (name_or_path.find('/') != std::string::npos) {
    if (fs::exists(name_or_path, ec)) return fs::absolute(name_or_path);
    throw_error(errc::bad_template, "no job-script template " + name_or_path);
  }
  std::vector<fs::path> candidates;
  if (!profile.empty()) candidates.push_back(profile_dir(profile) / "jobscripts" / name_or_path);
  const auto r = roots();
  for (auto it = r.rbegin(); it != r.rend(); ++it) candidates.push_back(it->second / "jobscripts" / name_or_path);
  for (const auto& c : candidates)
    if (fs::exists(c, ec)) return c;
  std::string where;
  for (const auto& c : candidates) where += (where.empty() ? "" : ", ") + c.parent_path().string();
  throw_error(errc::bad_template, "no job-script template '" + name_or_path + "' in " + where);
}

std::vector<std::string> missing_programs(const LauncherDefinition& d) {
  std::vector<std::string> missing;
  for (const auto& p : d.programs)
    if (!proc::find_program(p)) missing.push_back(p);
  return missing;
}

void require_programs(const LauncherDefinition& d) {
  const auto missing = missing_programs(d);
  if (missing.empty()) return;
  std::string names;
  for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
  throw_error(errc::launcher_not_found, "the " + d.name + " launcher needs " + names + ", not found on PATH; install " +
                                            d.package + ", or add it to PATH");
}

}  // namespace crew::cluster
