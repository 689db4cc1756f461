// Hostile messages at the controller's engine endpoint: garbage, bogus credentials, messages from
// a bridge that never registered, broken registrations, and a registered bridge that lies
// (replies for tasks it does not hold, replays of another world's replies, malformed replies).
//
// Nothing answers an engine-side message that is dropped, so these cases wait on the good
// client's view of the counters (poll_for with a deadline) instead of a barrier.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "hostile_peer.hpp"
#include "protocol/value_codec.hpp"

using namespace crew;
using namespace crew::testing;
using namespace crew::testing::hostile;

namespace {

wire::Header of_kind(wire::MsgKind kind) {
  wire::Header h;
  h.kind = kind;
  return h;
}

wire::Header reply_header(std::vector<std::string> msg_ids, int engine_id = 0) {
  wire::Header h = of_kind(wire::MsgKind::apply_reply);
  h.msg_ids.assign(msg_ids.begin(), msg_ids.end());
  h.engine_id = engine_id;
  return h;
}

const EngineInfo* find_engine(const std::vector<EngineInfo>& engines, int id) {
  for (const auto& e : engines)
    if (e.id == id) return &e;
  return nullptr;
}

}  // namespace

#define ENGINE_PEER(var, name)                                                                                         \
  RawPeer var(env().ctx, env().endpoints.engine_url, env().endpoints.key, name,                                        \
              env().endpoints.curve_at(env().endpoints.engine_url))
#define CLIENT_PEER(var, name)                                                                                         \
  RawPeer var(env().ctx, env().endpoints.client_url, env().endpoints.key, name,                                        \
              env().endpoints.curve_at(env().endpoints.client_url))

