// CurveZMQ at a real controller started with --curve (CREW_TEST_CURVE=1): the gatekeeper admits
// the profile's keys and those `crew keys add` admits; it refuses plaintext, unknown, misplaced
// and revoked keys and a wrong server key, and counts each; a refused client or world hears why at
// once, in words that say what to fix. A good client is served throughout.
#include <doctest/doctest.h>

#include <zmq.hpp>

#include "common/profile.hpp"
#include "errors_of.hpp"
#include "hostile_peer.hpp"
#include "protocol/hub_queries.hpp"
#include "transport/keyring.hpp"

using namespace crew;
using namespace crew::testing;
using namespace crew::testing::hostile;

namespace {

/// A profile whose controller.json is the cluster's, with `keys` as its client's CURVE keys
/// (none: no "curve" at all, as a plaintext controller writes it).
std::string profile_with_keys(const std::string& name, const std::optional<transport::CurveClient>& keys) {
  const fs::path source = profile_dir("sec") / controller_file_name;
  ControllerFile cf = controller_file_from_json(read_json_file(source), source);
  cf.curve = keys ? CurveFields{keys->server_key, keys->own.public_key, keys->own.secret_key} : CurveFields{};
  const fs::path dir = profile_dir(name);
  ensure_profile_dir(dir);
  write_private_json(dir / controller_file_name, to_json(cf));
  return name;
}

transport::CurveClient with_own(const transport::CurveKeyPair& pair) {
  return {pair, env().endpoints.client_curve.server_key};
}

/// The error a client of `profile` gets at construction (none: it connected).
std::optional<Error> connect_error(const std::string& profile) {
  try {
    ClientOptions o;
    o.timeout = std::chrono::seconds(10);
    Client rc(profile, o);
    (void)rc.ids();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

transport::Keyring keyring() { return transport::Keyring(profile_dir("sec")); }

}  // namespace

TEST_SUITE("security.curve") {

  TEST_CASE("the cluster runs with CURVE, and the profile's own client and world are admitted") {
    REQUIRE(env().endpoints.client_curve.on());
    REQUIRE(env().endpoints.world_curve.on());
    const Value stats = env().rc.controller_stats();
    CHECK(stats.as_dict().at("curve").as_bool());
    CHECK(env().counters()["curve_admitted"] >= 3);  // this client, the world's two sockets
    const auto keys = keyring().list();
    REQUIRE(keys.size() >= 2);
    CHECK(keys[0].name == "client");
    CHECK(keys[0].public_key == env().endpoints.client_curve.own.public_key);
    CHECK(keys[1].name == "world");
    CHECK(keys[1].role == transport::KeyRole::world);
    check_still_served(env());
  }

  TEST_CASE("a plaintext peer is refused and counted, and nothing it sends arrives") {
    const Counters before = env().counters();
    RawPeer plain(env().ctx, env().endpoints.client_url, env().endpoints.key, "plaintext-peer");
    wire::Header h;
    h.kind = wire::MsgKind::stats_request;
    h.request_id = 7;
    plain.send_signed(h);
    // Counted as plaintext, or as a failed handshake when the peer hung up first (it saw CURVE).
    const auto refused = [&](const Counters& c) {
      return c.since(before, "refused_plaintext") + c.since(before, "refused_handshake");
    };
    const Counters after = env().wait_counters([&](const Counters& c) { return refused(c) >= 1; });
    CHECK(refused(after) >= 1);
    check_delta(before, after, {});
    // And a client whose connection file has no keys hears what to do, at once.
    const auto e = connect_error(profile_with_keys("plain", std::nullopt));
    REQUIRE(e);
    CHECK(e->code() == errc::refused);
    CHECK(std::string(e->what()).find("has no CURVE keys") != std::string::npos);
    check_still_served(env());
  }

  TEST_CASE("a key never admitted is refused and counted; its client hears why") {
    const Counters before = env().counters();
    const auto e = connect_error(profile_with_keys("stranger", with_own(transport::new_curve_key_pair())));
    REQUIRE(e);
    CHECK(e->code() == errc::refused);
    CHECK(std::string(e->what()).find("revoked or never admitted") != std::string::npos);
    CHECK(std::string(e->what()).find("crew keys add") != std::string::npos);
    const Counters after = env().counters();
    CHECK(after.since(before, "refused_unknown_key") >= 1);
    check_delta(before, after, {});
    check_still_served(env());
  }

  TEST_CASE("a world's key is not admitted at the client port") {
    const Counters before = env().counters();
    const auto e = connect_error(profile_with_keys("as-world", env().endpoints.world_curve));
    REQUIRE(e);
    CHECK(e->code() == errc::refused);
    CHECK(env().counters().since(before, "refused_unknown_key") >= 1);
    check_still_served(env());
  }

  TEST_CASE("a wrong server key fails the handshake, counted") {
    const Counters before = env().counters();
    transport::CurveClient wrong = env().endpoints.client_curve;
    wrong.server_key = transport::new_curve_key_pair().public_key;
    const auto e = connect_error(profile_with_keys("wrong-server", wrong));
    REQUIRE(e);
    CHECK(e->code() == errc::refused);
    const Counters after =
        env().wait_counters([&](const Counters& c) { return c.since(before, "refused_handshake") >= 1; });
    CHECK(after.since(before, "refused_handshake") >= 1);
    check_still_served(env());
  }

  TEST_CASE("a key an admin adds is admitted; revoked, its live connection goes quiet and it is refused") {
    // The holder made the pair; the admin admits its public half.
    const transport::CurveKeyPair pair = transport::new_curve_key_pair();
    const RunResult add = crew_cli({"keys", "add", "carol@laptop", pair.public_key, "--profile", "sec"});
    REQUIRE_MESSAGE(add.status == 0, add.err);
    const std::string carol = profile_with_keys("carol", with_own(pair));
    ClientOptions o;
    o.timeout = std::chrono::seconds(2);
    Client live(carol, o);
    CHECK(live.ids() == std::vector<int>{0, 1});

    const Counters before = env().counters();
    const RunResult revoke = crew_cli({"keys", "revoke", "carol@laptop", "--profile", "sec", "--json"});
    REQUIRE_MESSAGE(revoke.status == 0, revoke.err);
    CHECK(revoke.out.find(pair.public_key) != std::string::npos);
    // Within a second the gatekeeper knows; from then the live connection's requests are dropped.
    const bool quiet = poll_for(
        [&] {
          try {
            (void)live.ids();
            return false;
          } catch (const ConnectionError&) {
            return true;
          }
        },
        std::chrono::seconds(20), std::chrono::milliseconds(100));
    CHECK(quiet);
    CHECK(env().counters().since(before, "dropped_revoked") >= 1);
    // A new connection with the key is refused, and says so.
    const auto e = connect_error(carol);
    REQUIRE(e);
    CHECK(e->code() == errc::refused);
    CHECK(env().counters().since(before, "refused_revoked_key") >= 1);
    const auto listed = keyring().list();
    const auto it = std::find_if(listed.begin(), listed.end(), [](const auto& k) { return k.name == "carol@laptop"; });
    REQUIRE(it != listed.end());
    CHECK(!it->revoked.empty());
    check_still_served(env());
  }

  TEST_CASE("a connection file crew keys add writes is admitted at once") {
    TempDir dir;
    const fs::path file = dir.path() / "dave.json";
    const RunResult add = crew_cli({"keys", "add", "dave", "-o", file.string(), "--profile", "sec"});
    REQUIRE_MESSAGE(add.status == 0, add.err);
    CHECK((fs::status(file).permissions() & fs::perms::group_all) == fs::perms::none);
    const fs::path profile = profile_dir("dave");
    ensure_profile_dir(profile);
    fs::copy_file(file, profile / controller_file_name, fs::copy_options::overwrite_existing);
    CHECK(!connect_error("dave"));
  }

  TEST_CASE("a world whose key was revoked is refused, and says so") {
    TempDir dir;
    const fs::path file = dir.path() / "world.json";
    REQUIRE(crew_cli({"keys", "add", "w-revoked", "--role", "world", "-o", file.string(), "--profile", "sec"}).status ==
            0);
    REQUIRE(crew_cli({"keys", "revoke", "w-revoked", "--profile", "sec"}).status == 0);
    const Counters before = env().counters();
    proc::RunOptions o;
    o.timeout = std::chrono::seconds(60);
    o.env = {{"OMPI_ALLOW_RUN_AS_ROOT", "1"}, {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"}};
    const auto r = proc::run({"mpirun", "--oversubscribe", "-n", "1", (bin_dir() / "crew-engine").string(), "--profile",
                              "sec", "--file", file.string()},
                             o);
    CHECK(r.status != 0);
    const std::string said = r.out + r.err;
    CHECK_MESSAGE(said.find("[crew.connection.refused]") != std::string::npos, said);
    CHECK(env().counters().since(before, "refused_revoked_key") >= 1);
    CHECK(env().rc.ids() == std::vector<int>{0, 1});  // no engine joined
  }

  TEST_CASE("each launched world has its own key: revoking one shuts out that world alone") {
    std::optional<Cluster> two(std::in_place, 2, "two",
                               std::vector<std::string>{"--curve", "--worlds", "2", "--heartbeat-ms", "200"});
    const Client rc = two->client();
    REQUIRE(rc.ids() == std::vector<int>{0, 1});
    const auto keys = transport::Keyring(profile_dir("two")).list();
    for (const char* name : {"world-0", "world-1"})
      CHECK(std::count_if(keys.begin(), keys.end(), [&](const auto& k) { return k.name == name; }) == 1);
    REQUIRE(crew_cli({"keys", "revoke", "world-1", "--profile", "two"}).status == 0);
    // Its heartbeats are dropped from then on: the controller declares it dead; the other world
    // works on. (world-1 is the second world launched: the controller numbers worlds as they
    // register, which may be either way round.)
    std::vector<int> left;
    CHECK(poll_for(
        [&] {
          left = rc.ids();
          return left.size() == 1;
        },
        std::chrono::seconds(20), std::chrono::milliseconds(50)));
    REQUIRE(left.size() == 1);
    CHECK(rc[left.front()].apply("echo", 7).get(10s) == Value(7));
    CHECK(Counters::of(rc.controller_stats())["dropped_revoked"] >= 1);
    two.reset();  // `cluster stop` forgets the keys of the worlds it launched
    const auto after = transport::Keyring(profile_dir("two")).list();
    CHECK(std::none_of(after.begin(), after.end(), [](const auto& k) { return k.name.rfind("world-", 0) == 0; }));
  }

  TEST_CASE("bad input to crew keys is refused with what to do, and changes nothing") {
    const auto before = keyring().list();
    const RunResult not_a_key = crew_cli({"keys", "add", "eve", "not-a-key", "--profile", "sec"});
    CHECK(not_a_key.status == 2);
    CHECK(not_a_key.err.find("is not a CURVE public key") != std::string::npos);
    const RunResult bad_name = crew_cli({"keys", "add", "eve smith", "--profile", "sec"});
    CHECK(bad_name.status == 2);
    CHECK(bad_name.err.find("is not a key name") != std::string::npos);
    const RunResult twice =
        crew_cli({"keys", "add", "client", transport::new_curve_key_pair().public_key, "--profile", "sec"});
    CHECK(twice.status == 2);
    CHECK(twice.err.find("admitted already") != std::string::npos);
    const RunResult nobody = crew_cli({"keys", "revoke", "nobody", "--profile", "sec"});
    CHECK(nobody.status == 2);
    CHECK(nobody.err.find("crew keys list") != std::string::npos);
    CHECK(keyring().list().size() == before.size());
  }

  TEST_CASE("a controller that listens beyond loopback uses CURVE unless told --no-curve") {
    const auto curve_of = [](const Cluster& c) {
      return c.client().controller_stats().as_dict().at("curve").as_bool();
    };
    {
      Cluster wide(1, "wide", {"--ip", "0.0.0.0"});
      CHECK(curve_of(wide));
      const fs::path file = profile_dir("wide") / controller_file_name;
      CHECK(controller_file_from_json(read_json_file(file), file).curve.on());
      // Its world came in with a key of its own, not the profile's shared one.
      const auto keys = transport::Keyring(profile_dir("wide")).list();
      CHECK(std::any_of(keys.begin(), keys.end(), [](const transport::AuthorizedKey& k) {
        return k.name == "world-0" && k.role == transport::KeyRole::world && k.revoked.empty();
      }));
      CHECK(wide.client().ids() == std::vector<int>{0});
    }
    Cluster open(1, "open", {"--ip", "0.0.0.0", "--no-curve"});
    CHECK(!curve_of(open));
    // A connection file with keys, for a controller without CURVE: refused, and said so.
    const fs::path file = profile_dir("open") / controller_file_name;
    ControllerFile cf = controller_file_from_json(read_json_file(file), file);
    const auto pair = transport::new_curve_key_pair();
    cf.curve = {transport::new_curve_key_pair().public_key, pair.public_key, pair.secret_key};
    ensure_profile_dir(profile_dir("open-keyed"));
    write_private_json(profile_dir("open-keyed") / controller_file_name, to_json(cf));
    const auto e = connect_error("open-keyed");
    REQUIRE(e);
    CHECK(e->code() == errc::refused);
    CHECK(std::string(e->what()).find("runs without CURVE") != std::string::npos);
    const RunResult both = crew_cli({"cluster", "start", "-n", "1", "--curve", "--no-curve", "--profile", "both"});
    CHECK(both.status == 2);
    CHECK(both.err.find("--curve and --no-curve") != std::string::npos);
  }

}  // TEST_SUITE
