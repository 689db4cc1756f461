// The hub's query bodies (protocol/hub_queries.hpp), and hello's reply: they round trip through their messages, and a
// body cut short names the field it ends in, inside a list of records too.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "crew/error.hpp"
#include "protocol/hub_queries.hpp"
#include "protocol/typed_body.hpp"

using namespace crew;

namespace {

/// The message as its receiver holds it.
wire::Packet received(const wire::Outgoing& m) { return wire::unpack(m.header_bytes, m.payload).front(); }

wire::Header of_kind(wire::MsgKind kind) {
  wire::Header h;
  h.kind = kind;
  h.request_id = 7;
  return h;
}

wire::QueueReply two_engines() {
  wire::QueueReply q;
  q.engines = {{0, 0, "alive", 3, 40, 2}, {1, 0, "dead", 0, 12, 0}};
  q.unassigned = 5;
  q.waiting = 1;
  q.scheme = "leastload";
  q.hwm = 4;
  q.submitted = 60;
  q.completed = 52;
  q.failed = 2;
  q.retried = 1;
  return q;
}

}  // namespace

TEST_SUITE("protocol.hub_queries") {

  TEST_CASE("a queue_reply round trips with every engine's record") {
    const auto m = wire::make_typed_message(of_kind(wire::MsgKind::queue_reply), two_engines());
    const auto q = wire::read_typed_body<wire::QueueReply>(received(m));
    REQUIRE(q.engines.size() == 2);
    CHECK(q.engines[1].id == 1);
    CHECK(q.engines[1].state == "dead");
    CHECK(q.engines[0].queue == 3);
    CHECK(q.engines[0].completed == 40);
    CHECK(q.engines[0].depth == 2);
    CHECK(q.unassigned == 5);
    CHECK(q.scheme == "leastload");
    CHECK(q.hwm == 4);
    CHECK(q.retried == 1);
  }

  TEST_CASE("an engines_reply, result and abort bodies round trip") {
    wire::EnginesReply engines;
    engines.engines.push_back(
        {3, "node-a", 99, 1, 2, 4, "alive", 1, 8, R"({"gpu":true})", "slurm", "42", 1'900'000'000, true});
    const auto e = wire::read_typed_body<wire::EnginesReply>(
        received(wire::make_typed_message(of_kind(wire::MsgKind::engines_reply), engines)));
    REQUIRE(e.engines.size() == 1);
    CHECK(e.engines[0].host == "node-a");
    CHECK(e.engines[0].properties == R"({"gpu":true})");
    CHECK(e.engines[0].job_end == 1'900'000'000);
    CHECK(e.engines[0].draining);

    const auto r = wire::read_typed_body<wire::ResultRequest>(received(
        wire::make_typed_message(of_kind(wire::MsgKind::result_request), wire::ResultRequest{{"a", "b"}, true})));
    CHECK(r.msg_ids == std::vector<std::string>{"a", "b"});
    CHECK(r.resend);
    const auto a = wire::read_typed_body<wire::AbortReply>(received(
        wire::make_typed_message(of_kind(wire::MsgKind::abort_reply), wire::AbortReply{{"x"}, {}, {"y", "z"}})));
    CHECK(a.aborted == std::vector<std::string>{"x"});
    CHECK(a.done.empty());
    CHECK(a.running == std::vector<std::string>{"y", "z"});
  }

  TEST_CASE("a queue_reply cut inside an engine's record names that field") {
    const auto m = wire::make_typed_message(of_kind(wire::MsgKind::queue_reply), two_engines());
    const Buffer whole = m.payload.front();
    // Cut inside the first engine's state: id and world (4 bytes each) and the list's size came first.
    wire::Packet p = received(m);
    p.payload = {Buffer::copy(whole.data(), 1 + 4 + 4 + 2)};
    CHECK_THROWS_WITH_AS(wire::read_typed_body<wire::QueueReply>(p),
                         doctest::Contains("queue_reply body, field engines.state:"), ProtocolError);
    p.payload = {Buffer::copy(whole.data(), whole.size() - 1)};
    CHECK_THROWS_WITH_AS(wire::read_typed_body<wire::QueueReply>(p), doctest::Contains("field retried:"),
                         ProtocolError);
  }

  TEST_CASE("a hello_reply round trips, and one without a session is refused") {
    wire::HelloReply hello{"1.2.3", "sec", 4242, 3, "2s", std::uint64_t{16} << 30};
    const auto back = wire::read_typed_body<wire::HelloReply>(
        received(wire::make_typed_message(of_kind(wire::MsgKind::hello_reply), hello)));
    CHECK(back.crew_version == "1.2.3");
    CHECK(back.profile == "sec");
    CHECK(back.pid == 4242);
    CHECK(back.engines == 3);
    CHECK(back.session == "2s");
    CHECK(back.max_message_bytes == std::uint64_t{16} << 30);
    hello.session.clear();
    CHECK_THROWS_WITH_AS(wire::read_typed_body<wire::HelloReply>(
                             received(wire::make_typed_message(of_kind(wire::MsgKind::hello_reply), hello))),
                         doctest::Contains("hello_reply body: field session is empty"), ProtocolError);
  }

  TEST_CASE("an engines_request that waits for a negative number of engines or ms is refused") {
    const auto m = wire::make_typed_message(of_kind(wire::MsgKind::engines_request), wire::EnginesRequest{-2, 0});
    CHECK_THROWS_WITH_AS(wire::read_typed_body<wire::EnginesRequest>(received(m)),
                         doctest::Contains("engines_request body: field wait_for is -2"), ProtocolError);
  }
}
