#pragma once
// Profiles: $CREW_HOME/profile_<name>/ (default ~/.crew) and the connection files in them.
//
// controller.json holds what clients need, engine.json what engines need; both carry the
// profile's HMAC key and are written mode 0600, atomically (write + rename).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace crew {

namespace fs = std::filesystem;

/// $CREW_HOME, or ~/.crew.
fs::path crew_home();
/// Checks a profile name (letters, digits, '_', '-', '.'); throws InputError [crew.input.bad_profile].
void check_profile_name(std::string_view name);
/// crew_home()/profile_<name>.
fs::path profile_dir(std::string_view name);
/// Creates the profile directory (mode 0700) and its log/ directory.
void ensure_profile_dir(const fs::path& dir);

struct ControllerFile {
  std::string profile;
  std::string client_url;
  std::string engine_url;
  std::string key_hex;
  std::string host;
  std::int64_t pid = 0;
  std::string version;
};

struct EngineFile {
  std::string profile;
  std::string engine_url;
  std::string key_hex;
  int heartbeat_ms = 1000;
};

inline constexpr const char* controller_file_name = "controller.json";
inline constexpr const char* engine_file_name = "engine.json";

nlohmann::json to_json(const ControllerFile& f);
nlohmann::json to_json(const EngineFile& f);
/// Throw InputError [crew.input.bad_profile] naming the file and the missing or bad field.
ControllerFile controller_file_from_json(const nlohmann::json& j, const fs::path& where);
EngineFile engine_file_from_json(const nlohmann::json& j, const fs::path& where);

/// Writes `j` to `path` with mode 0600, atomically.
void write_private_json(const fs::path& path, const nlohmann::json& j);
/// Reads and parses a JSON file; throws InputError [crew.input.bad_profile] if it cannot.
nlohmann::json read_json_file(const fs::path& path);

/// This host's name.
std::string host_name();

}  // namespace crew
