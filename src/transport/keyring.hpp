#pragma once
// The profile's CURVE keys: $CREW_HOME/profile_<name>/keys/ (mode 0700).
//
//   controller.key   the controller's key pair (kept across restarts: files handed out stay good)
//   client.key       the pair of the profile's own client, copied into controller.json
//   world.key        the pair of worlds started from engine.json by hand (mpirun crew-engine)
//   authorized.json  the public keys the controller admits, each with a name and a role
//
// The controller's ZAP handler (transport/zap_handler.hpp) reads authorized.json again whenever it
// changes, so `crew keys add` and `crew keys revoke` take effect at the next connection, with or
// without a running controller. A revoked key stays listed, marked, so a refusal can say why.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/internal_api.hpp"
#include "transport/curve.hpp"

namespace crew::transport {

/// Where a key is admitted: at the controller's client port, or its engine port.
enum class KeyRole { client, world };
CREW_INTERNAL_API const char* role_name(KeyRole role);

struct CREW_INTERNAL_API AuthorizedKey {
  std::string name;
  std::string public_key;
  KeyRole role = KeyRole::client;
  std::string added;      ///< UTC, ISO 8601
  std::string revoked;    ///< when; "" while it is admitted
  bool launched = false;  ///< issued to a world a cluster launched (forget_launched_worlds)
};

class CREW_INTERNAL_API Keyring {
public:
  explicit Keyring(std::filesystem::path profile_dir);

  /// The controller's pair, made on first use.
  CurveKeyPair controller_pair();
  /// The pair kept as `name`.key and admitted as `name` in `role`, made (and admitted) if there is
  /// none or it was revoked.
  CurveKeyPair own_pair(const std::string& name, KeyRole role);
  /// A fresh pair admitted as `name` (beside any other of that name: revoking the name revokes
  /// them all); the secret is not kept here: the caller hands it on. `launched`: for a world a
  /// cluster launches, forgotten when the cluster stops.
  CurveKeyPair issue(const std::string& name, KeyRole role, bool launched = false);
  /// Admits someone's public key as `name`. Throws InputError [crew.input.bad_option] for a bad
  /// key or name, or a name or key already admitted.
  void admit(const std::string& name, const std::string& public_key, KeyRole role);
  /// Revokes the admitted keys named `name_or_key` (or with that public key); returns them.
  /// Throws InputError [crew.input.bad_option] if none matches.
  std::vector<AuthorizedKey> revoke(const std::string& name_or_key);
  /// Every key on record, revoked ones too, in the order they were added.
  std::vector<AuthorizedKey> list() const;
  /// Removes the keys issued to the worlds a cluster launched, revoked or not, and their
  /// connection files: `crew cluster stop` ended those worlds. Returns how many went.
  std::size_t forget_launched_worlds();

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path authorized_file() const { return dir_ / "authorized.json"; }

  /// Reads an authorized.json (the ZAP handler's view); an absent file is an empty list.
  static std::vector<AuthorizedKey> read_authorized(const std::filesystem::path& file);

private:
  void write_authorized(const std::vector<AuthorizedKey>& keys) const;
  std::optional<CurveKeyPair> read_pair(const std::string& name) const;
  void write_pair(const std::string& name, const CurveKeyPair& pair) const;
  std::filesystem::path lock_file() const { return dir_ / ".lock"; }

  std::filesystem::path dir_;
};

/// A key name: letters, digits, '_', '-', '.', '@' (e.g. alice@laptop); throws InputError otherwise.
CREW_INTERNAL_API void check_key_name(const std::string& name);

}  // namespace crew::transport
