// Batches (protocol/batch.hpp): what a Batcher makes of a queue, what split_batch makes of a
// batch, and what open() makes of a batch on a real socket.
#include <doctest/doctest.h>

#include <zmq.hpp>

#include <string>
#include <vector>

#include "crew/error.hpp"
#include "crew/value.hpp"
#include "protocol/batch.hpp"
#include "protocol/wire.hpp"
#include "transport/zmq_frames.hpp"

using namespace crew;

namespace {

wire::Outgoing task(int i, std::size_t payload_bytes = 0) {
  wire::Header h;
  h.kind = wire::MsgKind::apply_reply;
  h.msg_ids = {"task-" + std::to_string(i)};
  h.engine_id = i;
  return wire::make_message(h, payload_bytes ? Value(Buffer::copy(std::string(payload_bytes, 'x'))) : Value(i));
}

/// The messages a Batcher's output carries, in order, as their engine ids.
std::vector<int> ids_in(std::vector<wire::Frames> units) {
  std::vector<int> ids;
  for (auto& u : units)
    for (auto& p : wire::unpack(std::move(u.header_bytes), std::move(u.payload))) ids.push_back(p.header.engine_id);
  return ids;
}

}  // namespace

TEST_SUITE("unit.batch") {

  TEST_CASE("a run of small messages becomes one batch that splits back into them, in order") {
    wire::Batcher b;
    for (int i = 0; i < 10; ++i) {
      const auto m = task(i);
      b.add(m.header_bytes, m.payload);
    }
    auto units = b.take();
    CHECK(b.empty());
    REQUIRE(units.size() == 1);
    CHECK(wire::is_batch(units.front().header_bytes));
    auto members = wire::unpack(units.front().header_bytes, units.front().payload);
    REQUIRE(members.size() == 10);
    for (int i = 0; i < 10; ++i) {
      CHECK(members[static_cast<std::size_t>(i)].header.msg_ids.front() == "task-" + std::to_string(i));
      CHECK(members[static_cast<std::size_t>(i)].body().as_int() == i);
      CHECK(members[static_cast<std::size_t>(i)].signature.empty());
    }
  }

  TEST_CASE("members are aligned views of the one data frame") {
    wire::Batcher b;
    for (int i = 0; i < 4; ++i) b.add(task(i, 3 + static_cast<std::size_t>(i)).header_bytes, task(i, 3).payload);
    auto units = b.take();
    REQUIRE(units.size() == 1);
    const Buffer data = units.front().payload.front();
    for (const auto& m : wire::split_batch(units.front().header_bytes, units.front().payload)) {
      CHECK(m.header_bytes.owner() == data.owner());
      CHECK(reinterpret_cast<std::uintptr_t>(m.header_bytes.data()) % 8 == 0);
      for (const auto& f : m.payload) CHECK(reinterpret_cast<std::uintptr_t>(f.data()) % 8 == 0);
    }
  }

  TEST_CASE("a lone message is sent as itself, keeping its signature") {
    wire::Batcher b;
    const auto m = task(3);
    b.add(m.header_bytes, m.payload, Buffer::copy(std::string(32, 's')));
    auto units = b.take();
    REQUIRE(units.size() == 1);
    CHECK_FALSE(wire::is_batch(units.front().header_bytes));
    CHECK(units.front().signature.size() == 32);
    CHECK(units.front().header_bytes == m.header_bytes);
  }

  TEST_CASE("a large message travels alone, between the batches around it") {
    wire::Batcher b;
    for (int i : {0, 1, 2}) b.add(task(i).header_bytes, task(i).payload);
    const auto big = task(3, wire::batch_member_limit + 1);
    b.add(big.header_bytes, big.payload);
    for (int i : {4, 5}) b.add(task(i).header_bytes, task(i).payload);
    auto units = b.take();
    REQUIRE(units.size() == 3);
    CHECK(wire::is_batch(units[0].header_bytes));
    CHECK_FALSE(wire::is_batch(units[1].header_bytes));
    CHECK(wire::is_batch(units[2].header_bytes));
    CHECK(ids_in(std::move(units)) == std::vector<int>{0, 1, 2, 3, 4, 5});
  }

  TEST_CASE("batches stay within their member and byte limits") {
    wire::Batcher b;
    const int n = static_cast<int>(wire::batch_max_members) * 2 + 7;
    for (int i = 0; i < n; ++i) b.add(task(i).header_bytes, task(i).payload);
    auto units = b.take();
    CHECK(units.size() == 3);
    std::vector<int> want(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) want[static_cast<std::size_t>(i)] = i;
    CHECK(ids_in(units) == want);

    wire::Batcher by_bytes;  // 40 KiB each: about 1 MiB per batch
    for (int i = 0; i < 60; ++i) by_bytes.add(task(i, 40 * 1024).header_bytes, task(i, 40 * 1024).payload);
    auto big_units = by_bytes.take();
    CHECK(big_units.size() >= 2);
    for (const auto& u : big_units) {
      std::size_t bytes = 0;
      for (const auto& f : u.payload) bytes += f.size();
      CHECK(bytes <= wire::batch_max_bytes + wire::batch_member_limit);
    }
  }

  TEST_CASE("a batch header whose counts do not add up is malformed") {
    wire::Batcher b;
    for (int i = 0; i < 3; ++i) b.add(task(i).header_bytes, task(i).payload);
    auto units = b.take();
    REQUIRE(units.size() == 1);
    auto frames = units.front().payload;
    REQUIRE(frames.size() == 1);  // the members' frames travel in one data frame
    SUBCASE("no data frame") {
      frames.pop_back();
      CHECK_THROWS_AS(wire::split_batch(units.front().header_bytes, frames), ProtocolError);
    }
    SUBCASE("a frame too many") {
      frames.push_back(Buffer::copy("stray"));
      CHECK_THROWS_AS(wire::split_batch(units.front().header_bytes, frames), ProtocolError);
    }
    SUBCASE("data cut short") {
      const Buffer cut = frames.front().slice(0, frames.front().size() - 8);
      CHECK_THROWS_AS(wire::split_batch(units.front().header_bytes, {cut}), ProtocolError);
    }
    SUBCASE("data left over") {
      std::string more(frames.front().str());
      more += std::string(16, 'x');
      CHECK_THROWS_AS(wire::split_batch(units.front().header_bytes, {Buffer::copy(more)}), ProtocolError);
    }
    SUBCASE("a truncated batch header") {
      const Buffer head = units.front().header_bytes.slice(0, units.front().header_bytes.size() - 1);
      CHECK_THROWS_AS(wire::split_batch(head, frames), ProtocolError);
    }
    SUBCASE("a batch inside a batch") {
      wire::Batcher inner;
      for (int i = 0; i < 2; ++i) inner.add(task(i).header_bytes, task(i).payload);
      auto nested = inner.take();
      wire::Batcher outer;
      outer.add(nested.front().header_bytes, nested.front().payload);
      outer.add(task(9).header_bytes, task(9).payload);
      auto units2 = outer.take();
      REQUIRE(units2.size() == 1);
      CHECK_THROWS_AS(wire::split_batch(units2.front().header_bytes, units2.front().payload), ProtocolError);
    }
  }

  TEST_CASE("a batch sent on a socket opens as its members, under one signature") {
    zmq::context_t ctx;
    zmq::socket_t router(ctx, zmq::socket_type::router), dealer(ctx, zmq::socket_type::dealer);
    router.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::routing_id, "peer-7");
    router.bind("inproc://batch-test");
    dealer.connect("inproc://batch-test");
    transport::Sealer sealer("batch-key");
    wire::Signer& signer = sealer.signer;
    transport::ReplayGuard guard;
    wire::Batcher b;
    for (int i = 0; i < 5; ++i) b.add(task(i).header_bytes, task(i).payload);
    REQUIRE(transport::send_queued(dealer, {}, b, sealer) == transport::Sent::ok);

    zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    REQUIRE(zmq::poll(&item, 1, std::chrono::milliseconds(5000)) == 1);
    auto frames = transport::recv_frames(router);
    REQUIRE(frames.has_value());
    auto copy = std::vector<zmq::message_t>();
    for (auto& f : *frames) copy.emplace_back(f.data(), f.size());
    wire::Rejection why;
    auto got = transport::open(std::move(*frames), signer, guard, why);
    REQUIRE(got.has_value());
    CHECK(got->peer() == "peer-7");
    REQUIRE(got->messages.size() == 5);
    for (int i = 0; i < 5; ++i) CHECK(got->messages[static_cast<std::size_t>(i)].body().as_int() == i);

    // The signature covers every member: change one byte of the last one and all are rejected.
    auto& last = copy.back();
    static_cast<char*>(last.data())[0] ^= 1;
    wire::Rejection why2;
    CHECK_FALSE(transport::open(std::move(copy), signer, guard, why2).has_value());
    CHECK(why2.code == errc::bad_signature);
  }
}
