// crew messages on real ZeroMQ sockets (protocol/wire.hpp), over an inproc DEALER <-> ROUTER
// pair in one context: framing, signatures, seals and replays, rejections, forwarding and
// zero-copy frames.
#include <doctest/doctest.h>

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "crew/error.hpp"
#include "crew/value.hpp"
#include "protocol/seal.hpp"
#include "protocol/value_codec.hpp"
#include "protocol/wire.hpp"
#include "transport/replay_guard.hpp"
#include "transport/zmq_frames.hpp"

using namespace crew;
using namespace std::chrono_literals;

namespace {

const std::string key = "wire-test-key-0123456789abcdef";
const std::string proto(wire::protocol_id);  ///< the delimiter frame

/// A bound ROUTER and a connected DEALER (routing id "dealer-1") on a fresh inproc endpoint.
struct Pair {
  zmq::context_t ctx;
  zmq::socket_t router{ctx, zmq::socket_type::router};
  zmq::socket_t dealer{ctx, zmq::socket_type::dealer};
  Pair() {
    static std::atomic<int> n{0};
    const std::string endpoint = "inproc://wire-test-" + std::to_string(n++);
    router.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::router_mandatory, 1);
    dealer.set(zmq::sockopt::routing_id, "dealer-1");
    router.bind(endpoint);
    dealer.connect(endpoint);
  }
};

/// Waits (poll with a deadline, no sleeping) for one whole message on `s`.
std::vector<zmq::message_t> recv_within(zmq::socket_t& s, std::chrono::milliseconds timeout = 5000ms) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  REQUIRE(zmq::poll(&item, 1, timeout) == 1);
  auto frames = transport::recv_frames(s);
  REQUIRE(frames.has_value());
  return std::move(*frames);
}

/// Sends raw frames (no crew framing) from `s`.
void send_raw(zmq::socket_t& s, const std::vector<std::string>& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i)
    REQUIRE(s.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none));
}

std::string str(const zmq::message_t& m) { return std::string(static_cast<const char*>(m.data()), m.size()); }

/// Every test's receiving side remembers the seals it admitted (each Sealer has its own sender id).
transport::ReplayGuard guard;

/// The frames as strings, without the first `skip` (a ROUTER's routing frame).
std::vector<std::string> strings_of(const std::vector<zmq::message_t>& frames, std::size_t skip = 0) {
  std::vector<std::string> out;
  for (std::size_t i = skip; i < frames.size(); ++i) out.push_back(str(frames[i]));
  return out;
}

std::string bytes_str(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

wire::Header task_header() {
  wire::Header h;
  h.kind = wire::MsgKind::direct_task;
  h.request_id = 77;
  h.targets = {0, 1};
  h.msg_ids = {"a", "b"};
  h.function = "mul";
  return h;
}

}  // namespace

/// The one crew message a ZeroMQ message brought (not a batch).
const wire::Packet& only(const transport::Received& r) {
  REQUIRE(r.messages.size() == 1);
  return r.messages.front();
}

