// A flood of hostile messages at both controller sockets while a good client works: malformed,
// mis-signed, forged, truncated, replayed (captured and sent again), of the wrong kind, oversized.
// Every one is dropped and counted by its sort, and every one of the client's tasks completes with
// the right result.
#include <doctest/doctest.h>

#include <atomic>
#include <random>
#include <thread>

#include "hostile_peer.hpp"
#include "protocol/value_codec.hpp"

using namespace crew;
using namespace crew::testing;
using namespace crew::testing::hostile;

TEST_SUITE("security.flood") {

  TEST_CASE("100,000 hostile messages of every sort do not stop a concurrent client's 1,000 tasks") {
    Env& e = env();
    constexpr int hostile_total = 100'000;
    constexpr int oversized_every = 10'000;  // 10 of them: 8 MiB each
    constexpr int tasks = 1'000;
    std::atomic<int> progress{0};  // results the good client has checked so far
    Delta expected;                // what the flood should move, counted as it is sent
    const Counters before = e.counters();

    // The flood runs alongside the client and is paced by it, so the two interleave at the
    // controller from start to end: at most 100 hostile messages per checked result, ahead by 5,000.
    // The peers outlive the flood's thread: closing one would drop what it has not sent yet.
    RawPeer at_clients(e.ctx, e.endpoints.client_url, e.endpoints.key, "flood-clients",
                       e.endpoints.curve_at(e.endpoints.client_url));
    RawPeer at_engines(e.ctx, e.endpoints.engine_url, e.endpoints.key, "flood-engines",
                       e.endpoints.curve_at(e.endpoints.engine_url));
    std::thread flood([&] {
      wire::Signer wrong(wire::key_from_hex(wire::new_key_hex()));
      std::mt19937_64 rng(555);
      wire::Header hello;
      hello.kind = wire::MsgKind::hello;
      const auto mh = wire::make_message(hello);
      const Buffer bad_sig = wire::signature_of(mh.header_bytes, mh.payload, wrong);
      // One good message, captured as it went: sent again as it was, it is a replay at either socket.
      wire::Header stats;
      stats.kind = wire::MsgKind::stats_request;
      at_clients.send_signed(stats);
      const std::vector<std::string> captured = at_clients.last_sent;
      const std::vector<std::string> truncated(captured.begin(), captured.end() - 1);  // the body cut off
      wire::Header beat =
          hello;  // a kind the socket does not take: a bridge's at the clients', a client's at the engines'
      beat.kind = wire::MsgKind::heartbeat;
      const std::string limit_plus(8 * 1024 * 1024 + 1024, 'o');
      int n = 0;
      while (n < hostile_total) {
        const int seen = progress.load();
        const int allowed = std::min(hostile_total, 100 * (seen + 50));
        for (; n < allowed; ++n) {
          const bool clients = n % 2 == 0;
          RawPeer& peer = clients ? at_clients : at_engines;
          if (n % oversized_every == 0) {  // at the clients' socket: engines may send large results
            at_clients.send_signed(apply_header({0}, {"flood-oversized-" + std::to_string(n)}, "echo"),
                                   Value::list({limit_plus}));
            ++expected["dropped_oversized"];
            continue;
          }
          switch ((n / 2) % 6) {
          case 0:  // no delimiter
            peer.send_frames({random_bytes(rng, 1 + rng() % 64)});
            ++expected["dropped_malformed"];
            break;
          case 1:  // random seal and signature
            peer.send_frames(
                {delimiter, random_bytes(rng, 48), random_bytes(rng, 32), random_bytes(rng, 20), random_bytes(rng, 8)});
            ++expected["dropped_bad_signature"];
            break;
          case 2:  // signed with another key, sealed with this one
            peer.send_with_signature(bad_sig, mh.header_bytes, mh.payload);
            ++expected["dropped_bad_signature"];
            break;
          case 3:  // a captured message with its last frame cut off
            peer.send_frames(truncated);
            ++expected["dropped_malformed"];
            break;
          case 4:  // a captured message sent again
            peer.send_frames(captured);
            ++expected["dropped_replayed"];
            break;
          case 5:  // signed, sealed, well formed, and of a kind this socket does not take
            peer.send_signed(clients ? beat : hello);
            ++expected["dropped_unexpected"];
            break;
          }
        }
        if (n < hostile_total) progress.wait(seen);
      }
    });

    std::vector<AsyncResult> results;
    results.reserve(tasks);
    for (int i = 0; i < tasks; ++i) results.push_back(e.rc[i % 2].apply("echo", i));
    int right = 0;
    for (int i = 0; i < tasks; ++i) {
      try {
        right += results[static_cast<std::size_t>(i)].get(60s) == Value(i) ? 1 : 0;
      } catch (const std::exception& ex) {
        FAIL_CHECK("task " << i << ": " << std::string(ex.what()));
      }
      progress.fetch_add(1);
      progress.notify_one();
    }
    flood.join();
    const auto flood_end = std::chrono::steady_clock::now();
    CHECK(right == tasks);
    std::int64_t hostile = 0;
    for (const auto& [name, count] : expected) hostile += count;
    CHECK(hostile == hostile_total);

    const Counters after = e.wait_counters(
        [&](const Counters& c) {
          std::int64_t dropped = 0;
          for (const auto& [name, count] : expected) dropped += c.since(before, name);
          return dropped >= hostile_total;
        },
        60s);
    const double counted_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - flood_end).count();
    const std::int64_t refused_tasks = expected["dropped_oversized"];  // each fails its one task, recorded
    expected["tasks_submitted"] = tasks + refused_tasks;
    check_delta(before, after, expected);
    CHECK(after.since(before, "tasks_completed") == tasks);
    CHECK(after.since(before, "tasks_failed") == refused_tasks);
    MESSAGE("hostile messages: " << hostile_total << " (" << expected["dropped_malformed"] << " malformed, "
                                 << expected["dropped_bad_signature"] << " mis-signed, " << expected["dropped_replayed"]
                                 << " replayed, " << expected["dropped_unexpected"] << " of the wrong kind, "
                                 << expected["dropped_oversized"] << " oversized), all counted; " << right << " of "
                                 << tasks << " tasks right; the last counted " << counted_s
                                 << " s after the flood and the tasks ended");
    CHECK(e.rc.outstanding() == 0);
    check_still_served(e);
  }

}  // TEST_SUITE
