// Hostile messages at the controller's client endpoint: garbage, bogus credentials, signed
// nonsense, kinds only engines send, replays. After each case the counters must have moved
// exactly as expected, and a good client must still be served (libzmq's test style).
//
// Synchronisation without sleeps: a raw peer's `barrier()` sends a signed stats_request and waits
// for its reply; the controller handles one peer's messages in order, so that reply counts
// everything the peer sent before it.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "hostile_peer.hpp"
#include "protocol/stream.hpp"
#include "protocol/value_codec.hpp"

using namespace crew;
using namespace crew::testing;
using namespace crew::testing::hostile;

namespace {

std::string bytes_of(const Buffer& b) { return std::string(b.str()); }

int port_of(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

/// A plain TCP connection that writes `bytes` and closes.
void write_raw_tcp(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);  // the peer may hang up first
  ::close(fd);
}

/// All or nothing: neither engine kept a part of `name`.
void check_nobody_holds(const std::string& name) {
  for (int engine : {0, 1}) {
    CAPTURE(engine);
    errc code = errc::none;
    try {
      (void)env().rc[engine].pull(name).get(std::chrono::seconds(30));
    } catch (const Error& e) {
      code = e.code();
    }
    CHECK(code == errc::unknown_name);
  }
}

}  // namespace

// RawPeer is not movable (it owns a Signer), so tests construct peers in place.
#define CLIENT_PEER(var, name)                                                                                         \
  RawPeer var(env().ctx, env().endpoints.client_url, env().endpoints.key, name,                                        \
              env().endpoints.curve_at(env().endpoints.client_url))

