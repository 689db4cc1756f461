// A flood of hostile messages at both controller sockets while a good client works: every
// hostile message is dropped and counted, and every one of the client's tasks completes with the
// right result.
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

  TEST_CASE("10,000 garbage messages do not stop a concurrent client's 1,000 tasks") {
    Env& e = env();
    constexpr int garbage_total = 10'000;
    constexpr int tasks = 1'000;
    std::atomic<int> progress{0};  // results the good client has checked so far
    std::atomic<int> sent{0};
    const Counters before = e.counters();

    // The flood runs alongside the client and is paced by it, so the two interleave at the
    // controller from start to end: at most 10 garbage messages per checked result, ahead by 500.
    std::thread flood([&] {
      RawPeer at_clients(e.ctx, e.endpoints.client_url, e.endpoints.key, "flood-clients");
      RawPeer at_engines(e.ctx, e.endpoints.engine_url, e.endpoints.key, "flood-engines");
      wire::Signer wrong(wire::key_from_hex(wire::new_key_hex()));
      std::mt19937_64 rng(555);
      wire::Header hello;
      hello.kind = wire::MsgKind::hello;
      const auto mh = wire::make_message(hello);
      const Buffer bad_sig = wire::signature_of(mh.header_bytes, mh.payload, wrong);
      const std::string delimiter(wire::protocol_id);
      int n = 0;
      while (n < garbage_total) {
        const int seen = progress.load();
        const int allowed = std::min(garbage_total, 10 * (seen + 50));
        for (; n < allowed; ++n) {
          RawPeer& peer = n % 2 == 0 ? at_clients : at_engines;
          switch ((n / 2) % 4) {
          case 0: peer.send_frames({random_bytes(rng, 1 + rng() % 64)}); break;  // malformed
          case 1:                                                                // mis-signed
            peer.send_frames({delimiter, random_bytes(rng, 32), random_bytes(rng, 20), random_bytes(rng, 8)});
            break;
          case 2:  // signed, header does not decode: malformed
            peer.send_signed(Buffer::copy(std::string(1, '\xfe') + random_bytes(rng, 24)), {mh.payload[0]});
            break;
          case 3: peer.send_with_signature(bad_sig, mh.header_bytes, mh.payload); break;  // mis-signed
          }
          sent.store(n + 1);
        }
        if (n < garbage_total) progress.wait(seen);
      }
    });

    std::vector<AsyncResult> results;
    results.reserve(tasks);
    for (int i = 0; i < tasks; ++i) results.push_back(e.rc[i % 2].apply("echo", i));
    int right = 0;
    for (int i = 0; i < tasks; ++i) {
      try {
        right += results[static_cast<std::size_t>(i)].get(30s) == Value(i) ? 1 : 0;
      } catch (const std::exception& ex) {
        FAIL_CHECK("task " << i << ": " << std::string(ex.what()));
      }
      progress.fetch_add(1);
      progress.notify_one();
    }
    flood.join();
    CHECK(right == tasks);
    CHECK(sent.load() == garbage_total);

    const Counters after = e.wait_counters([&](const Counters& c) {
      return (c.since(before, "dropped_malformed")) + (c.since(before, "dropped_bad_signature")) >= garbage_total;
    });
    check_delta(before, after,
                {{"dropped_bad_signature", garbage_total / 2},
                 {"dropped_malformed", garbage_total / 2},
                 {"tasks_submitted", tasks}});
    CHECK(after.since(before, "tasks_completed") == tasks);
    CHECK(e.rc.outstanding() == 0);
    check_still_served(e);
  }

}  // TEST_SUITE
