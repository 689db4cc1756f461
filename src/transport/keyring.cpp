// The profile's CURVE keys (transport/keyring.hpp).
#include "transport/keyring.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>

#include <nlohmann/json.hpp>

#include "common/file_lock.hpp"
#include "common/profile.hpp"
#include "crew/error.hpp"

namespace crew::transport {

namespace fs = std::filesystem;

namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32] = {};
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

KeyRole role_from(const std::string& text, const fs::path& where) {
  if (text == "client") return KeyRole::client;
  if (text == "world") return KeyRole::world;
  throw_error(errc::bad_profile, where.string() + ": a key's role is \"client\" or \"world\", not \"" + text + "\"");
}

}  // namespace

const char* role_name(KeyRole role) { return role == KeyRole::client ? "client" : "world"; }

void check_key_name(const std::string& name) {
  const bool ok =
      !name.empty() && name.size() <= 128 &&
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.@") == std::string::npos;
  if (!ok)
    throw_error(errc::bad_option,
                "'" + name + "' is not a key name: use letters, digits, '_', '-', '.' and '@' (e.g. alice@laptop)");
}

Keyring::Keyring(fs::path profile_dir) : dir_(std::move(profile_dir) / "keys") {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw_error(errc::bad_profile, "cannot create " + dir_.string() + ": " + ec.message());
  ::chmod(dir_.c_str(), 0700);
}

std::optional<CurveKeyPair> Keyring::read_pair(const std::string& name) const {
  const fs::path file = dir_ / (name + ".key");
  if (!fs::exists(file)) return std::nullopt;
  const auto j = read_json_file(file);
  CurveKeyPair pair{j.value("public_key", ""), j.value("secret_key", "")};
  if (!is_curve_key(pair.secret_key) || curve_public_key_of(pair.secret_key) != pair.public_key)
    throw_error(errc::bad_profile, file.string() + " holds no valid CURVE key pair; remove it (a new one is made) " +
                                       "and hand out the new connection files");
  return pair;
}

void Keyring::write_pair(const std::string& name, const CurveKeyPair& pair) const {
  write_private_json(dir_ / (name + ".key"), {{"public_key", pair.public_key}, {"secret_key", pair.secret_key}});
}

CurveKeyPair Keyring::controller_pair() {
  FileLock lock(lock_file());
  if (auto pair = read_pair("controller")) return *pair;
  const CurveKeyPair pair = new_curve_key_pair();
  write_pair("controller", pair);
  return pair;
}

CurveKeyPair Keyring::own_pair(const std::string& name, KeyRole role) {
  FileLock lock(lock_file());
  auto keys = read_authorized(authorized_file());
  if (auto pair = read_pair(name)) {
    const bool admitted = std::any_of(keys.begin(), keys.end(), [&](const AuthorizedKey& k) {
      return k.public_key == pair->public_key && k.revoked.empty() && k.role == role;
    });
    if (admitted) return *pair;
  }
  const CurveKeyPair pair = new_curve_key_pair();
  std::erase_if(keys, [&](const AuthorizedKey& k) { return k.name == name && k.revoked.empty(); });
  keys.push_back({name, pair.public_key, role, utc_now(), ""});
  write_pair(name, pair);
  write_authorized(keys);
  return pair;
}

CurveKeyPair Keyring::issue(const std::string& name, KeyRole role, bool launched) {
  check_key_name(name);
  FileLock lock(lock_file());
  auto keys = read_authorized(authorized_file());
  const CurveKeyPair pair = new_curve_key_pair();
  keys.push_back({name, pair.public_key, role, utc_now(), "", launched});
  write_authorized(keys);
  return pair;
}

std::size_t Keyring::forget_launched_worlds() {
  FileLock lock(lock_file());
  auto keys = read_authorized(authorized_file());
  const std::size_t gone = std::erase_if(keys, [](const AuthorizedKey& k) { return k.launched; });
  if (gone > 0) write_authorized(keys);
  std::error_code ec;
  fs::remove_all(dir_.parent_path() / "worlds", ec);
  return gone;
}

void Keyring::admit(const std::string& name, const std::string& public_key, KeyRole role) {
  check_key_name(name);
  if (!is_curve_key(public_key))
    throw_error(errc::bad_option, "'" + public_key +
                                      "' is not a CURVE public key: 40 characters of Z85 text, as `crew keys new` "
                                      "or libzmq's curve_keygen print it");
  FileLock lock(lock_file());
  auto keys = read_authorized(authorized_file());
  for (const auto& k : keys) {
    if (!k.revoked.empty()) continue;
    if (k.name == name)
      throw_error(errc::bad_option, "a key named '" + name + "' is admitted already (" + key_fingerprint(k.public_key) +
                                        "...); revoke it first or choose another name");
    if (k.public_key == public_key) throw_error(errc::bad_option, "this key is admitted already, as '" + k.name + "'");
  }
  keys.push_back({name, public_key, role, utc_now(), ""});
  write_authorized(keys);
}

std::vector<AuthorizedKey> Keyring::revoke(const std::string& name_or_key) {
  FileLock lock(lock_file());
  auto keys = read_authorized(authorized_file());
  std::vector<AuthorizedKey> revoked;
  const std::string now = utc_now();
  for (auto& k : keys) {
    if (!k.revoked.empty() || (k.name != name_or_key && k.public_key != name_or_key)) continue;
    k.revoked = now;
    revoked.push_back(k);
  }
  if (revoked.empty())
    throw_error(errc::bad_option, "no admitted key is named '" + name_or_key + "' or has that public key; " +
                                      "`crew keys list` shows them");
  write_authorized(keys);
  return revoked;
}

std::vector<AuthorizedKey> Keyring::list() const { return read_authorized(authorized_file()); }

std::vector<AuthorizedKey> Keyring::read_authorized(const fs::path& file) {
  std::vector<AuthorizedKey> keys;
  if (!fs::exists(file)) return keys;
  const auto j = read_json_file(file);
  if (!j.contains("keys") || !j["keys"].is_array())
    throw_error(errc::bad_profile, file.string() + " has no \"keys\" list");
  for (const auto& e : j["keys"]) {
    if (!e.is_object()) throw_error(errc::bad_profile, file.string() + ": a key entry is not an object");
    AuthorizedKey k;
    k.name = e.value("name", "");
    k.public_key = e.value("public_key", "");
    k.role = role_from(e.value("role", "client"), file);
    k.added = e.value("added", "");
    k.revoked = e.value("revoked", "");
    k.launched = e.value("launched", false);
    if (!is_curve_key(k.public_key))
      throw_error(errc::bad_profile, file.string() + ": the key named '" + k.name + "' is no CURVE public key");
    keys.push_back(std::move(k));
  }
  return keys;
}

void Keyring::write_authorized(const std::vector<AuthorizedKey>& keys) const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& k : keys) {
    nlohmann::json e = {
        {"name", k.name}, {"public_key", k.public_key}, {"role", role_name(k.role)}, {"added", k.added}};
    if (!k.revoked.empty()) e["revoked"] = k.revoked;
    if (k.launched) e["launched"] = true;
    list.push_back(std::move(e));
  }
  write_private_json(authorized_file(), {{"keys", list}});
}

}  // namespace crew::transport