TEST_SUITE("security.client_socket") {

  TEST_CASE("a single garbage frame is dropped as malformed and gets no answer") {
    CLIENT_PEER(peer, "garbage-frame");
    const Counters before = env().counters();
    peer.send_frames({"garbage"});
    peer.send_frames({""});
    const Counters after = peer.barrier();
    check_delta(before, after, {{"dropped_malformed", 2}});
    CHECK(peer.inbox.empty());
    check_still_served(env());
  }

  TEST_CASE("seeded random multipart messages are all dropped and counted") {
    CLIENT_PEER(peer, "random-multipart");
    std::mt19937_64 rng(20261123);
    constexpr int n = 500;
    std::int64_t malformed = 0, mis_signed = 0;
    const Counters before = env().counters();
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> frames(1 + rng() % 8);
      for (auto& f : frames) f = random_bytes(rng, rng() % 200);
      if (rng() % 3 == 0) frames[rng() % frames.size()] = delimiter;  // a third look like crew at first
      ++(predicts_malformed(frames) ? malformed : mis_signed);
      peer.send_frames(frames);
    }
    REQUIRE(malformed > 0);
    REQUIRE(mis_signed > 0);
    const Counters after = peer.barrier();
    check_delta(before, after, {{"dropped_bad_signature", mis_signed}, {"dropped_malformed", malformed}});
    CHECK(peer.inbox.empty());
    check_still_served(env());
  }

  TEST_CASE("the delimiter without a signature, or with a wrong protocol id, is dropped") {
    CLIENT_PEER(peer, "no-signature");
    wire::Header hello;
    hello.kind = wire::MsgKind::hello;
    const auto m = wire::make_message(hello);
    const Counters before = env().counters();
    peer.send_frames({delimiter});                                                    // nothing after it
    peer.send_frames({delimiter, bytes_of(m.header_bytes), bytes_of(m.payload[0])});  // header, body, no signature
    peer.send_frames({"crew/1", std::string(32, 'x'), bytes_of(m.header_bytes), bytes_of(m.payload[0])});
    peer.send_frames({delimiter, "", "", bytes_of(m.header_bytes), bytes_of(m.payload[0])});  // empty seal, signature
    const Counters after = peer.barrier();
    check_delta(before, after, {{"dropped_bad_signature", 1}, {"dropped_malformed", 3}});
    CHECK(peer.inbox.empty());
    check_still_served(env());
  }

  TEST_CASE("messages signed with another key, or with a signature moved onto other bytes, are mis-signed") {
    CLIENT_PEER(peer, "wrong-key");
    wire::Signer wrong(wire::key_from_hex(wire::new_key_hex()));
    wire::Header hello;
    hello.kind = wire::MsgKind::hello;
    hello.request_id = 7;
    wire::Header stats;
    stats.kind = wire::MsgKind::stats_request;
    stats.request_id = 8;
    const auto mh = wire::make_message(hello);
    const auto ms = wire::make_message(stats);
    const Buffer good_sig = wire::signature_of(mh.header_bytes, mh.payload, peer.signer());

    const Counters before = env().counters();
    peer.send_with_signature(wire::signature_of(mh.header_bytes, mh.payload, wrong), mh.header_bytes, mh.payload);
    peer.send_with_signature(wire::signature_of(ms.header_bytes, ms.payload, wrong), ms.header_bytes, ms.payload);
    // hello's genuine signature on the stats request
    peer.send_with_signature(good_sig, ms.header_bytes, ms.payload);
    // the same bytes, split differently between header and body
    std::string header = bytes_of(mh.header_bytes), body = bytes_of(mh.payload[0]);
    body.insert(body.begin(), header.back());
    header.pop_back();
    peer.send_with_signature(good_sig, Buffer::copy(header), {Buffer::copy(body)});
    const Counters after = peer.barrier();
    check_delta(before, after, {{"dropped_bad_signature", 4}});
    CHECK(peer.inbox.empty());  // no hello_reply, no stats_reply for the forgeries
    check_still_served(env());
  }

  TEST_CASE("a streamed scatter whose chunks stop coming fails on every target; the world serves on") {
    // 64 float64 rows over engines 0 and 1: engine 0's 256 bytes come, engine 1's never do. The
    // root gives up after CREW_STREAM_STALL_MS (1.5 s here) and releases the rank waiting for
    // its part, so nothing is left hanging in the world.
    CLIENT_PEER(peer, "stalled-stream");
    wire::Header h = collective_header({0, 1}, {"stalled-1", "stalled-2"}, wire::Collective::scatter);
    h.stream.bytes = 512;
    h.stream.dtype = static_cast<std::uint8_t>(dtype::float64);
    h.stream.shape = {64};
    peer.send_signed(h, Value::list({"stalled", Value()}));
    const wire::Outgoing first = wire::make_chunk("stalled-1", 512, 0, Buffer::copy(std::string(256, 'x')));
    peer.send_signed(first.header_bytes, first.payload);
    for (const char* id : {"stalled-1", "stalled-2"}) {
      CAPTURE(id);
      const auto replies = peer.replies_for(id, 1, std::chrono::seconds(30));
      REQUIRE(replies.size() == 1);
      CHECK(replies[0].header.error.code == errc::aborted);
      CHECK(replies[0].header.error.message.find("stopped coming") != std::string::npos);
    }
    check_nobody_holds("stalled");
    check_still_served(env());
  }

  TEST_CASE("a scatter, push or gather whose client memory cannot be reached fails on every target") {
    // Engines copy from and into the memory a request names (engine/peer_memory.hpp). An address
    // not mapped in that process fails the copy on both engines: the operation fails on every
    // target, saying so, and no engine keeps a part; the world serves on.
    CLIENT_PEER(peer, "bad-peer-memory");
    wire::StreamSpec nowhere;
    nowhere.bytes = 64 * sizeof(double);
    nowhere.dtype = static_cast<std::uint8_t>(dtype::float64);
    nowhere.shape = {64};
    nowhere.peer = {static_cast<std::uint64_t>(::getpid()), 4096};
    wire::Header scatter = collective_header({0, 1}, {"badcopy-s0", "badcopy-s1"}, wire::Collective::scatter);
    scatter.stream = nowhere;
    peer.send_signed(scatter, Value::list({"badcopy", Value()}));
    wire::Header push = collective_header({0, 1}, {"badcopy-p0", "badcopy-p1"}, wire::Collective::push);
    push.stream = nowhere;
    peer.send_signed(push, Value::list({Value::dict({{"badcopy", Value()}})}));
    for (const char* id : {"badcopy-s0", "badcopy-s1", "badcopy-p0", "badcopy-p1"}) {
      CAPTURE(id);
      const auto replies = peer.replies_for(id, 1, std::chrono::seconds(30));
      REQUIRE(replies.size() == 1);
      CHECK(replies[0].header.error.code == errc::aborted);
      CHECK(replies[0].header.error.message.find("copying the array from the client failed on engines 0, 1") !=
            std::string::npos);
    }
    check_nobody_holds("badcopy");

    std::vector<double> rows(64);
    std::iota(rows.begin(), rows.end(), 0.0);
    env().rc.view().scatter("badcopy_g", Value(Array::from(std::move(rows)))).get(std::chrono::seconds(30));
    // Engine 1's half (one target: its answer names one msg id), written nowhere.
    wire::Header gather = collective_header({1}, {"badcopy-g1"}, wire::Collective::gather);
    gather.stream = nowhere;
    gather.stream.bytes = 32 * sizeof(double);
    gather.stream.shape = {32};
    peer.send_signed(gather, Value::list({"badcopy_g", Value::list({32})}));
    const auto replies = peer.replies_for("badcopy-g1", 1, std::chrono::seconds(30));
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].header.error.code == errc::aborted);
    CHECK(replies[0].header.error.message.find("copying the array into the client failed on engine 1") !=
          std::string::npos);
    check_still_served(env());
  }

  TEST_CASE("a collective that cannot move its data the way its request says is refused before any engine sees it") {
    // Only scatter streams its data after the request; save_h5 and load_h5 copy nothing with the
    // client (wire::allows). The controller answers each target at once, naming the op and the
    // way, and no engine is asked (the world serves on).
    CLIENT_PEER(peer, "wrong-transfer");
    wire::Header push = collective_header({0, 1}, {"wrongway-p0", "wrongway-p1"}, wire::Collective::push);
    push.stream.bytes = 512;
    push.stream.dtype = static_cast<std::uint8_t>(dtype::float64);
    push.stream.shape = {64};
    peer.send_signed(push, Value::list({Value::dict({{"wrongway", Value()}})}));
    wire::Header load = collective_header({0, 1}, {"wrongway-l0", "wrongway-l1"}, wire::Collective::load_h5);
    load.stream.bytes = 512;
    load.stream.peer = {static_cast<std::uint64_t>(::getpid()), 4096};
    peer.send_signed(load, Value::list({"f.h5", "/x", "wrongway"}));
    const std::map<std::string, std::string> expected{
        {"wrongway-p0", "crew.push cannot move its data streamed (scatter can)"},
        {"wrongway-p1", "crew.push cannot move its data streamed (scatter can)"},
        {"wrongway-l0",
         "crew.load_h5 cannot move its data copied with the client (scatter, push, gather and reduce can)"},
        {"wrongway-l1",
         "crew.load_h5 cannot move its data copied with the client (scatter, push, gather and reduce can)"}};
    for (const auto& [id, message] : expected) {
      CAPTURE(id);
      const auto replies = peer.replies_for(id, 1, std::chrono::seconds(30));
      REQUIRE(replies.size() == 1);
      CHECK(replies[0].header.error.code == errc::bad_option);
      CHECK(replies[0].header.error.message.find(message) != std::string::npos);
      CHECK(replies[0].header.error.message.find("nothing was sent to any engine") != std::string::npos);
    }
    check_nobody_holds("wrongway");
    check_still_served(env());
  }

  TEST_CASE("two streamed scatters whose chunks interleave both land whole") {
    // Both requests first, then their chunks taking turns: rank 0 of the world runs the first
    // scatter while the second's chunks come, and must keep those for the second's turn.
    CLIENT_PEER(peer, "interleaved-streams");
    const std::vector<std::string> names{"inter_a", "inter_b"};
    std::vector<std::vector<double>> data(2);
    for (std::size_t k = 0; k < 2; ++k) {
      data[k].resize(64);
      for (std::size_t i = 0; i < 64; ++i) data[k][i] = static_cast<double>(100 * k + i);
      wire::Header h = collective_header({0, 1}, {names[k] + "-0", names[k] + "-1"}, wire::Collective::scatter);
      h.stream.bytes = 64 * sizeof(double);
      h.stream.dtype = static_cast<std::uint8_t>(dtype::float64);
      h.stream.shape = {64};
      peer.send_signed(h, Value::list({names[k], Value()}));
    }
    constexpr std::size_t chunk = 128;  // 4 chunks each
    for (std::size_t at = 0; at < 64 * sizeof(double); at += chunk)
      for (std::size_t k = 0; k < 2; ++k) {
        const auto* bytes = reinterpret_cast<const std::byte*>(data[k].data()) + at;
        const wire::Outgoing c = wire::make_chunk(names[k] + "-0", 64 * sizeof(double), at, Buffer::copy(bytes, chunk));
        peer.send_signed(c.header_bytes, c.payload);
      }
    for (std::size_t k = 0; k < 2; ++k)
      for (const char* target : {"-0", "-1"}) {
        const std::string id = names[k] + target;
        CAPTURE(id);
        const auto replies = peer.replies_for(id, 1, std::chrono::seconds(30));
        REQUIRE(replies.size() == 1);
        CHECK_FALSE(replies[0].header.error.failed());
      }
    for (std::size_t k = 0; k < 2; ++k) {
      const Value back = env().rc.view().gather(names[k]).get(std::chrono::seconds(30));
      CHECK(back == Value(Array::from(std::vector<double>(data[k]))));
    }
    check_still_served(env());
  }

  TEST_CASE("chunks of a stream nobody started, or out of order, are dropped and counted") {
    CLIENT_PEER(peer, "stray-chunks");
    const Counters before = env().counters();
    const wire::Outgoing stray = wire::make_chunk("no-such-stream", 64, 0, Buffer::copy(std::string(64, 'y')));
    peer.send_signed(stray.header_bytes, stray.payload);
    const Counters after = peer.barrier();
    check_delta(before, after, {{"dropped_unexpected", 1}});
    check_still_served(env());
  }

  TEST_CASE("a validly signed garbage header is dropped as malformed") {
    CLIENT_PEER(peer, "garbage-header");
    std::mt19937_64 rng(42);
    const Buffer body = body_frame(Value());
    const Buffer genuine = wire::encode_header(apply_header({0}, {"garbage-header-1"}, "echo"));
    const std::string g = bytes_of(genuine);
    std::string huge_prefix(1, static_cast<char>(wire::MsgKind::direct_task));
    huge_prefix += std::string(8, '\0');                              // request_id
    for (std::uint64_t claimed = 1ull << 40; claimed; claimed >>= 7)  // targets: a trillion of them (a varint)
      huge_prefix += static_cast<char>((claimed & 0x7f) | (claimed >= 0x80 ? 0x80 : 0));

    const std::vector<std::string> headers{
        "",                                              // empty
        std::string(1, '\xff') + random_bytes(rng, 40),  // unknown kind
        std::string(1, '\0') + random_bytes(rng, 40),    // kind 0
        std::string(1, static_cast<char>(wire::MsgKind::direct_task)) + random_bytes(rng, 40),
        g.substr(0, g.size() - 3),  // truncated
        g + "x",                    // a stray byte
        huge_prefix,                // size prefix past the end
    };
    const Counters before = env().counters();
    for (const auto& h : headers) peer.send_signed(Buffer::copy(h), {body});
    const Counters after = peer.barrier();
    check_delta(before, after, {{"dropped_malformed", static_cast<std::int64_t>(headers.size())}});
    CHECK(peer.inbox.empty());
    check_still_served(env());
  }

  TEST_CASE("seeded mutations of a signed hello header are answered or dropped, never anything else") {
    CLIENT_PEER(peer, "mutated-hello");
    std::mt19937_64 rng(7);
    wire::Header hello;
    hello.kind = wire::MsgKind::hello;
    const Buffer body = body_frame(Value());
    constexpr int n = 300;
    const Counters before = env().counters();
    for (int i = 0; i < n; ++i) {
      hello.request_id = static_cast<std::uint64_t>(i + 1);
      std::string h = bytes_of(wire::encode_header(hello));
      for (int k = 0, flips = 1 + static_cast<int>(rng() % 3); k < flips; ++k)
        h[1 + rng() % (h.size() - 1)] = static_cast<char>(rng() & 0xff);  // never the kind byte
      peer.send_signed(Buffer::copy(h), {body});
    }
    const Counters after = peer.barrier();
    const auto answered = std::count_if(peer.inbox.begin(), peer.inbox.end(), [](const wire::Packet& p) {
      return p.header.kind == wire::MsgKind::hello_reply;
    });
    CHECK(static_cast<std::size_t>(answered) == peer.inbox.size());
    CHECK(answered + (after.since(before, "dropped_malformed")) == n);
    check_delta(before, after, {{"dropped_malformed", n - answered}});
    check_still_served(env());
  }

  TEST_CASE("a direct_task with a garbage body fails on the engines, which keep serving") {
    CLIENT_PEER(peer, "garbage-body");
    std::mt19937_64 rng(99);
    // A bytes value big enough to travel out of band, sent without its out-of-band frame.
    wire::Payload with_oob;
    wire::encode_value(Value::list({Value(Buffer::copy(std::string(64 * 1024, 'b')))}), with_oob);
    REQUIRE(with_oob.size() == 2);
    const std::vector<Buffer> bodies{Buffer::copy(random_bytes(rng, 64)), Buffer::copy(""), body_frame(Value(5)),
                                     with_oob.front()};
    const Counters before = env().counters();
    std::vector<std::pair<std::string, int>> sent;
    for (std::size_t b = 0; b < bodies.size(); ++b) {
      std::vector<std::string> ids;
      for (int t : {0, 1}) {
        ids.push_back("garbage-body-" + std::to_string(b) + "-" + std::to_string(t));
        sent.emplace_back(ids.back(), t);
      }
      peer.send_signed(wire::encode_header(apply_header({0, 1}, ids, "echo")), {bodies[b]});
    }
    for (const auto& [msg_id, engine] : sent) {
      CAPTURE(msg_id);
      const auto replies = peer.replies_for(msg_id, 1, 10s);
      REQUIRE(replies.size() == 1);
      CHECK(replies[0].header.engine_id == engine);
      CHECK(replies[0].header.error.code == errc::malformed);
    }
    const Counters after = peer.barrier();
    check_delta(before, after, {{"tasks_submitted", static_cast<std::int64_t>(sent.size())}});
    CHECK(after.since(before, "tasks_failed") == static_cast<std::int64_t>(sent.size()));
    check_still_served(env());
  }

  TEST_CASE("a request above --max-message-size fails every task in it with a clear error, and only those") {
    CLIENT_PEER(peer, "oversized");
    wire::Payload frames;
    wire::encode_value(Value::list({Value(Buffer::adopt(std::vector<char>(9 << 20, 'o')))}), frames);
    const Counters before = env().counters();
    peer.send_signed(wire::encode_header(apply_header({0, 1}, {"big-0", "big-1"}, "echo")), frames);
    for (const char* id : {"big-0", "big-1"}) {
      const auto replies = peer.replies_for(id, 1, 10s);
      REQUIRE(replies.size() == 1);
      CHECK(replies[0].header.error.code == errc::oversized);
      CHECK(replies[0].header.error.message.find("limit of 8 MiB") != std::string::npos);
      CHECK(replies[0].header.error.message.find("--max-message-size") != std::string::npos);
    }
    const Counters after = peer.barrier();
    check_delta(before, after, {{"tasks_submitted", 2}, {"dropped_oversized", 1}});  // one request, dropped once
    CHECK(after.since(before, "tasks_failed") == 2);
    // The client library refuses it before sending, with the same advice.
    try {
      (void)env().rc.view().apply("echo", Buffer::adopt(std::vector<char>(9 << 20, 'o')));
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.code() == errc::oversized);
      CHECK(std::string(e.what()).find("--max-message-size") != std::string::npos);
    }
    check_still_served(env());
  }

  TEST_CASE("a direct_task whose targets and msg_ids counts differ is refused") {
    CLIENT_PEER(peer, "count-mismatch");
    const Value args = Value::list({1});
    const Counters before = env().counters();
    peer.send_signed(apply_header({0, 1}, {"mismatch-1"}, "echo"), args);  // the header check refuses it
    peer.send_signed(apply_header({0}, {}, "echo"), args);                 // no msg_ids at all
    peer.send_signed(apply_header({}, {}, "echo"), args);                  // no targets at all
    const Counters after = peer.barrier();
    check_delta(before, after, {{"dropped_malformed", 3}});
    REQUIRE(peer.inbox.size() == 2);
    for (const auto& p : peer.inbox) {
      CHECK(p.header.kind == wire::MsgKind::request_error);
      CHECK(p.header.error.code == errc::malformed);
    }
    check_still_served(env());
  }

  TEST_CASE("kinds that only engines or the controller send are refused on the client socket") {
    CLIENT_PEER(peer, "wrong-kinds");
    std::vector<std::pair<wire::Header, Value>> messages;
    auto add = [&](wire::MsgKind kind, Value body = Value()) {
      wire::Header h;
      h.kind = kind;
      h.request_id = messages.size() + 1;
      messages.emplace_back(h, std::move(body));
    };
    add(wire::MsgKind::register_request);  // (sent below with a typed body)
    add(wire::MsgKind::heartbeat);
    add(wire::MsgKind::goodbye);
    add(wire::MsgKind::shutdown_world);  // must not stop anything
    {
      wire::Header task = apply_header({0}, {"never-run-1"}, "echo");
      task.kind = wire::MsgKind::balanced_task;
      messages.emplace_back(task, Value::list({1}));
      wire::Header part = collective_header({0}, {"never-run-3"}, wire::Collective::gather);
      part.kind = wire::MsgKind::collective_task;
      messages.emplace_back(part, Value::list({"x"}));
      wire::Header reply;
      reply.kind = wire::MsgKind::apply_reply;
      reply.msg_ids = {"never-run-2"};
      messages.emplace_back(reply, Value(666));
    }
    const Counters before = env().counters();
    for (const auto& [h, body] : messages)
      if (h.kind == wire::MsgKind::register_request)
        peer.send_signed(wire::make_typed_message(h, registration({"nowhere"})));
      else
        peer.send_signed(h, body);
    const Counters after = peer.barrier();
    check_delta(before, after, {{"dropped_unexpected", static_cast<std::int64_t>(messages.size())}});
    CHECK(after["worlds"] == before["worlds"]);
    REQUIRE(peer.inbox.size() == messages.size());
    for (const auto& p : peer.inbox) {
      CHECK(p.header.kind == wire::MsgKind::request_error);
      CHECK(p.header.error.code == errc::unexpected);
    }
    check_still_served(env());
  }

  TEST_CASE(
      "an engines_request with a body that does not decode or does not make sense is a handler error that says why") {
    CLIENT_PEER(peer, "bad-engines-request");
    std::mt19937_64 rng(5);
    wire::Header h;
    h.kind = wire::MsgKind::engines_request;
    h.request_id = 1;
    const Counters before = env().counters();
    peer.send_signed(wire::encode_header(h), {Buffer::copy(random_bytes(rng, 32))});
    h.request_id = 2;
    peer.send_signed(h, Value::dict({{"wait_for", "two"}, {"wait_ms", 10}}));  // a dict, as crew/2 sent it
    h.request_id = 3;
    peer.send_signed(wire::make_typed_message(h, wire::EnginesRequest{-1, 10}));
    h.request_id = 4;
    peer.send_signed(wire::make_typed_message(h, wire::EnginesRequest{1, -10}));
    const Counters after = peer.barrier();
    check_delta(before, after, {{"handler_errors", 4}});
    REQUIRE(peer.inbox.size() == 4);
    const char* says[] = {"engines_request body", "engines_request body", "field wait_for is -1",
                          "field wait_ms is -10"};
    for (std::size_t i = 0; i < 4; ++i) {
      const auto& p = peer.inbox[i];
      CHECK(p.header.kind == wire::MsgKind::request_error);
      CHECK(p.header.request_id == i + 1);
      CHECK(p.header.error.code == errc::malformed);
      CHECK_MESSAGE(p.header.error.message.find(says[i]) != std::string::npos, p.header.error.message);
    }
    check_still_served(env());
  }

  TEST_CASE("a captured message sent again as it was is refused as replayed, at either socket and from any peer") {
    CLIENT_PEER(owner, "capture-owner");
    CLIENT_PEER(other, "capture-other");
    RawPeer at_engines(env().ctx, env().endpoints.engine_url, env().endpoints.key, "capture-engines",
                       env().endpoints.curve_at(env().endpoints.engine_url));
    const Counters before = env().counters();
    owner.send_signed(apply_header({0}, {"captured-1"}, "echo"), Value::list({7}));
    const std::vector<std::string> captured = owner.last_sent;  // what a listener on the network saw
    const auto first = owner.replies_for("captured-1", 1, 10s);
    REQUIRE(first.size() == 1);
    CHECK(first[0].body() == Value(7));
    const std::vector<std::string> answer = owner.last_received;  // the controller's own message

    owner.send_frames(captured);       // the same connection
    other.send_frames(captured);       // another connection
    at_engines.send_frames(captured);  // the other socket
    owner.send_frames(answer);         // the controller's message, sent back to it
    other.send_frames(answer);
    const Counters after =
        env().wait_counters([&](const Counters& c) { return c.since(before, "dropped_replayed") >= 5; });
    (void)owner.barrier();
    (void)other.barrier();
    check_delta(before, after, {{"dropped_replayed", 5}, {"tasks_submitted", 1}});
    CHECK(after.since(before, "tasks_completed") == 1);
    CHECK(owner.replies_for("captured-1", 1, 0ms).empty());  // no second run, no refusal either: unseen
    CHECK(other.replies_for("captured-1", 1, 0ms).empty());
    check_still_served(env());
  }

  TEST_CASE("a direct_task sent again by a holder of the key does not overwrite the first result") {
    CLIENT_PEER(owner, "replay-owner");
    CLIENT_PEER(thief, "replay-thief");
    const auto m = wire::make_message(apply_header({0}, {"replay-1"}, "echo"), Value::list({42}));
    const Buffer signature = wire::signature_of(m.header_bytes, m.payload, owner.signer());
    const Counters before = env().counters();
    owner.send_with_signature(signature, m.header_bytes, m.payload);
    (void)owner.barrier();                                            // the original is dispatched
    thief.send_with_signature(signature, m.header_bytes, m.payload);  // replayed by another peer
    owner.send_with_signature(signature, m.header_bytes, m.payload);  // and by the owner itself

    const auto mine = owner.replies_for("replay-1", 2, 10s);
    REQUIRE(mine.size() == 2);
    const auto ok =
        std::count_if(mine.begin(), mine.end(), [](const wire::Packet& p) { return !p.header.error.failed(); });
    CHECK(ok == 1);
    for (const auto& p : mine) {
      if (p.header.error.failed()) continue;
      CHECK(p.header.engine_id == 0);
      CHECK(p.body() == Value(42));
    }
    const auto theirs = thief.replies_for("replay-1", 1, 10s);
    REQUIRE(theirs.size() == 1);
    CHECK(theirs[0].header.error.failed());

    // After the result is in, a replay is refused again and the owner hears nothing more.
    thief.send_with_signature(signature, m.header_bytes, m.payload);
    const auto late = thief.replies_for("replay-1", 1, 10s);
    REQUIRE(late.size() == 1);
    CHECK(late[0].header.error.failed());
    const Counters after = owner.barrier();
    CHECK(owner.replies_for("replay-1", 1, 0ms).empty());
    // One task ran; the refused copies are not tasks, so they are neither submitted nor failed.
    check_delta(before, after, {{"tasks_submitted", 1}});
    CHECK(after.since(before, "tasks_completed") == 1);
    CHECK(after.since(before, "tasks_failed") == 0);
    check_still_served(env());
  }

  TEST_CASE("a direct_task that names one engine twice answers each msg_id, and a view cannot") {
    CLIENT_PEER(peer, "twice");
    peer.send_signed(apply_header({0, 0}, {"twice-1", "twice-2"}, "echo"), Value::list({7}));
    peer.send_signed(apply_header({1, 1}, {"twice-3", "twice-4"}, "echo"), Value::list({7}));
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (const std::string id : {"twice-1", "twice-2", "twice-3", "twice-4"}) {
      CAPTURE(id);
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      const auto replies = peer.replies_for(id, 1, std::max(left, 0ms));
      CHECK(replies.size() == 1);  // an answer (a result, or a refusal of the repeated target)
      for (const auto& p : replies)
        if (!p.header.error.failed()) CHECK(p.body() == Value(7));
    }
    // Through the public API such a view is refused when it is made, before anything is sent.
    const Client rc = env().cluster.client();
    try {
      (void)rc[{0, 0}];
      FAIL("a view naming engine 0 twice was accepted");
    } catch (const InputError& e) {
      CHECK(e.code() == errc::bad_targets);
    }
    check_still_served(env());
  }

  TEST_CASE("bytes that are not ZMTP are refused by the transport or dropped, and nothing else moves") {
    // libzmq still speaks ZMTP 1.0 to a peer whose first byte is not 0xff, so some of these bytes
    // reach the controller as (garbage) messages: those must be dropped and counted, nothing more.
#if defined(__SANITIZE_ADDRESS__)
    // With CURVE, the greeting below is accepted and libzmq reads the junk after it as a command
    // whose length asks malloc for exabytes: glibc says no and libzmq ends the connection (the
    // release build runs this), but ASan's allocator aborts the controller instead.
    if (env().endpoints.client_curve.on()) {
      MESSAGE("skipped under AddressSanitizer with CURVE: its allocator aborts where glibc returns null");
      return;
    }
#endif
    std::mt19937_64 rng(11);
    // A ZMTP 3.0 greeting that asks for CURVE from a NULL-security server, then junk.
    std::string greeting("\xff\0\0\0\0\0\0\0\x01\x7f\x03\x00", 12);
    std::string mechanism("CURVE");
    mechanism.resize(20, '\0');
    greeting += mechanism + std::string(1, '\0') + std::string(31, '\0');
    const Counters before = env().counters();
    for (const auto& url : {env().endpoints.client_url, env().endpoints.engine_url}) {
      write_raw_tcp(port_of(url), random_bytes(rng, 4096));
      write_raw_tcp(port_of(url), greeting + random_bytes(rng, 1024));
      write_raw_tcp(port_of(url), "GET / HTTP/1.1\r\nHost: crew\r\n\r\n");
    }
    CLIENT_PEER(peer, "after-tcp-junk");
    const Counters after = peer.barrier();
    CHECK(after["dropped_unexpected"] == before["dropped_unexpected"]);
    CHECK(after["handler_errors"] == before["handler_errors"]);
    CHECK(after["tasks_submitted"] == before["tasks_submitted"]);
    CHECK(after["worlds"] == before["worlds"]);
    check_still_served(env());
  }

}  // TEST_SUITE