TEST_SUITE("security.engine_socket") {

  TEST_CASE("garbage and mis-signed messages at the engine socket are dropped and counted") {
    ENGINE_PEER(peer, "engine-garbage");
    std::mt19937_64 rng(1234);
    wire::Signer wrong(wire::key_from_hex(wire::new_key_hex()));
    const auto hb = wire::make_message(of_kind(wire::MsgKind::heartbeat));
    std::int64_t malformed = 0, mis_signed = 0;
    const Counters before = env().counters();

    peer.send_frames({"garbage"});
    peer.send_frames({delimiter});
    peer.send_signed(Buffer::copy(std::string(1, '\xff') + random_bytes(rng, 30)), {body_frame(Value())});
    malformed += 3;
    peer.send_with_signature(wire::signature_of(hb.header_bytes, hb.payload, wrong), hb.header_bytes, hb.payload);
    ++mis_signed;
    for (int i = 0; i < 200; ++i) {
      std::vector<std::string> frames(1 + rng() % 8);
      for (auto& f : frames) f = random_bytes(rng, rng() % 200);
      if (rng() % 3 == 0) frames[rng() % frames.size()] = delimiter;
      ++(predicts_malformed(frames) ? malformed : mis_signed);
      peer.send_frames(frames);
    }
    const Counters after = env().wait_counters([&](const Counters& c) {
      return c.since(before, "dropped_malformed") >= malformed &&
             c.since(before, "dropped_bad_signature") >= mis_signed;
    });
    check_delta(before, after, {{"dropped_bad_signature", mis_signed}, {"dropped_malformed", malformed}});
    CHECK(after["worlds"] == before["worlds"]);
    check_still_served(env());
  }

  TEST_CASE("messages from a bridge that never registered are dropped as unexpected and answered by nothing") {
    ENGINE_PEER(peer, "never-registered");
    const Counters before = env().counters();
    peer.send_signed(of_kind(wire::MsgKind::heartbeat));
    peer.send_signed(reply_header({"nobody-1"}), Value(666));  // a reply for an unknown msg_id
    peer.send_signed(of_kind(wire::MsgKind::goodbye));         // must not end any world
    peer.send_signed(apply_header({0}, {"never-run-3"}, "echo"), Value::list({1}));
    const Counters after =
        env().wait_counters([&](const Counters& c) { return c.since(before, "dropped_unexpected") >= 4; });
    check_delta(before, after, {{"dropped_unexpected", 4}});
    CHECK(after["engines_alive"] == 2);
    CHECK(after["worlds"] == before["worlds"]);
    CHECK_FALSE(peer.recv(200ms).has_value());  // no heartbeat echo, no reply of any kind
    check_still_served(env());
  }

  TEST_CASE(
      "a register_request with a malformed body is a handler error that names what is wrong, and registers nothing") {
    ENGINE_PEER(peer, "bad-registration");
    std::mt19937_64 rng(77);
    const wire::Header reg = of_kind(wire::MsgKind::register_request);
    const wire::RegisterRequest good = registration({"h", "h"});
    // Each body, and what the controller's answer must name.
    std::vector<std::pair<wire::Payload, std::string>> bodies;
    auto typed = [&](const std::string& why, auto change) {
      wire::RegisterRequest r = good;
      change(r);
      bodies.push_back({{Buffer::adopt(wire::typed_bytes(r))}, why});
    };
    typed("field size is 0", [](auto& r) { r.size = 0, r.hosts.clear(), r.pids.clear(), r.properties.clear(); });
    typed("field size is -5", [](auto& r) { r.size = -5; });
    typed("field hosts has 2 entries for a world of size 3", [](auto& r) { r.size = 3; });
    typed("field pids has 1 entry", [](auto& r) { r.pids.pop_back(); });
    typed("field properties has 0 entries", [](auto& r) { r.properties.clear(); });
    typed("rank 1's properties are [1], not a JSON object", [](auto& r) { r.properties[1] = "[1]"; });
    typed("rank 0's properties are no JSON", [](auto& r) { r.properties[0] = "{"; });
    std::vector<std::byte> bytes = wire::typed_bytes(good);
    bytes.resize(bytes.size() - 3);  // ends inside the job's end_time
    bodies.push_back({{Buffer::adopt(std::vector<std::byte>(bytes))}, "field job.end_time: message ends early"});
    bytes.resize(1);  // ends inside the size
    bodies.push_back({{Buffer::adopt(std::vector<std::byte>(bytes))}, "field size: message ends early"});
    bytes = wire::typed_bytes(good);
    bytes.push_back(std::byte{1});
    bodies.push_back({{Buffer::adopt(std::move(bytes))}, "1 stray byte after its last field"});
    bodies.push_back({{Buffer::adopt(wire::typed_bytes(good)), Buffer::copy("extra")}, "came in 2 frames"});
    bodies.push_back({{Buffer::copy("")}, "field size: message ends early"});  // no body
    bodies.push_back(
        {{body_frame(Value::dict({{"size", 1}, {"hosts", Value::list({"h"})}, {"pids", Value::list({1})}}))},
         "register_request body"});                                                      // a dict, as crew/2 sent it
    bodies.push_back({{Buffer::copy(random_bytes(rng, 40))}, "register_request body"});  // does not decode
    const Counters before = env().counters();
    for (const auto& [payload, why] : bodies) {
      peer.send_signed(wire::encode_header(reg), payload);
      const auto answer = peer.recv(10s);
      REQUIRE(answer.has_value());
      CHECK(answer->header.kind == wire::MsgKind::register_reply);
      CHECK(answer->header.error.code == errc::malformed);
      CHECK_MESSAGE(answer->header.error.message.find(why) != std::string::npos,
                    answer->header.error.message << " does not say " << why);
    }
    const auto errors = static_cast<std::int64_t>(bodies.size());
    // Still unregistered afterwards: its heartbeat is unexpected.
    peer.send_signed(of_kind(wire::MsgKind::heartbeat));
    const Counters after = env().wait_counters([&](const Counters& c) {
      return c.since(before, "handler_errors") >= errors && c.since(before, "dropped_unexpected") >= 1;
    });
    check_delta(before, after, {{"dropped_unexpected", 1}, {"handler_errors", errors}});
    CHECK(after["worlds"] == before["worlds"]);
    CHECK(after["engines_alive"] == 2);
    check_still_served(env());
  }

  TEST_CASE("a registered bridge's bogus replies are counted, and its replays and forgeries change nothing") {
    ENGINE_PEER(fake, "fake-world");
    CLIENT_PEER(client, "fake-world-victim");
    // A world of one engine that the test speaks for.
    fake.send_signed(wire::make_typed_message(of_kind(wire::MsgKind::register_request), registration({"fakehost"})));
    const auto registered = fake.recv(10s);
    REQUIRE(registered.has_value());
    REQUIRE(registered->header.kind == wire::MsgKind::register_reply);
    REQUIRE_FALSE(registered->header.error.failed());
    const int fake_engine = wire::read_typed_body<wire::RegisterReply>(*registered).first_engine;
    CHECK(fake_engine == 2);

    // A genuine reply from world 0, captured by the client that asked for it.
    client.send_signed(apply_header({0}, {"genuine-1"}, "echo"), Value::list({42}));
    auto genuine = client.replies_for("genuine-1", 1, 10s);
    REQUIRE(genuine.size() == 1);
    REQUIRE(genuine[0].body() == Value(42));
    const std::int64_t completed_by_0 = find_engine(env().rc.engines(), 0)->completed;

    const Counters before = env().counters();
    fake.send_signed(of_kind(wire::MsgKind::heartbeat));
    // Replayed by the wrong world after it was answered: dropped (as unexpected, or silently as a
    // duplicate), never delivered or counted again.
    fake.send_with_signature(genuine[0].signature, genuine[0].header_bytes, genuine[0].payload);
    fake.send_signed(reply_header({"nobody-2"}, fake_engine), Value(1));              // unknown msg_id
    fake.send_signed(of_kind(wire::MsgKind::hello));                                  // a client's kind
    fake.send_signed(reply_header({}, fake_engine), Value(1));                        // no msg_id
    fake.send_signed(reply_header({"nobody-3", "nobody-4"}, fake_engine), Value(1));  // two msg_ids
    Counters after =
        env().wait_counters([&](const Counters& c) { return c.since(before, "handler_errors") >= 2; });  // the last two
    CHECK(after.since(before, "handler_errors") == 2);
    CHECK(after.since(before, "dropped_unexpected") >= 2);
    CHECK(after.since(before, "dropped_unexpected") <= 3);
    CHECK(after["dropped_bad_signature"] == before["dropped_bad_signature"]);
    CHECK(after["dropped_malformed"] == before["dropped_malformed"]);
    CHECK(after["tasks_submitted"] == before["tasks_submitted"]);
    CHECK(find_engine(env().rc.engines(), 0)->completed == completed_by_0);  // the replay counts for nothing
    (void)client.barrier();
    CHECK(client.replies_for("genuine-1", 1, 0ms).empty());  // and reaches nobody

    // A forged reply for a task that world 0 holds is not the task's result.
    client.send_signed(apply_header({0}, {"slow-1"}, "sleep"), Value::list({0.5}));
    (void)client.barrier();  // dispatched to engine 0
    const Counters before_forgery = env().counters();
    fake.send_signed(reply_header({"slow-1"}, 0), Value(666));
    const auto slow = client.replies_for("slow-1", 1, 10s);
    REQUIRE(slow.size() == 1);
    CHECK(slow[0].body().is_null());  // sleep's own result, not the forgery's 666
    after =
        env().wait_counters([&](const Counters& c) { return c.since(before_forgery, "dropped_unexpected") >= 1; }, 3s);
    CHECK_MESSAGE(after.since(before_forgery, "dropped_unexpected") == 1,
                  "a reply from a world for a task it does not hold is dropped as unexpected");

    // The fake world leaves; the cluster is what it was.
    fake.send_signed(of_kind(wire::MsgKind::goodbye));
    CHECK(poll_for(
        [&] {
          const auto engines = env().rc.engines();
          const EngineInfo* e = find_engine(engines, fake_engine);
          return e != nullptr && e->state != "alive";
        },
        10s));
    check_still_served(env());
  }

}  // TEST_SUITE
