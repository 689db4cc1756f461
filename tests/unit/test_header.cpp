// Message headers (protocol/header.hpp): every field round trips; unknown kinds, truncation,
// stray bytes and inconsistent target lists are rejected as malformed.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "crew/error.hpp"
#include "protocol/header.hpp"

using namespace crew;
using wire::Header;
using wire::MsgKind;

namespace {

Header full_header() {
  Header h;
  h.kind = MsgKind::balanced_task;
  h.request_id = 0x0123456789abcdefULL;
  h.targets = {0, 7, -1, INT32_MAX};
  h.msg_ids = {"m0", "m7", "", std::string(300, 'x')};
  h.function = "stats.mean";
  h.engine_id = 42;
  h.submitted_us = -5;
  h.started_us = INT64_MAX;
  h.completed_us = INT64_MIN;
  h.error = {errc::bad_arguments, "crew.remote.bad_arguments", "argument 1 of f(): no", "f(double) -> double"};
  h.out = "printed\nlines";
  h.err = std::string("with \0 nul", 10);
  return h;
}

std::vector<std::byte> bytes_of(const Header& h) {
  const Buffer b = wire::encode_header(h);
  return {b.data(), b.data() + b.size()};
}

template <class F>
std::string malformed_message(F&& f) {
  try {
    f();
  } catch (const ProtocolError& e) {
    CHECK(e.code() == errc::malformed);
    return e.message();
  } catch (const std::exception& e) {
    FAIL_CHECK("expected ProtocolError, got: " << std::string(e.what()));
    return {};
  }
  FAIL_CHECK("expected ProtocolError");
  return {};
}

const std::vector<MsgKind> all_kinds{
    MsgKind::hello,
    MsgKind::hello_reply,
    MsgKind::engines_request,
    MsgKind::engines_reply,
    MsgKind::direct_task,
    MsgKind::apply_reply,
    MsgKind::stats_request,
    MsgKind::stats_reply,
    MsgKind::shutdown_request,
    MsgKind::shutdown_reply,
    MsgKind::request_error,
    MsgKind::register_request,
    MsgKind::register_reply,
    MsgKind::balanced_task,
    MsgKind::collective_request,
    MsgKind::collective_task,
    MsgKind::heartbeat,
    MsgKind::shutdown_world,
    MsgKind::goodbye,
    MsgKind::balanced_request,
    MsgKind::queue_request,
    MsgKind::queue_reply,
    MsgKind::result_request,
    MsgKind::result_reply,
    MsgKind::abort_request,
    MsgKind::abort_reply,
    MsgKind::stream_chunk,
    MsgKind::withdraw_request,
    MsgKind::withdraw_reply,
    MsgKind::history_request,
    MsgKind::history_reply,
    MsgKind::purge_request,
    MsgKind::purge_reply,
    MsgKind::reattach_request,
    MsgKind::reattach_reply,
    MsgKind::reply_ack,
    MsgKind::restored,
    MsgKind::resume_request,
    MsgKind::resume_reply,
    MsgKind::output_subscribe,
    MsgKind::output_subscribe_reply,
    MsgKind::output,
    MsgKind::output_ack,
    MsgKind::engine_status,
    MsgKind::output_wanted,
};

}  // namespace

