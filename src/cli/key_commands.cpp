// `crew keys list|add|revoke`: the CURVE keys the profile's controller admits
// (transport/keyring.hpp). They change files only: the controller's gatekeeper reads them again
// at the next connection.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/output.hpp"
#include "cli/verbs.hpp"
#include "common/profile.hpp"
#include "crew/error.hpp"
#include "transport/keyring.hpp"

namespace crew::cli {

namespace {

namespace fs = std::filesystem;

nlohmann::json key_json(const transport::AuthorizedKey& k) {
  nlohmann::json j = {{"name", k.name},
                      {"role", transport::role_name(k.role)},
                      {"public_key", k.public_key},
                      {"added", k.added},
                      {"state", k.revoked.empty() ? "admitted" : "revoked"}};
  if (!k.revoked.empty()) j["revoked"] = k.revoked;
  return j;
}

/// The profile's running controller's connection file of `role`'s kind, with `pair` as its holder's keys.
nlohmann::json connection_file_for(const fs::path& dir, transport::KeyRole role, const transport::CurveKeyPair& pair) {
  const fs::path source = dir / (role == transport::KeyRole::client ? controller_file_name : engine_file_name);
  if (!fs::exists(source))
    throw_error(errc::not_running, "no controller runs for this profile (" + source.string() +
                                       " is missing), so there is no connection file to hand out; start one with "
                                       "`crew cluster start --curve`, or admit a key the holder made: "
                                       "`crew keys add NAME PUBLIC_KEY`");
  nlohmann::json j = read_json_file(source);
  if (!j.contains("curve"))
    throw_error(errc::bad_option, "the profile's controller runs without CURVE (" + source.string() +
                                      " has no keys); restart the cluster with --curve");
  j["curve"]["public_key"] = pair.public_key;
  j["curve"]["secret_key"] = pair.secret_key;
  return j;
}

}  // namespace

int keys_list(const Common& c) {
  transport::Keyring ring(profile_dir(c.profile));
  const auto keys = ring.list();
  if (c.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& k : keys) list.push_back(key_json(k));
    std::cout
        << nlohmann::json{{"profile", c.profile}, {"file", ring.authorized_file().string()}, {"keys", list}}.dump()
        << std::endl;
    return exit_ok;
  }
  if (keys.empty()) {
    std::cout << "no keys on record in " << ring.authorized_file().string()
              << " (a controller started with --curve makes the profile's own)" << std::endl;
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& k : keys)
    rows.push_back({k.name, transport::role_name(k.role), k.public_key, k.added,
                    k.revoked.empty() ? "admitted" : "revoked " + k.revoked});
  print_table(std::cout, {"NAME", "ROLE", "PUBLIC KEY", "ADDED", "STATE"}, rows);
  return exit_ok;
}

int keys_add(const Common& c, const KeysArgs& a) {
  const fs::path dir = profile_dir(c.profile);
  transport::Keyring ring(dir);
  const transport::KeyRole role = a.role == "world" ? transport::KeyRole::world : transport::KeyRole::client;
  if (!a.public_key.empty()) {
    if (!a.output.empty())
      throw_error(errc::bad_option, "-o is for a key crew makes; with a public key given there is no file to write");
    ring.admit(a.name, a.public_key, role);
    if (c.json)
      std::cout << nlohmann::json{{"name", a.name}, {"role", a.role}, {"public_key", a.public_key}}.dump() << std::endl;
    else
      std::cout << "admitted '" << a.name << "' (" << transport::key_fingerprint(a.public_key) << "...) at the "
                << a.role << " port, from its next connection on" << std::endl;
    return exit_ok;
  }
  transport::check_key_name(a.name);
  const fs::path out = a.output.empty() ? fs::path("controller-" + a.name + ".json") : fs::path(a.output);
  if (fs::exists(out))
    throw_error(errc::bad_option, out.string() + " exists; remove it or choose another file with -o");
  // The file first, from a copy that carries a placeholder: nothing is admitted if it cannot be made.
  (void)connection_file_for(dir, role, transport::new_curve_key_pair());
  const transport::CurveKeyPair pair = ring.issue(a.name, role);
  write_private_json(out, connection_file_for(dir, role, pair));
  if (c.json) {
    std::cout
        << nlohmann::json{{"name", a.name}, {"role", a.role}, {"public_key", pair.public_key}, {"file", out}}.dump()
        << std::endl;
  } else {
    std::cout << "admitted '" << a.name << "' (" << transport::key_fingerprint(pair.public_key)
              << "...): " << out.string() << " carries its keys (mode 0600); "
              << (role == transport::KeyRole::client
                      ? "its holder copies it to ~/.crew/profile_NAME/controller.json (or imports it with `crew "
                        "profile import HOST:PATH`)"
                      : "start a world with it: `mpirun -n N crew-engine --file " + out.string() + "`")
              << "; `crew keys revoke " << a.name << "` ends it" << std::endl;
  }
  return exit_ok;
}

int keys_revoke(const Common& c, const KeysArgs& a) {
  transport::Keyring ring(profile_dir(c.profile));
  const auto revoked = ring.revoke(a.name);
  if (c.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& k : revoked) list.push_back(key_json(k));
    std::cout << nlohmann::json{{"revoked", list}}.dump() << std::endl;
    return exit_ok;
  }
  for (const auto& k : revoked)
    std::cout << "revoked '" << k.name << "' (" << transport::role_name(k.role) << ", "
              << transport::key_fingerprint(k.public_key)
              << "...): the controller refuses it from its next connection on" << std::endl;
  return exit_ok;
}

}  // namespace crew::cli