TEST_SUITE("unit.wire" * doctest::timeout(30)) {

  TEST_CASE("a message sent from a DEALER opens on the ROUTER with its routing frame") {
    Pair p;
    transport::Sealer sealer(key);
    wire::Signer& signer = sealer.signer;
    const Value body = Value::list({5, 6.5, "x"});
    const auto out = wire::make_message(task_header(), body);
    CHECK(transport::send(p.dealer, {}, out, sealer) == transport::Sent::ok);

    auto frames = recv_within(p.router);
    CHECK(frames.size() == 6);  // routing id, delimiter, seal, signature, header, body
    wire::Rejection why;
    wire::Signer verifier(key);
    auto packet = transport::open(std::move(frames), verifier, guard, why);
    REQUIRE(packet.has_value());
    CHECK(why.code == errc::none);
    REQUIRE(packet->routing.size() == 1);
    CHECK(str(packet->routing[0]) == "dealer-1");
    CHECK(only(*packet).header.kind == wire::MsgKind::direct_task);
    CHECK(only(*packet).header.request_id == 77);
    CHECK(only(*packet).header.targets == wire::EngineIds{0, 1});
    CHECK(only(*packet).header.msg_ids == wire::MsgIds{"a", "b"});
    CHECK(only(*packet).header.function == "mul");
    CHECK(only(*packet).body() == body);
    CHECK(only(*packet).signature.size() == wire::Signer::signature_size);
    CHECK(only(*packet).signature == wire::signature_of(out.header_bytes, out.payload, signer));
    CHECK(only(*packet).header_bytes == out.header_bytes);
  }

  TEST_CASE("a reply routed back from the ROUTER opens on the DEALER without routing frames") {
    Pair p;
    transport::Sealer sealer(key);
    wire::Signer& signer = sealer.signer;
    REQUIRE(transport::send(p.dealer, {}, wire::make_message(task_header()), sealer) == transport::Sent::ok);
    wire::Rejection why;
    auto request = transport::open(recv_within(p.router), signer, guard, why);
    REQUIRE(request.has_value());

    wire::Header reply;
    reply.kind = wire::MsgKind::apply_reply;
    reply.engine_id = 1;
    reply.msg_ids = {"b"};
    CHECK(transport::send(p.router, request->routing, wire::make_message(reply, Value("done")), sealer) ==
          transport::Sent::ok);
    auto got = transport::open(recv_within(p.dealer), signer, guard, why);
    REQUIRE(got.has_value());
    CHECK(got->routing.empty());
    CHECK(only(*got).header.kind == wire::MsgKind::apply_reply);
    CHECK(only(*got).header.engine_id == 1);
    CHECK(only(*got).body().as_string() == "done");
  }

  TEST_CASE("a message signed with another key is rejected as bad_signature") {
    Pair p;
    transport::Sealer sender("some other key");
    REQUIRE(transport::send(p.dealer, {}, wire::make_message(task_header(), Value(1)), sender) == transport::Sent::ok);
    wire::Signer receiver(key);
    wire::Rejection why;
    CHECK_FALSE(transport::open(recv_within(p.router), receiver, guard, why).has_value());
    CHECK(why.code == errc::bad_signature);
    CHECK_FALSE(why.detail.empty());
  }

  TEST_CASE("a tampered body is rejected as bad_signature") {
    Pair p;
    transport::Sealer sealer(key);
    wire::Signer& signer = sealer.signer;
    const auto out = wire::make_message(task_header(), Value(12345));
    REQUIRE(transport::send(p.dealer, {}, out, sealer) == transport::Sent::ok);
    auto frames = recv_within(p.router);
    REQUIRE(frames.size() == 6);
    frames[5] = zmq::message_t(frames[5].data(), frames[5].size());
    static_cast<char*>(frames[5].data())[frames[5].size() - 1] ^= 1;
    wire::Rejection why;
    CHECK_FALSE(transport::open(std::move(frames), signer, guard, why).has_value());
    CHECK(why.code == errc::bad_signature);
  }

  TEST_CASE("a message without the protocol's delimiter is malformed; another version's is named") {
    Pair p;
    transport::Sealer sealer(key);
    wire::Signer& signer = sealer.signer;
    send_raw(p.dealer, {"crew/x", "sig", "header", "body"});
    wire::Rejection why;
    CHECK_FALSE(transport::open(recv_within(p.router), signer, guard, why).has_value());
    CHECK(why.code == errc::malformed);
    CHECK(why.detail.find("delimiter") != std::string::npos);
    CHECK(why.detail.find("the peer speaks crew/x") != std::string::npos);
    send_raw(p.dealer, {"nothing", "sig", "header", "body"});
    CHECK_FALSE(transport::open(recv_within(p.router), signer, guard, why).has_value());
    CHECK(why.detail.find("the peer speaks") == std::string::npos);
  }

  TEST_CASE("a message with too few frames after the delimiter is malformed") {
    Pair p;
    transport::Sealer sealer(key);
    wire::Signer& signer = sealer.signer;
    for (const auto& frames :
         std::vector<std::vector<std::string>>{{proto},
                                               {proto, std::string(48, 'S')},
                                               {proto, std::string(48, 'S'), std::string(32, 's')},
                                               {proto, std::string(48, 'S'), std::string(32, 's'), "header"}}) {
      CAPTURE(frames.size());
      send_raw(p.dealer, frames);
      wire::Rejection why;
      CHECK_FALSE(transport::open(recv_within(p.router), signer, guard, why).has_value());
      CHECK(why.code == errc::malformed);
    }
  }

  TEST_CASE("garbage header bytes with a valid signature are malformed, not bad_signature") {
    Pair p;
    transport::Sealer sealer(key);
    wire::Signer& signer = sealer.signer;
    wire::Payload payload;
    wire::encode_value(Value(1), payload);
    for (const std::string& garbage : {std::string(), std::string("\x00garbage", 8), std::string("\x05\x01", 2)}) {
      CAPTURE(garbage.size());
      // Signed by hand: each frame after the signature, in order.
      signer.begin();
      signer.add({reinterpret_cast<const std::byte*>(garbage.data()), garbage.size()});
      signer.add(payload[0].bytes());
      const wire::Signer::Signature sig = signer.finish();
      const wire::Seal seal = sealer.seal(sig.bytes());
      send_raw(p.dealer, {proto, bytes_str(seal), bytes_str(sig.bytes()), garbage, std::string(payload[0].str())});
      wire::Rejection why;
      CHECK_FALSE(transport::open(recv_within(p.router), signer, guard, why).has_value());
      CHECK(why.code == errc::malformed);
    }
  }

  TEST_CASE("a rejected message does not disturb the next good one") {
    Pair p;
    transport::Sealer sealer(key);
    wire::Signer& signer = sealer.signer;
    send_raw(p.dealer, {"junk"});
    REQUIRE(transport::send(p.dealer, {}, wire::make_message(task_header(), Value("ok")), sealer) ==
            transport::Sent::ok);
    wire::Rejection why;
    CHECK_FALSE(transport::open(recv_within(p.router), signer, guard, why).has_value());
    auto good = transport::open(recv_within(p.router), signer, guard, why);
    REQUIRE(good.has_value());
    CHECK(only(*good).body().as_string() == "ok");
  }

  TEST_CASE("the very same frames sent again are refused as replayed, and the sender's next message opens") {
    Pair p;
    transport::Sealer sealer(key);
    transport::ReplayGuard mine;
    wire::Rejection why;
    REQUIRE(transport::send(p.dealer, {}, wire::make_message(task_header(), Value(1)), sealer) == transport::Sent::ok);
    auto first = recv_within(p.router);
    const std::vector<std::string> captured = strings_of(first, 1);  // as a listener on the wire saw it
    REQUIRE(transport::open(std::move(first), sealer.signer, mine, why).has_value());

    send_raw(p.dealer, captured);
    CHECK_FALSE(transport::open(recv_within(p.router), sealer.signer, mine, why).has_value());
    CHECK(why.code == errc::replayed);
    CHECK(why.detail.find("came before") != std::string::npos);

    REQUIRE(transport::send(p.dealer, {}, wire::make_message(task_header(), Value(2)), sealer) == transport::Sent::ok);
    auto next = transport::open(recv_within(p.router), sealer.signer, mine, why);
    REQUIRE(next.has_value());
    CHECK(only(*next).body() == Value(2));
    send_raw(p.dealer, captured);  // still refused after newer ones
    CHECK_FALSE(transport::open(recv_within(p.router), sealer.signer, mine, why).has_value());
    CHECK(why.code == errc::replayed);
    CHECK(mine.senders() == 1);
  }

  TEST_CASE("a seal that was altered, or moved to another message, fails as bad_signature") {
    Pair p;
    transport::Sealer sealer(key);
    wire::Rejection why;
    REQUIRE(transport::send(p.dealer, {}, wire::make_message(task_header(), Value(1)), sealer) == transport::Sent::ok);
    REQUIRE(transport::send(p.dealer, {}, wire::make_message(task_header(), Value(2)), sealer) == transport::Sent::ok);
    const auto one = strings_of(recv_within(p.router), 1);
    const auto two = strings_of(recv_within(p.router), 1);
    REQUIRE(one.size() == 5);
    // A higher sequence number written into the first message's seal (a replay that hopes to pass as new).
    auto bumped = one;
    bumped[1][8] = static_cast<char>(bumped[1][8] + 7);
    send_raw(p.dealer, bumped);
    CHECK_FALSE(transport::open(recv_within(p.router), sealer.signer, guard, why).has_value());
    CHECK(why.code == errc::bad_signature);
    // The second message's (newer) seal on the first message.
    auto swapped = one;
    swapped[1] = two[1];
    send_raw(p.dealer, swapped);
    CHECK_FALSE(transport::open(recv_within(p.router), sealer.signer, guard, why).has_value());
    CHECK(why.code == errc::bad_signature);
  }

  TEST_CASE("a message sealed by the receiver's own socket is refused as replayed") {
    Pair p;
    transport::Sealer sealer(key);
    transport::ReplayGuard mine;
    mine.add_own(sealer.sender);
    REQUIRE(transport::send(p.dealer, {}, wire::make_message(task_header()), sealer) == transport::Sent::ok);
    wire::Rejection why;
    CHECK_FALSE(transport::open(recv_within(p.router), sealer.signer, mine, why).has_value());
    CHECK(why.code == errc::replayed);
  }

  TEST_CASE("a message forwarded twice with its stored signature gets a new seal each time") {
    Pair p;
    transport::Sealer sealer(key);
    transport::ReplayGuard mine;
    const auto out = wire::make_message(task_header(), Value::list({1, 2}));
    const Buffer stored = wire::signature_of(out.header_bytes, out.payload, sealer.signer);
    wire::Rejection why;
    for (int i = 0; i < 2; ++i) {
      REQUIRE(transport::forward(p.dealer, {}, stored, out.header_bytes, out.payload, sealer) == transport::Sent::ok);
      auto got = transport::open(recv_within(p.router), sealer.signer, mine, why);
      REQUIRE(got.has_value());
      CHECK(only(*got).signature == stored);
    }
  }

  TEST_CASE("ReplayGuard: numbers only grow per sender; senders apart; the least recently heard forgotten first") {
    transport::ReplayGuard g(2);
    CHECK(g.admit({1, 5}));
    CHECK_FALSE(g.admit({1, 5}));
    CHECK_FALSE(g.admit({1, 4}));
    CHECK(g.admit({1, 9}));   // gaps are fine: a message lost with a connection
    CHECK(g.admit({2, 1}));   // another sender counts on its own
    CHECK(g.admit({1, 10}));  // sender 1 heard last: sender 2 is the least recent
    CHECK(g.admit({3, 1}));   // a third sender: sender 2 is forgotten
    CHECK(g.senders() == 2);
    CHECK(g.admit({2, 1}));        // forgotten: starts anew (what the bound costs)
    CHECK_FALSE(g.admit({3, 1}));  // 3 was heard after 1, so 1 went, not 3
    CHECK(g.admit({1, 2}));
    g.add_own(7);
    CHECK_FALSE(g.admit({7, 1}));
  }

  TEST_CASE("recv_frames returns nothing when no message is waiting") {
    Pair p;
    CHECK_FALSE(transport::recv_frames(p.router).has_value());
    CHECK_FALSE(transport::recv_frames(p.dealer).has_value());
  }

  TEST_CASE("a forwarded message keeps its stored signature and verifies") {
    Pair p;
    transport::Sealer sealer(key);
    wire::Signer& signer = sealer.signer;
    const auto out = wire::make_message(task_header(), Value::list({1, 2}));
    const Buffer stored = wire::signature_of(out.header_bytes, out.payload, signer);
    CHECK(stored.size() == wire::Signer::signature_size);
    CHECK(transport::forward(p.dealer, {}, stored, out.header_bytes, out.payload, sealer) == transport::Sent::ok);
    wire::Rejection why;
    auto got = transport::open(recv_within(p.router), signer, guard, why);
    REQUIRE(got.has_value());
    CHECK(only(*got).signature == stored);
    CHECK(only(*got).body() == Value::list({1, 2}));

    // Forward the received packet back, untouched, with its own signature.
    CHECK(transport::forward(p.router, got->routing, only(*got).signature, only(*got).header_bytes, only(*got).payload,
                             sealer) == transport::Sent::ok);
    auto back = transport::open(recv_within(p.dealer), signer, guard, why);
    REQUIRE(back.has_value());
    CHECK(only(*back).header.function == "mul");
  }

  TEST_CASE("forwarding without a signature is refused") {
    Pair p;
    transport::Sealer sealer(key);
    const auto out = wire::make_message(task_header());
    CHECK_THROWS_AS(transport::forward(p.dealer, {}, Buffer(), out.header_bytes, out.payload, sealer), Error);
  }

  TEST_CASE("sending to an unknown routing id on a mandatory ROUTER is unroutable") {
    Pair p;
    transport::Sealer sealer(key);
    std::vector<zmq::message_t> routing;
    routing.emplace_back(std::string_view("nobody"));
    CHECK(transport::send(p.router, routing, wire::make_message(task_header()), sealer) == transport::Sent::unroutable);
  }

  TEST_CASE("large out-of-band frames arrive intact with the message") {
    Pair p;
    transport::Sealer sealer(key);
    wire::Signer& signer = sealer.signer;
    std::vector<double> xs(200'000);
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<double>(i) * 0.5;
    const Value body = Value::dict({{"a", Value(Array::from(xs))}, {"n", 3}});
    const auto out = wire::make_message(task_header(), body);
    REQUIRE(out.payload.size() == 2);
    REQUIRE(transport::send(p.dealer, {}, out, sealer) == transport::Sent::ok);
    wire::Rejection why;
    auto got = transport::open(recv_within(p.router), signer, guard, why);
    REQUIRE(got.has_value());
    REQUIRE(only(*got).payload.size() == 2);
    const Value back = only(*got).body();
    CHECK(back == body);
    // The decoded array views the received frame.
    CHECK(back["a"].as_array().data().data() == only(*got).payload[1].data());
  }

  TEST_CASE("to_frame shares large buffers and keeps their owner alive") {
    std::vector<char> bytes(transport::zero_copy_threshold, 'q');
    bytes.back() = 'z';
    const char* p = bytes.data();
    zmq::message_t frame;
    std::weak_ptr<const void> owner;
    {
      const Buffer b = Buffer::adopt(std::move(bytes));
      owner = b.owner();
      frame = transport::to_frame(b);
    }
    CHECK(frame.data() == p);      // zero-copy
    CHECK_FALSE(owner.expired());  // the frame holds the owner
    CHECK(frame.size() == transport::zero_copy_threshold);
    CHECK(static_cast<const char*>(frame.data())[transport::zero_copy_threshold - 1] == 'z');
    frame = zmq::message_t();
    CHECK(owner.expired());  // released with the frame
  }

  TEST_CASE("to_frame copies small buffers and buffers without an owner") {
    const Buffer small = Buffer::adopt(std::vector<char>(transport::zero_copy_threshold - 1, 's'));
    const zmq::message_t f = transport::to_frame(small);
    CHECK(f.data() != static_cast<const void*>(small.data()));
    CHECK(f.size() == small.size());
    CHECK(std::memcmp(f.data(), small.data(), small.size()) == 0);

    static const std::vector<char> unowned(transport::zero_copy_threshold * 2, 'u');
    const Buffer view = Buffer::view(nullptr, unowned.data(), unowned.size());
    const zmq::message_t g = transport::to_frame(view);
    CHECK(g.data() != static_cast<const void*>(unowned.data()));
    CHECK(g.size() == unowned.size());
  }

  TEST_CASE("to_buffer views a received frame without copying and outlives the message object") {
    zmq::message_t m(std::string(transport::zero_copy_threshold * 2, 'm'));
    const void* p = m.data();
    Buffer b = transport::to_buffer(std::move(m));
    CHECK(static_cast<const void*>(b.data()) == p);
    CHECK(b.size() == transport::zero_copy_threshold * 2);
    CHECK(b.str().back() == 'm');
    // Round trip: a buffer from a frame goes back out as a frame without a copy.
    const zmq::message_t again = transport::to_frame(b);
    CHECK(again.data() == p);
  }

  TEST_CASE("to_buffer copies a small frame out, so keeping it keeps no receive buffer") {
    // Received small messages are views of ZeroMQ's shared receive buffer (8 KiB and up); a kept
    // reply must hold only its own bytes.
    zmq::context_t ctx;
    zmq::socket_t a(ctx, zmq::socket_type::pair), b(ctx, zmq::socket_type::pair);
    a.bind("inproc://to-buffer-small");
    b.connect("inproc://to-buffer-small");
    a.send(zmq::buffer(std::string(60, 's')));
    zmq::message_t m;
    REQUIRE(b.recv(m));
    const void* p = m.data();
    Buffer kept = transport::to_buffer(std::move(m));
    CHECK(static_cast<const void*>(kept.data()) != p);
    CHECK(kept.size() == 60);
    CHECK(kept.str() == std::string(60, 's'));
  }

}  // TEST_SUITE
