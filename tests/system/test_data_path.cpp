// The hybrid data path against real clusters: scatter, gather, push, reduce, save_h5 / load_h5
// inside MPI worlds, split and joined across several worlds. Runs at world sizes 1-4 and with two
// worlds (CREW_TEST_ENGINES, CREW_TEST_WORLDS); one configuration makes every MPI transfer take the
// chunked path (CREW_MPI_CHUNK_BYTES, inherited by the engines).
#include <doctest/doctest.h>

#include <signal.h>

#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <sstream>

#include "crew/crew.hpp"
#include "errors_of.hpp"
#include "test_support.hpp"
#include "values/sequence.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}
int engine_count() { return env_int("CREW_TEST_ENGINES", 2); }
int world_count() { return env_int("CREW_TEST_WORLDS", 1); }

// Heartbeats every 500 ms: a world that dies is noticed within 2.5 s, and a loaded CI machine's
// stalls (up to ~2 s seen; at 200 ms one stall of 1.4 s declared both worlds dead mid-gather) are not.
Cluster& cluster() {
  static Cluster c(engine_count(), "data", {"--worlds", std::to_string(world_count()), "--heartbeat-ms", "500"});
  return c;
}

Client& client() {
  static Client rc = cluster().client(30s);
  return rc;
}

Value iota(std::uint64_t rows, std::uint64_t cols = 0) {
  const std::uint64_t n = rows * std::max<std::uint64_t>(cols, 1);
  std::vector<double> xs(n);
  std::iota(xs.begin(), xs.end(), 0.25);
  return cols ? Value(Array::from(std::move(xs), {rows, cols})) : Value(Array::from(std::move(xs)));
}

std::string message_of(const AsyncResult& ar) {
  try {
    (void)ar.get(60s);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

/// Whether this machine lets a process read another's memory (process_vm_readv on a child,
/// as an engine does on its client): containers may forbid it, and crew then streams.
bool kernel_lets_processes_copy() {
  static const bool allowed = [] {
    int fds[2];
    if (::pipe(fds) != 0) return false;
    const pid_t child = ::fork();
    if (child == 0) {  // the child waits until the parent has tried, then ends
      char c;
      ::close(fds[1]);
      (void)!::read(fds[0], &c, 1);
      ::_exit(0);
    }
    ::close(fds[0]);
    static const char probe[] = "crew";  // at the same address in the child (a fork)
    char seen[sizeof probe] = {};
    iovec mine{seen, sizeof seen}, theirs{const_cast<char*>(probe), sizeof probe};
    const bool ok = ::process_vm_readv(child, &mine, 1, &theirs, 1, 0) == static_cast<ssize_t>(sizeof probe) &&
                    std::string(seen) == probe;
    ::close(fds[1]);
    ::waitpid(child, nullptr, 0);
    return ok;
  }();
  return allowed;
}

/// Whether this client's engines copy from and into it (crew.can_copy, as the client asks).
bool engines_can_copy_here(const Client& rc) {
  static const std::string token = "crew-test-probe-token";
  return rc[0]
             .apply("crew.can_copy", static_cast<std::int64_t>(::getpid()),
                    static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(token.data())), token)
             .get(60s) == Value(true);
}

}  // namespace

