// `crew cluster <verb> --ssh [user@]host`: the same command, run by crew on that host (a login
// node) over ssh's shared connection (client/ssh_tunnel.hpp), its output shown here as it comes.
// After a start, the cluster's connection file comes back into the local profile, so that every
// verb here reaches the controller through ssh; after a stop, it goes.
#include "cli/remote_cluster.hpp"

#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/output.hpp"
#include "client/ssh_tunnel.hpp"
#include "common/process.hpp"
#include "common/profile.hpp"
#include "crew/client.hpp"

namespace crew::cli {

namespace {

namespace fs = std::filesystem;

/// `word` for a POSIX shell: in single quotes, a quote as '\''.
std::string quoted(const std::string& word) {
  std::string out = "'";
  for (const char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// The command line as given, less --ssh and --remote-crew (and their values).
std::vector<std::string> forwarded_arguments(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--ssh" || a == "--remote-crew") {
      ++i;
      continue;
    }
    if (a.rfind("--ssh=", 0) == 0 || a.rfind("--remote-crew=", 0) == 0) continue;
    out.push_back(a);
  }
  return out;
}

/// The remote profile's connection file, into the local profile of the same name. Where it is
/// there, that host's crew says (its CREW_HOME may be set by --remote-crew).
void import_profile(const Common& c, const detail::SshTarget& target) {
  const std::string status = detail::ssh_run(
      target, c.remote_crew + " cluster status --json --profile " + quoted(c.profile), c.controller_timeout());
  std::string dir;
  try {
    dir = nlohmann::json::parse(status).at("dir").get<std::string>();
  } catch (const nlohmann::json::exception&) {
    throw_error(errc::ssh_failed,
                "--ssh " + c.ssh +
                    ": `crew cluster status --json` there said no profile directory: " + status.substr(0, 200));
  }
  const std::string path = dir + "/" + controller_file_name;
  save_imported(c.profile, detail::ssh_run(target, "cat -- " + quoted(path), c.controller_timeout()),
                target.text() + ":" + path, target);
}

}  // namespace

int run_remotely(const Common& c, const std::string& verb) {
  const detail::SshTarget target = detail::parse_ssh_target(c.ssh);
  const fs::path dir = profile_dir(c.profile);
  if (verb == "start" && fs::exists(dir / "cluster.json"))
    throw_error(errc::bad_option, "profile '" + c.profile + "' has a cluster started on this host (" +
                                      (dir / "cluster.json").string() + "); start the one on " + c.ssh +
                                      " under another profile: --profile NAME");
  std::string command = c.remote_crew;  // a command line of that host's shell (`module load crew; crew`)
  for (const auto& a : forwarded_arguments(c.command_line)) command += " " + quoted(a);
  proc::RunOptions o;
  o.on_output = [](bool err, std::string_view bytes) { (err ? std::cerr : std::cout) << bytes << std::flush; };
  o.max_output = 1 << 20;
  const int status = detail::ssh_run_shown(target, command, c.controller_timeout(), o);
  if (status == 127)
    throw_error(errc::ssh_failed,
                "--ssh " + c.ssh + ": `" + c.remote_crew + "` is not a command on " + target.destination +
                    " (as its shell runs it for ssh, without a login's PATH); give the command "
                    "that runs crew there: --remote-crew '/path/to/crew' or 'module load crew; crew'");
  if (status != 0) return status;
  if (verb == "start") {
    import_profile(c, target);
    if (!c.json)
      std::cout << "crew: its connection file is in profile '" << c.profile << "' here: `crew ids" << c.profile_flag()
                << "` reaches it through ssh to " << c.ssh << std::endl;
  } else if (verb == "stop") {
    // The controller is gone: a connection file left here would only time out.
    if (std::filesystem::exists(dir / controller_file_name)) {
      const ControllerFile file = controller_file_from_json(read_json_file(dir / controller_file_name), dir);
      if (!file.ssh.empty()) fs::remove(dir / controller_file_name);
    }
  }
  return status;
}

ControllerFile save_imported(const std::string& profile, const std::string& text, const std::string& where,
                             const detail::SshTarget& target) {
  ControllerFile file;
  try {
    file = controller_file_from_json(nlohmann::json::parse(text), where);
  } catch (const nlohmann::json::exception&) {
    throw_error(errc::bad_profile, where + " is not a crew connection file (controller.json): not JSON");
  }
  file.profile = profile;
  file.ssh = target.text();
  const fs::path dir = profile_dir(profile);
  ensure_profile_dir(dir);
  write_private_json(dir / controller_file_name, to_json(file));
  return file;
}

}  // namespace crew::cli
