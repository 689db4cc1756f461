// Registration's typed bodies (protocol/registration.hpp, protocol/typed_body.hpp): they round
// trip, and a body that is cut short, has stray bytes, extra frames or fields that do not fit
// together is refused as malformed, naming the field.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "crew/error.hpp"
#include "protocol/registration.hpp"
#include "protocol/typed_body.hpp"
#include "protocol/value_codec.hpp"

using namespace crew;

namespace {

wire::RegisterRequest two_ranks() {
  wire::RegisterRequest r;
  r.size = 2;
  r.hosts = {"node-a", "node-b"};
  r.pids = {101, 202};
  r.properties = {R"({"gpu":true})", "{}"};
  r.crew_version = "9.9.9";
  r.job = {"slurm", "4711", 1'900'000'000};
  return r;
}

wire::Header of_kind(wire::MsgKind kind) {
  wire::Header h;
  h.kind = kind;
  return h;
}

/// A packet of `kind` with these body frames, as a receiver holds it.
wire::Packet packet(wire::MsgKind kind, wire::Payload payload) {
  wire::Packet p;
  p.header.kind = kind;
  p.payload = std::move(payload);
  return p;
}

/// The message of the malformed error that reading `p` as a RegisterRequest throws.
std::string refusal(const wire::Packet& p) {
  try {
    (void)wire::read_typed_body<wire::RegisterRequest>(p);
  } catch (const ProtocolError& e) {
    CHECK(e.code() == errc::malformed);
    return e.what();
  }
  FAIL("read_typed_body accepted the body");
  return {};
}

}  // namespace

TEST_SUITE("protocol.registration") {

  TEST_CASE("a register_request and a register_reply round trip through their messages") {
    const auto m = wire::make_typed_message(of_kind(wire::MsgKind::register_request), two_ranks());
    auto p = wire::unpack(m.header_bytes, m.payload).front();
    const auto r = wire::read_typed_body<wire::RegisterRequest>(p);
    CHECK(r.size == 2);
    CHECK(r.hosts == two_ranks().hosts);
    CHECK(r.pids == two_ranks().pids);
    CHECK(r.properties == two_ranks().properties);
    CHECK(r.crew_version == "9.9.9");
    CHECK(r.job.launcher == "slurm");
    CHECK(r.job.id == "4711");
    CHECK(r.job.end_time == 1'900'000'000);

    const wire::RegisterReply placed{3, 17, 250, 60};
    const auto reply = wire::make_typed_message(of_kind(wire::MsgKind::register_reply), placed);
    const auto back =
        wire::read_typed_body<wire::RegisterReply>(wire::unpack(reply.header_bytes, reply.payload).front());
    CHECK(back.world == 3);
    CHECK(back.first_engine == 17);
    CHECK(back.heartbeat_ms == 250);
    CHECK(back.drain_margin_s == 60);
  }

  TEST_CASE("a body cut short names the field it ends in, at every length") {
    const std::vector<std::byte> whole = wire::typed_bytes(two_ranks());
    for (std::size_t n = 0; n < whole.size(); ++n) {
      const std::string why = refusal(packet(wire::MsgKind::register_request, {Buffer::copy(whole.data(), n)}));
      CHECK_MESSAGE(why.find("[crew.protocol.malformed] register_request body, field ") == 0, why);
      CHECK_MESSAGE((why.find("ends early") != std::string::npos || why.find("exceeds the") != std::string::npos), why);
    }
    CHECK(refusal(packet(wire::MsgKind::register_request, {Buffer::copy(whole.data(), 0)})).find("field size:") !=
          std::string::npos);
    CHECK(refusal(packet(wire::MsgKind::register_request, {Buffer::copy(whole.data(), whole.size() - 1)}))
              .find("field job.end_time:") != std::string::npos);
  }

  TEST_CASE("stray bytes, a second frame and a dict body are refused") {
    std::vector<std::byte> longer = wire::typed_bytes(two_ranks());
    longer.push_back(std::byte{0});
    CHECK(refusal(packet(wire::MsgKind::register_request, {Buffer::adopt(std::move(longer))}))
              .find("1 stray byte after its last field") != std::string::npos);
    CHECK(refusal(packet(wire::MsgKind::register_request,
                         {Buffer::adopt(wire::typed_bytes(two_ranks())), Buffer::copy("x")}))
              .find("came in 2 frames") != std::string::npos);
    wire::Payload dict;
    wire::encode_value(Value::dict({{"size", 1}, {"hosts", Value::list({"h"})}}), dict);
    CHECK(refusal(packet(wire::MsgKind::register_request, std::move(dict))).find("register_request body") !=
          std::string::npos);
  }

  TEST_CASE("fields that decode but do not fit together are named") {
    auto with = [](auto change) {
      wire::RegisterRequest r = two_ranks();
      change(r);
      return refusal(packet(wire::MsgKind::register_request, {Buffer::adopt(wire::typed_bytes(r))}));
    };
    CHECK(with([](auto& r) { r.size = 0; }).find("field size is 0: a world has at least one rank") !=
          std::string::npos);
    CHECK(with([](auto& r) { r.hosts.pop_back(); }).find("field hosts has 1 entry for a world of size 2") !=
          std::string::npos);
    CHECK(with([](auto& r) { r.pids.push_back(3); }).find("field pids has 3 entries") != std::string::npos);
    CHECK(with([](auto& r) { r.properties.clear(); }).find("field properties has 0 entries") != std::string::npos);

    const wire::RegisterReply bad{0, 0, 0, 60};
    const auto m = wire::make_typed_message(of_kind(wire::MsgKind::register_reply), bad);
    CHECK_THROWS_WITH_AS(wire::read_typed_body<wire::RegisterReply>(wire::unpack(m.header_bytes, m.payload).front()),
                         doctest::Contains("register_reply body: field heartbeat_ms is 0"), ProtocolError);
  }

  TEST_CASE("a reattach_request carries its world, place and held tasks; one that does not fit is named") {
    wire::ReattachRequest ask;
    ask.world = two_ranks();
    ask.world_id = 1;
    ask.first_engine = 2;
    ask.old_incarnation = 0xfeedULL;
    ask.held = {{"3-7", 2, 11, "square", 1'800'000'000'000'000}, {"x", 3, 0, "f", 0}};
    ask.last_balanced_seq = {11, 0};
    const auto m = wire::make_typed_message(of_kind(wire::MsgKind::reattach_request), ask);
    const auto back = wire::read_typed_body<wire::ReattachRequest>(wire::unpack(m.header_bytes, m.payload).front());
    CHECK(back.world.hosts == ask.world.hosts);
    CHECK(back.world_id == 1);
    CHECK(back.first_engine == 2);
    CHECK(back.old_incarnation == 0xfeedULL);
    REQUIRE(back.held.size() == 2);
    CHECK(back.held[0].msg_id == "3-7");
    CHECK(back.held[0].engine == 2);
    CHECK(back.held[0].balanced_seq == 11);
    CHECK(back.held[0].function == "square");
    CHECK(back.held[0].submitted_us == 1'800'000'000'000'000);
    CHECK(back.last_balanced_seq == ask.last_balanced_seq);

    const auto refused = [&](auto change) {
      wire::ReattachRequest r = ask;
      change(r);
      const auto bad = wire::make_typed_message(of_kind(wire::MsgKind::reattach_request), r);
      try {
        (void)wire::read_typed_body<wire::ReattachRequest>(wire::unpack(bad.header_bytes, bad.payload).front());
      } catch (const ProtocolError& e) {
        return std::string(e.what());
      }
      return std::string("accepted");
    };
    CHECK(refused([](auto& r) { r.world_id = -1; }).find("field world_id is -1") != std::string::npos);
    CHECK(refused([](auto& r) { r.last_balanced_seq = {1}; }).find("field last_balanced_seq has 1 entry") !=
          std::string::npos);
    CHECK(refused([](auto& r) { r.world.pids.clear(); }).find("field pids has 0 entries") != std::string::npos);
  }
}
