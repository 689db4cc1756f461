// Live output on an engine (engine/output_pump.hpp, engine/task_output.hpp): a task's streams pass
// their lines to the pump as they are written and keep the whole text; the pump's messages carry
// the task, the stream and the text in order, in chunks, with lines whole; end() returns only once
// everything is sent; a writer faster than the sink loses text, and the messages say exactly how
// much.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "engine/output_pump.hpp"
#include "engine/task_output.hpp"
#include "protocol/wire.hpp"

using crew::detail::OutputPump;
using crew::detail::TaskOutputBuf;

namespace {

struct Sent {
  std::string task, out, err;
  std::uint64_t dropped = 0;
  int world = -1, rank = -1;
};

/// A sink that decodes what the pump sends, and can hold the pump up until released.
struct Sink {
  std::mutex m;
  std::condition_variable cv;
  std::vector<Sent> sent;
  bool held = false;

  OutputPump::Sink function() {
    return [this](crew::wire::Outgoing msg, bool /*last*/) {
      const auto packets = crew::wire::unpack(std::move(msg.header_bytes), std::move(msg.payload));
      REQUIRE(packets.size() == 1);
      const auto& p = packets.front();
      CHECK(p.header.kind == crew::wire::MsgKind::output);
      CHECK(p.header.engine_id == 7);
      Sent s{p.header.msg_ids.empty() ? "" : std::string(p.header.msg_ids.front()), p.header.out, p.header.err,
             p.header.request_id};
      const crew::Value where = p.body();
      s.world = static_cast<int>(where.as_list().at(0).as_int());
      s.rank = static_cast<int>(where.as_list().at(1).as_int());
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return !held; });
      sent.push_back(std::move(s));
    };
  }
  void hold() {
    std::lock_guard lock(m);
    held = true;
  }
  void release() {
    {
      std::lock_guard lock(m);
      held = false;
    }
    cv.notify_all();
  }
};

}  // namespace

TEST_SUITE("unit.output_pump") {
  TEST_CASE("a task's lines reach the sink in order, tagged, and end() sends the rest before it returns") {
    Sink sink;
    OutputPump pump({7, 2, 1}, sink.function());
    TaskOutputBuf out_buf(false), err_buf(true);
    std::ostream out(&out_buf), err(&err_buf);
    const std::string task = "3-14";
    out_buf.start(&pump);
    err_buf.start(&pump);
    pump.begin(task);
    out << "first line" << std::endl;
    err << "a warning" << std::endl;
    out << "second line\nand a partial";
    out.flush();
    CHECK(out_buf.take() == "first line\nsecond line\nand a partial");
    CHECK(err_buf.take() == "a warning\n");
    pump.end();
    // All of it is with the sink once end() returns, in the order written, out and err apart.
    std::lock_guard lock(sink.m);
    std::string outs, errs, order;
    for (const Sent& s : sink.sent) {
      CHECK(s.task == task);
      CHECK(s.world == 2);
      CHECK(s.rank == 1);
      CHECK(s.dropped == 0);
      CHECK((s.out.empty() != s.err.empty()));
      outs += s.out;
      errs += s.err;
      order += s.out.empty() ? "e" : "o";
    }
    CHECK(outs == "first line\nsecond line\nand a partial");
    CHECK(errs == "a warning\n");
    CHECK(order.find('e') > order.find('o'));  // the warning came after the first line
    CHECK(pump.bytes_sent() == outs.size() + errs.size());
  }

  TEST_CASE("long text goes in chunks that end at line ends") {
    Sink sink;
    OutputPump pump({7, 0, 0}, sink.function(), {}, {std::chrono::milliseconds(20), 1000, 1 << 20});
    const std::string task = "1-1";
    pump.begin(task);
    std::string written;
    for (int i = 0; i < 100; ++i) written += std::string(static_cast<std::size_t>(i % 37 + 5), 'a' + i % 26) + "\n";
    pump.write(false, written);
    pump.end();
    std::lock_guard lock(sink.m);
    std::string joined;
    for (const Sent& s : sink.sent) {
      CHECK(s.out.size() <= 1000);
      CHECK(s.out.back() == '\n');
      joined += s.out;
    }
    CHECK(sink.sent.size() >= written.size() / 1000);
    CHECK(joined == written);
  }

  TEST_CASE("a writer faster than the sink loses text beyond the limit, and the messages say how much") {
    Sink sink;
    OutputPump pump({7, 0, 0}, sink.function(), {}, {std::chrono::milliseconds(1), 512, 4096});
    const std::string task = "1-2";
    pump.begin(task);
    sink.hold();  // the sink takes nothing meanwhile: the writer does not wait for it
    const std::string line(99, 'x');
    std::uint64_t written = 0;
    for (int i = 0; i < 1000; ++i) {
      pump.write(false, line + "\n");
      written += 100;
    }
    CHECK(pump.bytes_dropped() > 0);
    sink.release();
    pump.end();
    std::lock_guard lock(sink.m);
    std::uint64_t got = 0, dropped = 0;
    for (const Sent& s : sink.sent) {
      got += s.out.size();
      dropped += s.dropped;
    }
    MESSAGE(written << " bytes written: " << got << " sent, " << dropped << " dropped");
    CHECK(dropped == pump.bytes_dropped());
    CHECK(got + dropped == written);
  }

  TEST_CASE("text written outside a task goes nowhere, and a task that writes nothing sends nothing") {
    Sink sink;
    OutputPump pump({7, 0, 0}, sink.function());
    pump.write(false, "stray\n");
    const std::string task = "1-3";
    pump.begin(task);
    pump.end();
    std::lock_guard lock(sink.m);
    CHECK(sink.sent.empty());
    CHECK(pump.bytes_sent() == 0);
  }

  TEST_CASE("while nobody follows, nothing is sent, and the reply's text keeps it all") {
    Sink sink;
    std::atomic<bool> followed{false};
    OutputPump pump({7, 0, 0}, sink.function(), [&] { return followed.load(); });
    TaskOutputBuf out_buf(false);
    std::ostream out(&out_buf);
    out_buf.start(&pump);
    const std::string task = "1-4";
    pump.begin(task);
    out << "unheard" << std::endl;
    followed = true;  // a client subscribes mid-task: what comes from now on goes
    out << "heard" << std::endl;
    pump.end();
    CHECK(out_buf.take() == "unheard\nheard\n");
    std::lock_guard lock(sink.m);
    REQUIRE(sink.sent.size() == 1);
    CHECK(sink.sent.front().out == "heard\n");
    CHECK(pump.bytes_dropped() == 0);  // not followed is not dropped
  }
}
