// Profiles and connection files.
#include "common/profile.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/process.hpp"
#include "crew/error.hpp"

namespace crew {

fs::path crew_home() {
  if (const char* env = std::getenv("CREW_HOME"); env != nullptr && *env != '\0') return fs::path(env);
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    if (const passwd* pw = getpwuid(getuid()); pw != nullptr) home = pw->pw_dir;
  }
  if (home == nullptr) throw_error(errc::bad_profile, "neither CREW_HOME nor HOME is set; set CREW_HOME");
  return fs::path(home) / ".crew";
}

void check_profile_name(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 128 && name != "." && name != ".." &&
                  name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
                      std::string_view::npos;
  if (!ok)
    throw_error(errc::bad_profile,
                "'" + std::string(name) + "' is not a profile name: use letters, digits, '_', '-' and '.'");
}

fs::path profile_dir(std::string_view name) {
  check_profile_name(name);
  return crew_home() / ("profile_" + std::string(name));
}

void ensure_profile_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir / "log", ec);
  if (ec) throw_error(errc::bad_profile, "cannot create " + (dir / "log").string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
}

namespace {
nlohmann::json curve_json(const CurveFields& c) {
  return {{"server_key", c.server_key}, {"public_key", c.public_key}, {"secret_key", c.secret_key}};
}

CurveFields curve_from_json(const nlohmann::json& j, const fs::path& where) {
  CurveFields c;
  if (!j.contains("curve")) return c;
  const auto& k = j["curve"];
  const auto key = [&](const char* name) {
    const std::string text = k.is_object() ? k.value(name, "") : "";
    if (text.size() != 40)
      throw_error(errc::bad_profile, where.string() + ": \"curve\" needs \"" + name +
                                         "\", a key of 40 characters; copy the file again from the controller's host");
    return text;
  };
  c.server_key = key("server_key");
  c.public_key = key("public_key");
  c.secret_key = key("secret_key");
  return c;
}
}  // namespace

nlohmann::json to_json(const ControllerFile& f) {
  nlohmann::json j = {{"profile", f.profile}, {"client_url", f.client_url},        {"engine_url", f.engine_url},
                      {"key", f.key_hex},     {"signature_scheme", "hmac-sha256"}, {"host", f.host},
                      {"pid", f.pid},         {"crew_version", f.version}};
  if (!f.ssh.empty()) j["ssh"] = f.ssh;
  if (f.curve.on()) j["curve"] = curve_json(f.curve);
  return j;
}

nlohmann::json to_json(const EngineFile& f) {
  nlohmann::json j = {{"profile", f.profile},
                      {"engine_url", f.engine_url},
                      {"key", f.key_hex},
                      {"signature_scheme", "hmac-sha256"},
                      {"heartbeat_ms", f.heartbeat_ms}};
  if (f.curve.on()) j["curve"] = curve_json(f.curve);
  return j;
}

namespace {
template <class T>
T field(const nlohmann::json& j, const char* name, const fs::path& where) {
  if (!j.contains(name))
    throw_error(errc::bad_profile,
                where.string() + " has no \"" + name + "\"; recreate it by restarting the controller");
  try {
    return j.at(name).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw_error(errc::bad_profile, where.string() + ": \"" + name + "\" has the wrong type");
  }
}
}  // namespace

ControllerFile controller_file_from_json(const nlohmann::json& j, const fs::path& where) {
  ControllerFile f;
  f.profile = j.value("profile", "");
  f.client_url = field<std::string>(j, "client_url", where);
  f.engine_url = j.value("engine_url", "");
  f.key_hex = field<std::string>(j, "key", where);
  f.host = j.value("host", "");
  f.pid = j.value("pid", std::int64_t{0});
  f.version = j.value("crew_version", "");
  f.ssh = j.value("ssh", "");
  f.curve = curve_from_json(j, where);
  return f;
}

EngineFile engine_file_from_json(const nlohmann::json& j, const fs::path& where) {
  EngineFile f;
  f.profile = j.value("profile", "");
  f.engine_url = field<std::string>(j, "engine_url", where);
  f.key_hex = field<std::string>(j, "key", where);
  f.heartbeat_ms = j.value("heartbeat_ms", 1000);
  f.curve = curve_from_json(j, where);
  return f;
}

void write_private_json(const fs::path& path, const nlohmann::json& j) {
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw_error(errc::bad_profile, "cannot write " + tmp.string() + ": " + std::strerror(errno));
  const std::string text = j.dump(2) + "\n";
  if (!proc::write_all(fd, text)) {
    const int err = errno;
    ::close(fd);
    throw_error(errc::bad_profile, "cannot write " + tmp.string() + ": " + std::strerror(err));
  }
  ::fchmod(fd, 0600);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw_error(errc::bad_profile,
                "cannot rename " + tmp.string() + " to " + path.string() + ": " + std::strerror(errno));
}

nlohmann::json read_json_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw_error(errc::bad_profile, "cannot read " + path.string() + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw_error(errc::bad_profile, path.string() + " is not valid JSON (" + e.what() + ")");
  }
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace crew
