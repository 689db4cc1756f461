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

#include "common/internal_api.hpp"

namespace crew {

namespace fs = std::filesystem;

/// $CREW_HOME, or ~/.crew.
CREW_INTERNAL_API fs::path crew_home();
/// Checks a profile name (letters, digits, '_', '-', '.'); throws InputError [crew.input.bad_profile].
CREW_INTERNAL_API void check_profile_name(std::string_view name);
/// crew_home()/profile_<name>.
CREW_INTERNAL_API fs::path profile_dir(std::string_view name);
/// Creates the profile directory (mode 0700) and its log/ directory.
CREW_INTERNAL_API void ensure_profile_dir(const fs::path& dir);

/// CurveZMQ keys in a connection file (Z85 text; transport/curve.hpp): the controller's public
/// key and the holder's own pair. All empty: the controller speaks plaintext.
struct CREW_INTERNAL_API CurveFields {
  std::string server_key;
  std::string public_key;
  std::string secret_key;
  bool on() const { return !server_key.empty(); }
};

struct CREW_INTERNAL_API ControllerFile {
  std::string profile;
  std::string client_url;
  std::string engine_url;
  std::string key_hex;
  std::string host;
  std::int64_t pid = 0;
  std::string version;
  /// Imported from another host (`crew profile import`): clients reach client_url through ssh
  /// to this [user@]host[:port] (client/ssh_tunnel.hpp). "" on the controller's own host.
  std::string ssh{};
  CurveFields curve{};
};

struct CREW_INTERNAL_API EngineFile {
  std::string profile;
  std::string engine_url;
  std::string key_hex;
  int heartbeat_ms = 1000;
  CurveFields curve{};
};

inline constexpr const char* controller_file_name = "controller.json";
inline constexpr const char* engine_file_name = "engine.json";

CREW_INTERNAL_API nlohmann::json to_json(const ControllerFile& f);
CREW_INTERNAL_API nlohmann::json to_json(const EngineFile& f);
/// Throw InputError [crew.input.bad_profile] naming the file and the missing or bad field.
CREW_INTERNAL_API ControllerFile controller_file_from_json(const nlohmann::json& j, const fs::path& where);
CREW_INTERNAL_API EngineFile engine_file_from_json(const nlohmann::json& j, const fs::path& where);

/// Writes `j` to `path` with mode 0600, atomically.
CREW_INTERNAL_API void write_private_json(const fs::path& path, const nlohmann::json& j);
/// Reads and parses a JSON file; throws InputError [crew.input.bad_profile] if it cannot.
CREW_INTERNAL_API nlohmann::json read_json_file(const fs::path& path);

/// This host's name.
CREW_INTERNAL_API std::string host_name();

}  // namespace crew