TEST_SUITE("unit.header" * doctest::timeout(30)) {

  TEST_CASE("every field survives a round trip") {
    const Header h = full_header();
    const Buffer bytes = wire::encode_header(h);
    const Header back = wire::decode_header(bytes.bytes());
    CHECK(back.kind == h.kind);
    CHECK(back.request_id == h.request_id);
    CHECK(back.targets == h.targets);
    CHECK(back.msg_ids == h.msg_ids);
    CHECK(back.function == h.function);
    CHECK(back.engine_id == h.engine_id);
    CHECK(back.submitted_us == h.submitted_us);
    CHECK(back.started_us == h.started_us);
    CHECK(back.completed_us == h.completed_us);
    CHECK(back.error.code == h.error.code);
    CHECK(back.error.type == h.error.type);
    CHECK(back.error.message == h.error.message);
    CHECK(back.error.context == h.error.context);
    CHECK(back.error.failed());
    CHECK(back.out == h.out);
    CHECK(back.err == h.err);
  }

  TEST_CASE("a balanced request carries its dependencies, timeout, retries and requirements") {
    Header h;
    h.kind = MsgKind::balanced_request;
    h.msg_ids = {"t1"};
    h.balance.after = {{"a", "b"}, false, true, true};
    h.balance.follow = {{"c"}, true, false, true};
    h.balance.timeout_ms = 2500;
    h.balance.retries = 3;
    h.balance.requires_json = R"({"gpu":true})";
    const Header back = wire::decode_header(wire::encode_header(h).bytes());
    CHECK(back.balance.after.ids == std::vector<std::string>{"a", "b"});
    CHECK_FALSE(back.balance.after.all);
    CHECK(back.balance.after.failure);
    CHECK(back.balance.follow.ids == std::vector<std::string>{"c"});
    CHECK_FALSE(back.balance.follow.success);
    CHECK(back.balance.timeout_ms == 2500);
    CHECK(back.balance.retries == 3);
    CHECK(back.balance.requires_json == h.balance.requires_json);
  }

  TEST_CASE("other kinds do not carry the balance fields on the wire") {
    Header h;
    h.kind = MsgKind::direct_task;
    h.balance.retries = 9;  // ignored: not a balanced request
    const Buffer with = wire::encode_header(h);
    h.balance = {};
    CHECK(with == wire::encode_header(h));
    CHECK(wire::decode_header(with.bytes()).balance.retries == 0);
  }

  TEST_CASE("a collective's op travels in its header, and only there") {
    for (const MsgKind k : {MsgKind::collective_request, MsgKind::collective_task}) {
      CAPTURE(wire::kind_name(k));
      Header h;
      h.kind = k;
      h.targets = {3};
      h.msg_ids = {"c3"};
      h.function = "any name";  // the op is the field, not the name
      for (const auto op : {wire::Collective::scatter, wire::Collective::gather, wire::Collective::push,
                            wire::Collective::reduce, wire::Collective::save_h5, wire::Collective::load_h5}) {
        h.collective = op;
        CHECK(wire::decode_header(wire::encode_header(h).bytes()).collective == op);
      }
    }
    Header direct;
    direct.kind = MsgKind::direct_task;
    direct.function = "crew.scatter";
    direct.collective = wire::Collective::scatter;  // not on the wire for a direct task
    const Header back = wire::decode_header(wire::encode_header(direct).bytes());
    CHECK(back.collective == wire::Collective::none);
    CHECK_FALSE(wire::is_task(MsgKind::collective_request));
    CHECK(wire::is_task(MsgKind::collective_task));
  }

  TEST_CASE("a collective message without a known op is rejected, naming what it had") {
    Header h;
    h.kind = MsgKind::collective_task;
    h.targets = {0};
    h.msg_ids = {"c0"};
    std::string why = malformed_message([&] { (void)wire::decode_header(bytes_of(h)); });
    CHECK(why.find("collective_task names no known collective op (0)") != std::string::npos);
    h.collective = static_cast<wire::Collective>(99);
    why = malformed_message([&] { (void)wire::decode_header(bytes_of(h)); });
    CHECK(why.find("(99)") != std::string::npos);
  }

  TEST_CASE("a default header round trips and has no error") {
    const Header back = wire::decode_header(wire::encode_header(Header{}).bytes());
    CHECK(back.kind == MsgKind::hello);
    CHECK(back.engine_id == -1);
    CHECK(back.targets.empty());
    CHECK_FALSE(back.error.failed());
  }

  TEST_CASE("every message kind round trips and has a name") {
    for (MsgKind k : all_kinds) {
      CAPTURE(static_cast<int>(k));
      Header h;
      h.kind = k;
      if (wire::names_collective(k)) h.collective = wire::Collective::reduce;
      CHECK(wire::decode_header(wire::encode_header(h).bytes()).kind == k);
      CHECK(wire::kind_valid(static_cast<std::uint8_t>(k)));
      CHECK(wire::kind_name(k) != "invalid");
    }
    CHECK(wire::kind_name(MsgKind::apply_reply) == "apply_reply");
    CHECK(wire::kind_name(static_cast<MsgKind>(0)) == "invalid");
  }

  TEST_CASE("a stream spec round trips, and costs one byte when nothing streams") {
    Header h;
    h.kind = MsgKind::stream_chunk;
    h.msg_ids = {"4-17"};
    const std::size_t plain = wire::encode_header(h).size();
    h.stream.bytes = std::uint64_t{3} << 32;
    h.stream.offset = 123456789;
    h.stream.dtype = 10;
    h.stream.shape = {std::uint64_t{3} << 29, 1};
    const Header back = wire::decode_header(wire::encode_header(h).bytes());
    CHECK(back.stream.active());
    CHECK(back.stream.bytes == h.stream.bytes);
    CHECK(back.stream.offset == h.stream.offset);
    CHECK(back.stream.dtype == 10);
    CHECK(back.stream.shape == h.stream.shape);
    h.stream = {};
    CHECK(wire::encode_header(h).size() == plain);
    CHECK_FALSE(wire::decode_header(wire::encode_header(h).bytes()).stream.active());
  }

  TEST_CASE("an unknown kind byte is rejected") {
    std::vector<std::byte> bytes = bytes_of(Header{});
    // (just past the last client kind, just before the first bridge kind, past the last bridge kind, ...)
    for (int raw : {0, static_cast<int>(MsgKind::engine_status) + 1, 63, static_cast<int>(MsgKind::output_wanted) + 1,
                    120, 200, 255}) {
      CAPTURE(raw);
      CHECK_FALSE(wire::kind_valid(static_cast<std::uint8_t>(raw)));
      bytes[0] = static_cast<std::byte>(raw);
      const std::string why = malformed_message([&] { (void)wire::decode_header(bytes); });
      CHECK(why.find("kind") != std::string::npos);
    }
  }

  TEST_CASE("a truncated header is rejected at every length") {
    const std::vector<std::byte> bytes = bytes_of(full_header());
    for (std::size_t len = 0; len < bytes.size(); ++len) {
      CAPTURE(len);
      malformed_message([&] { (void)wire::decode_header(std::span(bytes).first(len)); });
    }
  }

  TEST_CASE("stray bytes after the header are rejected") {
    std::vector<std::byte> bytes = bytes_of(full_header());
    bytes.push_back(std::byte{0});
    const std::string why = malformed_message([&] { (void)wire::decode_header(bytes); });
    CHECK(why.find("stray") != std::string::npos);
  }

  TEST_CASE("a targets and msg_ids count mismatch is rejected") {
    Header h;
    h.kind = MsgKind::collective_task;
    h.collective = wire::Collective::gather;
    h.targets = {1, 2};
    h.msg_ids = {"only-one"};
    const std::string why = malformed_message([&] { (void)wire::decode_header(bytes_of(h)); });
    CHECK(why.find("2 targets") != std::string::npos);
    CHECK(why.find("1 msg_ids") != std::string::npos);

    h.kind = MsgKind::direct_task;
    h.targets = {};
    h.msg_ids = {"a", "b"};
    malformed_message([&] { (void)wire::decode_header(bytes_of(h)); });
  }

  TEST_CASE("an apply_reply and a task's output may carry msg_ids without targets") {
    for (const MsgKind kind : {MsgKind::apply_reply, MsgKind::output}) {
      CAPTURE(wire::kind_name(kind));
      Header h;
      h.kind = kind;
      h.msg_ids = {"m1"};
      h.engine_id = 3;
      const Header back = wire::decode_header(bytes_of(h));
      CHECK(back.msg_ids == wire::MsgIds{"m1"});
      CHECK(back.engine_id == 3);
    }
  }

  TEST_CASE("targets without msg_ids are allowed") {
    Header h;
    h.kind = MsgKind::shutdown_world;
    h.targets = {0, 1, 2};
    CHECK(wire::decode_header(bytes_of(h)).targets == wire::EngineIds{0, 1, 2});
  }

  TEST_CASE("a huge string length in a header is rejected without allocating") {
    Header h;
    h.function = "abc";
    std::vector<std::byte> bytes = bytes_of(h);
    // kind (1) + request_id (8) + targets size (1) + msg_ids size (1), then the function's size
    // (a varint: one byte for 3).
    const std::size_t at = 1 + 8 + 1 + 1;
    REQUIRE(static_cast<int>(bytes[at]) == 3);
    // 3 + 2^60: nine varint bytes in place of the one.
    std::vector<std::byte> huge{std::byte{0x83}};
    for (int i = 0; i < 7; ++i) huge.push_back(std::byte{0x80});
    huge.push_back(std::byte{0x10});
    bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at));
    bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), huge.begin(), huge.end());
    malformed_message([&] { (void)wire::decode_header(bytes); });
  }

  TEST_CASE("random bytes after a valid kind either decode or are malformed") {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255), length(1, 120);
    for (int round = 0; round < 3000; ++round) {
      std::vector<std::byte> bytes(static_cast<std::size_t>(length(rng)));
      for (auto& b : bytes) b = static_cast<std::byte>(byte(rng) < 200 ? 0 : byte(rng));
      bytes[0] = static_cast<std::byte>(all_kinds[static_cast<std::size_t>(round) % all_kinds.size()]);
      CAPTURE(round);
      try {
        (void)wire::decode_header(bytes);
      } catch (const ProtocolError& e) {
        CHECK(e.code() == errc::malformed);
      } catch (const std::exception& e) {
        FAIL_CHECK("expected ProtocolError, got: " << std::string(e.what()));
      }
    }
  }

}  // TEST_SUITE