TEST_SUITE("system.data") {

  TEST_CASE("scatter splits arrays in engine order, sizes differing by at most one; gather inverts it") {
    const auto& rc = client();
    const auto view = rc.view();
    const auto n = static_cast<std::uint64_t>(engine_count());
    for (std::uint64_t rows : {std::uint64_t{1}, n - 1, n, n + 1, 3 * n + 2, std::uint64_t{1001}}) {
      CAPTURE(rows);
      const Value whole = iota(rows, 3);
      view.scatter("x", whole).get(60s);
      const auto parts = view.pull("x").get_dict(60s);
      const auto sizes = seq::partition(rows, n);
      std::uint64_t at = 0;
      for (const auto& [id, part] : parts) {
        REQUIRE(part.is_array());
        CHECK(part.as_array().shape() == std::vector<std::uint64_t>{sizes[static_cast<std::size_t>(id)], 3});
        CHECK(part == seq::take(whole, at, sizes[static_cast<std::size_t>(id)]));
        at += sizes[static_cast<std::size_t>(id)];
      }
      CHECK(view.gather("x").get(60s) == whole);
    }
  }

  TEST_CASE("arrays above a chunk are copied by the engines on the client's host, else streamed") {
    // Engines on this host copy scatter's, push's and gather's arrays straight from and into the
    // client's memory: no byte of them streams through the controller. CREW_SINGLE_COPY=0 turns
    // that off, and scatter's (and one world's gather's) then stream.
    const auto& rc = client();
    const auto view = rc.view();
    const char* off = std::getenv("CREW_SINGLE_COPY");
    const bool copies = !(off && std::string(off) == "0") && engines_can_copy_here(rc);
    const Value whole = iota(300'000, 2);  // 4.8 MB: above the default 4 MiB chunk too
    const auto bytes = static_cast<std::int64_t>(whole.as_array().data().size());
    const std::int64_t before = rc.controller_stats()["stream_bytes"].as_int();
    view.scatter("big", whole).get(60s);
    CHECK(view.gather("big").get(60s) == whole);
    view.push({{"big_all", whole}}).get(60s);
    const std::int64_t streamed = rc.controller_stats()["stream_bytes"].as_int() - before;
    if (copies)
      CHECK(streamed == 0);
    else
      CHECK(streamed >= bytes);
    // Pulled arrays too, and a reduce's result: copied, the controller never holds them (it keeps
    // what passes through, within its budget). Several worlds' reduce results meet in it.
    const std::int64_t kept = rc.controller_stats()["result_bytes_kept"].as_int();
    for (int e = 0; e < engine_count(); ++e) {
      CAPTURE(e);
      CHECK(rc[e].pull("big_all").get(60s) == whole);
    }
    CHECK(view.pull("big_all").get_dict(60s).at(0) == whole);
    const std::int64_t kept_pulled = rc.controller_stats()["result_bytes_kept"].as_int();
    if (copies) CHECK(kept_pulled - kept < bytes);
    Value sum = whole;
    for (int e = 1; e < engine_count(); ++e) sum = seq::combine(sum, whole, op::sum);
    CHECK(view.reduce("big_all", op::sum).get(60s) == sum);
    const std::int64_t kept_reduced = rc.controller_stats()["result_bytes_kept"].as_int() - kept_pulled;
    if (copies && world_count() == 1) CHECK(kept_reduced < bytes);
    // A client whose first call is a gather or a pull asks whether its engines can copy along
    // with that call's first step, and copies too (as the crew command line does, every time).
    {
      Client fresh = cluster().client(30s);
      const auto stats = [&] { return fresh.controller_stats(); };
      const std::int64_t streamed0 = stats()["stream_bytes"].as_int(), kept0 = stats()["result_bytes_kept"].as_int();
      CHECK(fresh.view().gather("big").get(60s) == whole);
      CHECK(fresh[0].pull("big_all").get(60s) == whole);
      if (copies) {
        CHECK(stats()["stream_bytes"].as_int() == streamed0);
        CHECK(stats()["result_bytes_kept"].as_int() - kept0 < bytes);
      }
    }
    view.apply("del", "big", "big_all").get(60s);
  }

  TEST_CASE("an engine says it can copy from the client only when it read the client's token there") {
    // crew.can_copy is the question the client asks before it offers copies (client/single_copy.cpp).
    const auto& rc = client();
    const std::string token = "crew-test-token-0123456789abcdef";
    const auto pid = static_cast<std::int64_t>(::getpid());
    const auto at = static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(token.data()));
    const bool allowed = kernel_lets_processes_copy();
    if (!allowed) MESSAGE("this machine does not let a process read another's memory: copies are off here");
    for (int e = 0; e < engine_count(); ++e) {
      CAPTURE(e);
      CHECK(rc[e].apply("crew.can_copy", pid, at, token).get(60s) == Value(allowed));
      CHECK(rc[e].apply("crew.can_copy", pid, at, token + "?").get(60s) == Value(false));  // other bytes there
      CHECK(rc[e].apply("crew.can_copy", pid, std::int64_t{4096}, token).get(60s) == Value(false));  // unmapped
      CHECK(rc[e].apply("crew.can_copy", std::int64_t{0}, at, token).get(60s) == Value(false));
    }
  }

  TEST_CASE("two clients scattering at once both get their arrays where they belong") {
    // Several MiB each: streamed (in hundreds of chunks with CREW_STREAM_CHUNK_BYTES=4096) from
    // two connections at once. (security.client_socket interleaves two streams' chunks exactly.)
    const auto& rc = client();
    Client other = cluster().client(30s);
    const Value a = iota(250'000, 2), b = iota(200'000, 3);
    auto ra = rc.view().scatter("from_a", a);
    auto rb = other.view().scatter("from_b", b);
    ra.get(60s);
    rb.get(60s);
    CHECK(rc.view().gather("from_a").get(60s) == a);
    CHECK(other.view().gather("from_b").get(60s) == b);
  }

  TEST_CASE("lists scatter and gather like arrays") {
    const auto view = client().view();
    Value::List items;
    for (int i = 0; i < 2 * engine_count() + 1; ++i) items.push_back(Value::list({i, "item " + std::to_string(i)}));
    view.scatter("l", Value(items)).get(60s);
    CHECK(view.gather("l").get(60s) == Value(items));
    CHECK(view.pull("l").get_dict(60s).at(0).size() == 3);  // the first parts take the extra item
  }

  TEST_CASE("a view of some engines scatters over exactly those, rank 0 of a world included or not") {
    const auto& rc = client();
    if (engine_count() < 2) return;
    std::vector<int> some;
    for (int id = 1; id < engine_count(); ++id) some.push_back(id);  // leaves out world 0's rank 0
    const auto view = rc[some];
    const Value whole = iota(10);
    view.scatter("s", whole).get(60s);
    CHECK(view.gather("s").get(60s) == whole);
    CHECK(code_of([&] { (void)rc[0].pull("s").get(60s); }) == errc::unknown_name);
    const Value mine = iota(4);
    rc[{0, engine_count() - 1}].scatter("s2", mine).get(60s);
    CHECK(rc[{0, engine_count() - 1}].gather("s2").get(60s) == mine);
  }

  TEST_CASE("push broadcasts one message per world; every target gets every value") {
    const auto view = client().view();
    view.push({{"p", iota(50000)}, {"k", 7}}).get(60s);
    for (const auto& [id, v] : view.pull(std::vector<std::string>{"p", "k"}).get_dict(60s)) {
      CHECK(v["p"] == iota(50000));
      CHECK(v["k"] == Value(7));
    }
  }

  TEST_CASE("reduce combines numbers and arrays element by element with every op") {
    const auto& rc = client();
    const auto view = rc.view();
    for (int id : rc.ids())
      rc[id].push({{"r", id + 1}, {"a", Array::from(std::vector<double>{1.0 * id, -1.0 * id})}}).get(60s);
    const std::int64_t n = engine_count();
    CHECK(view.reduce("r", op::sum).get(60s) == Value(n * (n + 1) / 2));
    CHECK(view.reduce("r", op::max).get(60s) == Value(n));
    CHECK(view.reduce("r", op::min).get(60s) == Value(1));
    std::int64_t fact = 1;
    for (std::int64_t i = 1; i <= n; ++i) fact *= i;
    CHECK(view.reduce("r", op::prod).get(60s) == Value(fact));
    const auto sum = view.reduce("a", op::sum).get(60s).get<std::vector<double>>();
    CHECK(sum == std::vector<double>{n * (n - 1) / 2.0, -n * (n - 1) / 2.0});
    if (n >= 2) {  // a view without world 0's rank 0: its root contributes the identity
      std::vector<int> some;
      for (int id = 1; id < n; ++id) some.push_back(id);
      CHECK(rc[some].reduce("r", op::min).get(60s) == Value(2));
      CHECK(rc[some].reduce("r", op::prod).get(60s) == Value(fact));
    }
  }

  TEST_CASE("reduce of mismatched dtypes or shapes fails, naming the odd engines") {
    const auto& rc = client();
    if (engine_count() < 2) return;
    rc.view().push({{"m", Array::from(std::vector<double>{1, 2})}}).get(60s);
    rc[engine_count() - 1].push({{"m", Array::from(std::vector<double>{1, 2, 3})}}).get(60s);
    const auto ar = rc.view().reduce("m", op::sum);
    CHECK(code_of([&] { (void)ar.get(60s); }) == errc::mismatch);
    CHECK(message_of(ar).find(std::to_string(engine_count() - 1)) != std::string::npos);
    rc[engine_count() - 1].push({{"m", Array::from(std::vector<float>{1, 2})}}).get(60s);
    CHECK(code_of([&] { (void)rc.view().reduce("m", op::sum).get(60s); }) == errc::mismatch);
  }

  TEST_CASE("lists of numbers reduce as the arrays numpy.array makes of them: int64, or float64 beside doubles") {
    const auto& rc = client();
    const auto view = rc.view();
    const std::int64_t n = engine_count();
    view.push({{"li", Value::list({1, 2, 3})}}).get(60s);
    CHECK(view.reduce("li", op::sum).get(60s) == Value(Array::from(std::vector<std::int64_t>{n, 2 * n, 3 * n})));
    // One engine's list has a double: every part is float64, in one world or across several.
    rc[engine_count() - 1].push({{"li", Value::list({1, 2.5, 3})}}).get(60s);
    CHECK(view.reduce("li", op::max).get(60s) == Value(Array::from(std::vector<double>{1, 2.5, 3})));
    // ... and beside an int64 array (int64 with float64 is float64, as for numbers).
    if (n >= 2) {
      rc[0].push({{"li", Array::from(std::vector<std::int64_t>{1, 2, 3})}}).get(60s);
      CHECK(view.reduce("li", op::min).get(60s) == Value(Array::from(std::vector<double>{1, 2, 3})));
    }
    // Nested lists of equal lengths are 2-d.
    view.push({{"l2", Value::list({Value::list({1, 2}), Value::list({3, 4})})}}).get(60s);
    const Value r2 = view.reduce("l2", op::sum).get(60s);
    CHECK(r2 == Value(Array::from(std::vector<std::int64_t>{n, 2 * n, 3 * n, 4 * n}, {2, 2})));
    // A scattered list (what `crew scatter x '[1,...]'` leaves): 2 items per engine.
    Value::List xs;
    for (std::int64_t i = 1; i <= 2 * n; ++i) xs.emplace_back(i);
    view.scatter("ls", Value(xs)).get(60s);
    CHECK(view.reduce("ls", op::sum).get(60s) == Value(Array::from(std::vector<std::int64_t>{n * n, n * n + n})));
    // Lists that are not arrays are refused, saying why.
    view.push({{"bad", Value::list({Value::list({1, 2}), Value::list({3})})}}).get(60s);
    const auto ar = view.reduce("bad", op::sum);
    CHECK(code_of([&] { (void)ar.get(60s); }) == errc::mismatch);
    CHECK(message_of(ar).find("ragged") != std::string::npos);
  }

  TEST_CASE("reduce of parts of different shapes names the shapes, not element counts") {
    const auto& rc = client();
    if (engine_count() < 2) return;
    // 2n + 1 rows of 2: the first engine holds 3 rows, the others 2.
    const auto n = static_cast<std::uint64_t>(engine_count());
    rc.view().scatter("uneven", iota(2 * n + 1, 2)).get(60s);
    const auto ar = rc.view().reduce("uneven", op::sum);
    CHECK(code_of([&] { (void)ar.get(60s); }) == errc::mismatch);
    const std::string message = message_of(ar);
    CHECK(message.find("float64[3,2] (engine 0)") != std::string::npos);
    CHECK(message.find("float64[2,2] (engine") != std::string::npos);
  }

  TEST_CASE("gather of a name missing on some engines names those engines") {
    const auto& rc = client();
    rc.view().push({{"g", Value::list({1})}}).get(60s);
    rc[engine_count() - 1].apply("del", "g").get(60s);
    const auto ar = rc.view().gather("g");
    CHECK(code_of([&] { (void)ar.get(60s); }) == errc::unknown_name);
    CHECK(message_of(ar).find("no 'g' on engine " + std::to_string(engine_count() - 1)) != std::string::npos);
    // The engines are fine afterwards.
    CHECK(rc.view().apply("echo", 1).get(60s).size() == static_cast<std::size_t>(engine_count()));
  }

  TEST_CASE("scatter of something that is not a sequence fails before anything is sent") {
    const auto& rc = client();
    CHECK(code_of([&] { (void)rc.view().scatter("x", 5); }) == errc::not_a_sequence);
    CHECK(code_of([&] { (void)rc.view().scatter("x", std::string("text")); }) == errc::not_a_sequence);
    // ... and a hand-made request that slips past the client is refused by the controller.
    CHECK(code_of([&] { (void)rc.view().apply("crew.scatter", "x", 5).get(60s); }) == errc::not_a_sequence);
  }

  TEST_CASE("save_h5 writes one dataset that h5dump reads; load_h5 splits it like scatter") {
    const auto& rc = client();
    const auto view = rc.view();
    const fs::path file = fs::temp_directory_path() / ("crew-test-" + std::to_string(::getpid()) + ".h5");
    const Value whole = iota(2 * engine_count() + 1, 2);
    view.scatter("h", whole).get(60s);
    view.save_h5(file.string(), "h").get(120s);
    const auto dump = proc::run_shell("h5dump -H -d /h " + file.string());
    CHECK(dump.status == 0);
    CHECK(dump.out.find("( " + std::to_string(2 * engine_count() + 1) + ", 2 )") != std::string::npos);
    CHECK(dump.out.find("H5T_IEEE_F64LE") != std::string::npos);
    view.load_h5(file.string(), "/h", "back").get(120s);
    CHECK(view.gather("back").get(60s) == whole);
    CHECK(view.pull("back").get_dict(60s) == view.pull("h").get_dict(60s));
    // Bad input: each a clear error, nothing lost.
    CHECK(code_of([&] { (void)view.load_h5(file.string(), "/nope", "z").get(60s); }) == errc::io_failed);
    CHECK(code_of([&] { (void)view.load_h5(file.string() + ".missing", "/h", "z").get(60s); }) == errc::io_failed);
    CHECK(code_of([&] { (void)view.save_h5("/nonexistent-dir/x.h5", "h").get(60s); }) != errc::none);
    CHECK(code_of([&] { (void)view.save_h5(file.string(), "no_such_name").get(60s); }) == errc::unknown_name);
    fs::remove(file);
  }

  TEST_CASE("save_h5 writes lists of numbers as the arrays they make, in a file that fits the data") {
    const auto& rc = client();
    const auto view = rc.view();
    const fs::path file = fs::temp_directory_path() / ("crew-test-lists-" + std::to_string(::getpid()) + ".h5");
    const auto rows = static_cast<std::uint64_t>(2 * engine_count() + 1);
    Value::List pairs;
    for (std::uint64_t i = 0; i < rows; ++i)
      pairs.push_back(Value::list({static_cast<std::int64_t>(i), static_cast<std::int64_t>(10 * i)}));
    view.scatter("pairs", Value(pairs)).get(60s);
    view.save_h5(file.string(), "pairs").get(120s);
    const auto dump = proc::run_shell("h5dump -H -d /pairs " + file.string());
    CHECK(dump.out.find("( " + std::to_string(rows) + ", 2 )") != std::string::npos);
    CHECK(dump.out.find("H5T_STD_I64LE") != std::string::npos);
    view.load_h5(file.string(), "/pairs", "pairs_back").get(120s);
    CHECK(view.gather("pairs_back").get(60s) == Value(*to_array(Value(pairs))));
    // An engine whose list holds a double makes the whole dataset float64 (within one world:
    // across worlds, each world's rows keep their own dtype and must match the dataset's).
    if (world_count() == 1) {
      rc[engine_count() - 1].push({{"pairs", Value::list({Value::list({0.5, 1})})}}).get(60s);
      view.save_h5(file.string(), "pairs").get(120s);
      CHECK(proc::run_shell("h5dump -H -d /pairs " + file.string()).out.find("H5T_IEEE_F64LE") != std::string::npos);
    }
    // A ragged list is not an array, and the error says where.
    rc[0].push({{"pairs", Value::list({Value::list({1, 2}), Value::list({3})})}}).get(60s);
    const auto ar = view.save_h5(file.string(), "pairs");
    CHECK(code_of([&] { (void)ar.get(60s); }) == errc::not_a_sequence);
    CHECK(message_of(ar).find("item [1]") != std::string::npos);
    // Chunks fit the data: 20 doubles (160 bytes) make a file of a few KiB, not one 4 MiB chunk.
    view.scatter("small", iota(20)).get(60s);
    view.save_h5(file.string(), "small").get(120s);
    CHECK(fs::file_size(file) < 64 * 1024);
    fs::remove(file);
  }

  TEST_CASE("after all this traffic, idle engines go back to sleep (no spinning bridge or rank)") {
    const auto& rc = client();
    rc.view().gather("x").wait(60s);
    std::vector<pid_t> pids;
    for (const auto& e : rc.engines()) pids.push_back(static_cast<pid_t>(e.pid));
    // CPU seconds (user + system) of a process, from /proc/<pid>/stat.
    auto cpu_seconds = [](pid_t pid) {
      std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
      std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::istringstream fields(stat.substr(stat.rfind(')') + 2));
      std::string f;
      double ticks = 0;
      for (int i = 3; i <= 15 && fields >> f; ++i)
        if (i == 14 || i == 15) ticks += std::stod(f);
      return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
    };
    // Idle: over half a second, each engine uses under 5% of a core (a spinning one uses 50-100%).
    const bool idle = poll_for(
        [&] {
          std::vector<double> before;
          for (pid_t p : pids) before.push_back(cpu_seconds(p));
          std::this_thread::sleep_for(500ms);  // the measuring window, not a synchronisation
          for (std::size_t i = 0; i < pids.size(); ++i)
            if (cpu_seconds(pids[i]) - before[i] > 0.025) return false;
          return true;
        },
        15s);
    CHECK(idle);
  }

  TEST_CASE("a world that dies during a collective fails it with an error naming the world; others go on") {
    const auto& rc = client();
    if (world_count() < 2) return;
    const auto engines = rc.engines();
    const auto victim = std::find_if(engines.begin(), engines.end(), [](const EngineInfo& e) { return e.world == 1; });
    REQUIRE(victim != engines.end());
    rc.view().push({{"d", Value::list({1, 2})}}).get(60s);
    const auto busy = rc[victim->id].apply("sleep", 30.0);  // the gather waits behind it in world 1
    const auto ar = rc.view().gather("d");
    ::kill(static_cast<pid_t>(victim->pid), SIGKILL);
    CHECK(code_of([&] { (void)ar.get(60s); }) == errc::engine_died);
    CHECK(message_of(ar).find("world 1") != std::string::npos);
    CHECK(code_of([&] { (void)busy.get(60s); }) == errc::engine_died);
    // World 0 keeps working.
    std::vector<int> world0;
    for (const auto& e : rc.engines())
      if (e.world == 0) world0.push_back(e.id);
    CHECK(rc[world0].gather("d").get(60s).size() == 2 * world0.size());
  }
}
