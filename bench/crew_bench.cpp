// crew-bench: client-side workloads against an ALREADY RUNNING crew cluster, printed as JSON lines
// in the anchors' format (/work/shared/bench/anchors/README.md), one line per measurement and rep:
//
//   {"system": "crew-0.1.0", "workload": "direct1_noop_throughput", "engines": 2, "value": 51234.5,
//    "unit": "tasks/s", "rep": 0, "calls": 10000, "tasks": 10000, "seconds": 0.195,
//    "oversubscribed": false, "loadavg1": 1.2}
//
// Workloads (--workloads, comma list; groups: throughput, latency, map, all), in this order:
//   memory                     hub_rss_idle first, hub_rss_after100k last (MiB): the controller's
//                              VmRSS; before it, balanced no-ops top the controller up to 100,000 tasks
//   lb_noop_throughput         rc.load_balanced_view().apply("echo") x K (K = --tasks, 10,000), rc.wait()
//   lb_noop_throughput_100k    the same with K = 100,000
//   direct1_noop_throughput    rc[0].apply("echo") x K, rc.wait(), value = K / elapsed (tasks/s)
//   directall_noop_throughput  rc.view().apply("echo") x K/N calls, each runs on all N engines,
//                              value = calls x N / elapsed (engine-task executions per second)
//   latency_direct1            20 warm-ups, then 1,000 sequential rc[0].apply("echo").get();
//                              emits latency_direct1_median and latency_direct1_p99 (us)
//   latency_direct_lastrank    the same on the last engine id (a rank != 0 of its world: the
//                              request crosses the rank-0 bridge and MPI; crew-specific)
//   latency_lb                 the same on the load-balanced view
//   broadcast_apply_sync       300 sequential rc.broadcast_view().apply("echo").get() on all N engines
//   directall_apply_sync       the same on rc.view()
//   map_lb_chunk_default       lb.map("echo", crew::range(M)) with the automatic chunk size
//                              (M = --map-items, 100,000), value = M / elapsed (items/s)
//   map_lb_chunk1000           the same with chunksize 1000
//   map_direct                 rc.view().map("echo", crew::range(M)): one part per engine
//   lb_mixed_makespan          K balanced no-ops, then at once 2N x sleep(2 s) behind them: the
//                              makespan over the ideal (the no-ops' own time, measured just before,
//                              plus 4 s: every engine runs two sleeps); value = makespan / ideal
//                              (not in `all`: it sleeps)
//   lb_print_throughput        lb.apply("print", a 40-byte line) x K: tasks that write a line each
//   lb_print_followed          the same while a feed follows every engine's output (a thread reads
//                              it; stderr says how many lines it read): what live output costs
//   lb_noop_followed           lb_noop_throughput while a feed follows (not in `all`, these three)
//   lb_skewed_makespan         the first engine busy with a direct sleep(3 s) while 2N x sleep(2 s)
//                              go to the balanced view, two to each engine: the makespan over the
//                              ideal (6 s: the other engines run them all, one three); the two
//                              queued behind the direct task must move (not in `all`)
//
// The no-op is the engines' builtin `echo` called with no arguments: the request carries the
// function name and an empty argument list; the reply is echo's result for no arguments (null;
// the value is checked on a sample and reported as echo_result). Map's identity is `echo` on one
// item.
//
// Usage: crew-bench --profile P [--engines N] [--reps R] [--first-rep r] [--workloads list]
//                   [--tasks K] [--latency-calls C] [--map-items M] [--warmups W] [--timeout S]

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crew/crew.hpp"
#include "crew/json.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;

struct Options {
  std::string profile = "default";
  int engines = 0;  // 0: as many as the controller reports alive
  int reps = 3;
  int first_rep = 0;
  std::set<std::string> workloads;
  int tasks = 10000;
  int latency_calls = 1000;
  int map_items = 100000;
  int warmups = 20;
  int throughput_warmup = 300;  // untimed tasks before the first throughput rep (the anchors' probe)
  double timeout_s = 600;       // per wait; a hang shows up as an error line, not a stuck harness
};

const std::vector<std::string> kAll = {"memory",
                                       "lb_noop_throughput",
                                       "lb_noop_throughput_100k",
                                       "direct1_noop_throughput",
                                       "directall_noop_throughput",
                                       "latency_direct1",
                                       "latency_direct_lastrank",
                                       "latency_lb",
                                       "broadcast_apply_sync",
                                       "directall_apply_sync",
                                       "map_lb_chunk_default",
                                       "map_lb_chunk1000",
                                       "map_direct"};
const std::vector<std::string> kExtra = {"lb_mixed_makespan", "lb_skewed_makespan",  // by name only
                                         "lb_print_throughput", "lb_print_followed", "lb_noop_followed"};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "crew-bench: " << why << "\n"
            << "usage: crew-bench --profile P [--engines N] [--reps R] [--first-rep r] [--workloads list]\n"
            << "                  [--tasks K] [--latency-calls C] [--warmups W] [--timeout S]\n"
            << "workloads: all, throughput, latency, or a comma list of:";
  for (const auto& w : kAll) std::cerr << " " << w;
  std::cerr << std::endl;
  std::exit(2);
}

std::set<std::string> parse_workloads(const std::string& spec) {
  std::set<std::string> out;
  std::stringstream ss(spec);
  std::string w;
  while (std::getline(ss, w, ',')) {
    if (w.empty()) continue;
    if (w == "all") {
      out.insert(kAll.begin(), kAll.end());
    } else if (w == "throughput") {
      out.insert(
          {"lb_noop_throughput", "lb_noop_throughput_100k", "direct1_noop_throughput", "directall_noop_throughput"});
    } else if (w == "latency") {
      out.insert(
          {"latency_direct1", "latency_direct_lastrank", "latency_lb", "broadcast_apply_sync", "directall_apply_sync"});
    } else if (w == "map") {
      out.insert({"map_lb_chunk_default", "map_lb_chunk1000", "map_direct"});
    } else {
      if (w.rfind("hub_rss", 0) == 0) w = "memory";
      // accept the emitted names too (latency_direct1_median -> latency_direct1)
      for (const char* suffix : {"_median", "_p99"}) {
        const std::string s = suffix;
        if (w.size() > s.size() && w.compare(w.size() - s.size(), s.size(), s) == 0 && w.rfind("latency_", 0) == 0)
          w.resize(w.size() - s.size());
      }
      if (std::find(kAll.begin(), kAll.end(), w) == kAll.end() &&
          std::find(kExtra.begin(), kExtra.end(), w) == kExtra.end())
        usage("unknown workload '" + w + "'");
      out.insert(w);
    }
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  std::string workloads = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    auto next_int = [&](int min) {
      const std::string v = next();
      char* end = nullptr;
      const long x = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || x < min)
        usage(a + " " + v + ": need an integer >= " + std::to_string(min));
      return static_cast<int>(x);
    };
    if (a == "--profile")
      o.profile = next();
    else if (a == "--engines" || a == "-n")
      o.engines = next_int(0);
    else if (a == "--reps")
      o.reps = next_int(1);
    else if (a == "--first-rep")
      o.first_rep = next_int(0);
    else if (a == "--workloads")
      workloads = next();
    else if (a == "--tasks")
      o.tasks = next_int(1);
    else if (a == "--latency-calls")
      o.latency_calls = next_int(1);
    else if (a == "--map-items")
      o.map_items = next_int(1);
    else if (a == "--warmups")
      o.warmups = next_int(0);
    else if (a == "--throughput-warmup")
      o.throughput_warmup = next_int(0);
    else if (a == "--timeout")
      o.timeout_s = std::atof(next().c_str());
    else if (a == "-h" || a == "--help")
      usage("help");
    else
      usage("unknown option " + a);
  }
  if (!(o.timeout_s > 0)) usage("--timeout needs seconds > 0");
  o.workloads = parse_workloads(workloads);
  return o;
}

double round_to(double x, int digits) {
  const double f = std::pow(10.0, digits);
  return std::round(x * f) / f;
}

double loadavg1() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? round_to(l[0], 2) : -1;
}

long cores() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? n : 1;
}

// statistics.median
double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  const std::size_t n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2.0;
}

// The anchors' _percentile: linear interpolation between closest ranks.
double percentile(std::vector<double> xs, double p) {
  std::sort(xs.begin(), xs.end());
  const double k = static_cast<double>(xs.size() - 1) * p / 100.0;
  const std::size_t f = static_cast<std::size_t>(k);
  const std::size_t c = std::min(f + 1, xs.size() - 1);
  return xs[f] + (xs[c] - xs[f]) * (k - static_cast<double>(f));
}

class Emitter {
public:
  explicit Emitter(int engines) : engines_(engines), system_(std::string("crew-") + crew::version_string) {}

  // A failed measurement passes value = nullptr and an "error" in extra: {"value": null, "error": ...}
  void emit(const std::string& workload, const json& value, const std::string& unit, json extra) const {
    json r;
    r["system"] = system_;
    r["workload"] = workload;
    r["engines"] = engines_;
    r["value"] = value.is_number_float() ? json(round_to(value.get<double>(), 3)) : value;
    r["unit"] = unit;
    for (auto& [k, v] : extra.items()) r[k] = v;
    r["oversubscribed"] = engines_ > cores();
    r["loadavg1"] = loadavg1();
    std::cout << r.dump() << std::endl;
  }

private:
  int engines_;
  std::string system_;
};

std::string short_what(const std::exception& e) {
  std::string s = e.what();
  if (s.size() > 300) s = s.substr(0, 300) + "...";
  return s;
}

// An empty list or null: what `echo` with no arguments may answer.
bool is_noop_result(const crew::Value& v) { return v.is_null() || (v.is_list() && v.size() == 0); }

struct Bench {
  const Options& opt;
  crew::Client& rc;
  const Emitter& out;
  std::chrono::milliseconds timeout;
  std::set<int> rank0_engines;  ///< engines that are their world's rank 0 (the bridge's process)

  // K submissions (`submit` makes one call; each call has `per_call` results), then rc.wait();
  // returns elapsed seconds. Checks every result's status and a sample of the values (like the
  // anchors: ~50 of them, with .get()).
  double run_tasks(const std::function<crew::AsyncResult()>& submit, std::size_t per_call, int calls,
                   json& extra) const {
    std::vector<crew::AsyncResult> ars;
    ars.reserve(static_cast<std::size_t>(calls));
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) ars.push_back(submit());
    const bool done = rc.wait(timeout);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!done) {
      std::size_t ready = 0;
      for (const auto& ar : ars) ready += ar.ready() ? 1 : 0;
      throw std::runtime_error("rc.wait(" + std::to_string(opt.timeout_s) +
                               " s) timed out: " + std::to_string(rc.outstanding()) + " results outstanding, " +
                               std::to_string(ready) + " of " + std::to_string(calls) + " calls complete");
    }
    // rc.wait() == true promises that nothing is owed any more, so every AsyncResult should be
    // ready now. Count the ones that are not (a client-side race), report them, then wait for them
    // (outside the timed interval) so the checks below see every result.
    std::size_t not_ready = 0, failed = 0;
    for (const auto& ar : ars) not_ready += ar.ready() ? 0 : 1;
    if (not_ready) {
      std::cerr << "crew-bench: warning: rc.wait() returned true but " << not_ready << " of " << calls
                << " AsyncResults were not ready yet" << std::endl;
      extra["not_ready_after_rc_wait"] = not_ready;
    }
    for (const auto& ar : ars) {
      if (!ar.wait(timeout)) throw std::runtime_error("a call never completed after rc.wait() returned true");
      if (!ar.successful()) ++failed;
    }
    if (failed)
      throw std::runtime_error(std::to_string(failed) + " of " + std::to_string(calls) +
                               " calls failed (first error: " + first_error(ars) + ")");
    const std::size_t step = std::max<std::size_t>(1, ars.size() / 50);
    std::string sample;
    for (std::size_t i = 0; i < ars.size(); i += step) {
      const crew::Value v = ars[i].get(timeout);
      const crew::Value one = per_call == 1 ? v : (v.is_list() && v.size() > 0 ? v[std::size_t{0}] : v);
      if (per_call > 1 && !(v.is_list() && v.size() == per_call))
        throw std::runtime_error("call " + std::to_string(i) + ": expected a list of " + std::to_string(per_call) +
                                 " results, got " + crew::to_json_text(v));
      if (!is_noop_result(one))
        throw std::runtime_error("call " + std::to_string(i) + ": echo() returned " + crew::to_json_text(v));
      sample = crew::to_json_text(one);
    }
    extra["echo_result"] = sample;
    return dt;
  }

  static std::string first_error(const std::vector<crew::AsyncResult>& ars) {
    for (const auto& ar : ars) {
      if (!ar.ready()) continue;
      for (std::size_t i = 0; i < ar.size(); ++i)
        if (auto e = ar.error(i)) return e->what();
    }
    return "none ready with an error";
  }

  void throughput(const std::string& name, const std::function<crew::AsyncResult()>& submit, int per_call,
                  int tasks) const {
    const int calls = std::max(1, tasks / per_call);
    if (opt.throughput_warmup > 0) {
      json ignore;
      try {
        run_tasks(submit, static_cast<std::size_t>(per_call), std::max(1, opt.throughput_warmup / per_call), ignore);
      } catch (const std::exception& e) {
        std::cerr << "crew-bench: " << name << " warm-up failed: " << e.what() << std::endl;
      }
    }
    for (int r = 0; r < opt.reps; ++r) {
      const int rep = opt.first_rep + r;
      json extra{{"rep", rep}, {"calls", calls}, {"tasks", calls * per_call}};
      try {
        const double dt = run_tasks(submit, static_cast<std::size_t>(per_call), calls, extra);
        extra["seconds"] = round_to(dt, 6);
        out.emit(name, static_cast<double>(calls) * per_call / dt, "tasks/s", extra);
      } catch (const std::exception& e) {
        std::cerr << "crew-bench: " << name << " rep " << rep << " failed: " << e.what() << std::endl;
        extra["error"] = short_what(e);
        out.emit(name, nullptr, "tasks/s", extra);
      }
    }
  }

  // M items through `map` (a function of the range), value = items / elapsed; checks the length
  // and the last element.
  void map_rate(const std::string& name, const std::function<crew::AsyncMap(const crew::Range&)>& map,
                int items) const {
    try {
      (void)map(crew::range(std::min(items, 3000))).get(timeout);  // warm-up
    } catch (const std::exception& e) {
      std::cerr << "crew-bench: " << name << " warm-up failed: " << e.what() << std::endl;
    }
    for (int r = 0; r < opt.reps; ++r) {
      const int rep = opt.first_rep + r;
      json extra{{"rep", rep}, {"items", items}};
      try {
        const auto t0 = Clock::now();
        const crew::AsyncMap m = map(crew::range(items));
        const crew::Value v = m.get(timeout);
        const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
        if (v.size() != static_cast<std::size_t>(items) &&
            !(v.is_array() && v.as_array().size() == static_cast<std::size_t>(items)))
          throw std::runtime_error("map returned " + std::to_string(v.is_array() ? v.as_array().size() : v.size()) +
                                   " items, not " + std::to_string(items));
        const auto xs = crew::from_value<std::vector<std::int64_t>>(v);
        if (xs.back() != items - 1) throw std::runtime_error("the last item came back as " + std::to_string(xs.back()));
        extra["seconds"] = round_to(dt, 6);
        extra["tasks"] = m.chunks();
        out.emit(name, items / dt, "items/s", extra);
      } catch (const std::exception& e) {
        std::cerr << "crew-bench: " << name << " rep " << rep << " failed: " << e.what() << std::endl;
        extra["error"] = short_what(e);
        out.emit(name, nullptr, "items/s", extra);
      }
    }
  }

  /// K no-ops alone (timed), then K no-ops with 2N sleeps of `sleep_s` behind them (timed to the
  /// last result): the second over the first plus two sleeps.
  void mixed(const std::string& name, const crew::LoadBalancedView& lb, int engines, double sleep_s) const {
    for (int r = 0; r < opt.reps; ++r) {
      const int rep = opt.first_rep + r;
      json extra{{"rep", rep}, {"tasks", opt.tasks}, {"sleeps", 2 * engines}, {"sleep_s", sleep_s}};
      try {
        json ignore;
        const double noops = run_tasks([&] { return lb.apply("echo"); }, 1, opt.tasks, ignore);
        std::vector<crew::AsyncResult> all;
        all.reserve(static_cast<std::size_t>(opt.tasks + 2 * engines));
        const auto t0 = Clock::now();
        for (int i = 0; i < opt.tasks; ++i) all.push_back(lb.apply("echo"));
        for (int i = 0; i < 2 * engines; ++i) all.push_back(lb.apply("sleep", sleep_s));
        for (auto& a : all) (void)a.get(timeout);
        const double makespan = std::chrono::duration<double>(Clock::now() - t0).count();
        const double ideal = noops + 2 * sleep_s;
        std::set<int> used;
        for (std::size_t i = static_cast<std::size_t>(opt.tasks); i < all.size(); ++i)
          used.insert(all[i].metadata().engine_id);
        extra["makespan_s"] = round_to(makespan, 3);
        extra["ideal_s"] = round_to(ideal, 3);
        extra["noops_s"] = round_to(noops, 3);
        extra["engines_with_sleeps"] = used.size();
        const crew::Value stats = rc.controller_stats();
        if (stats.contains("tasks_rebalanced")) extra["tasks_rebalanced"] = stats["tasks_rebalanced"].as_int();
        out.emit(name, makespan / ideal, "ratio", extra);
      } catch (const std::exception& e) {
        std::cerr << "crew-bench: " << name << " rep " << rep << " failed: " << e.what() << std::endl;
        extra["error"] = short_what(e);
        out.emit(name, nullptr, "ratio", extra);
      }
    }
  }

  /// 2N sleeps of `sleep_s` while the first engine is busy with a direct task 1.5 times as long.
  void skewed(const std::string& name, const crew::DirectView& first, const crew::LoadBalancedView& lb, int engines,
              double sleep_s) const {
    for (int r = 0; r < opt.reps; ++r) {
      const int rep = opt.first_rep + r;
      json extra{{"rep", rep}, {"sleeps", 2 * engines}, {"sleep_s", sleep_s}};
      try {
        const auto t0 = Clock::now();
        auto busy = first.apply("sleep", 1.5 * sleep_s);
        std::vector<crew::AsyncResult> all;
        for (int i = 0; i < 2 * engines; ++i) all.push_back(lb.apply("sleep", sleep_s));
        for (auto& a : all) (void)a.get(timeout);
        (void)busy.get(timeout);
        const double makespan = std::chrono::duration<double>(Clock::now() - t0).count();
        const double ideal = 3 * sleep_s;
        json where = json::array();  // engine, start and end (s from t0) of each sleep
        const auto since = [&](std::chrono::system_clock::time_point t) {
          return round_to(std::chrono::duration<double>(t - busy.metadata().started).count(), 2);
        };
        for (const auto& a : all)
          where.push_back({a.metadata().engine_id, since(a.metadata().started), since(a.metadata().completed)});
        extra["sleeps_run"] = where;
        extra["makespan_s"] = round_to(makespan, 3);
        extra["ideal_s"] = round_to(ideal, 3);
        out.emit(name, makespan / ideal, "ratio", extra);
      } catch (const std::exception& e) {
        std::cerr << "crew-bench: " << name << " rep " << rep << " failed: " << e.what() << std::endl;
        extra["error"] = short_what(e);
        out.emit(name, nullptr, "ratio", extra);
      }
    }
  }

  void latency(const std::string& name, const std::function<crew::AsyncResult()>& submit, const json& about,
               int calls) const {
    try {
      for (int i = 0; i < opt.warmups; ++i) submit().get(timeout);
    } catch (const std::exception& e) {
      std::cerr << "crew-bench: " << name << " warm-up failed: " << e.what() << std::endl;
    }
    std::vector<double> lat;
    lat.reserve(static_cast<std::size_t>(calls));
    // Where each call's time went, from its metadata (one host: one clock): out = client submit
    // to engine start, run = on the engine, back = engine end to the client having the reply;
    // and the whole call split by whether its engine is its world's rank 0 (no MPI hop) or not.
    struct Hops {
      std::vector<double> out, run, back, rank0, ranks;
    } hops;
    for (int r = 0; r < opt.reps; ++r) {
      const int rep = opt.first_rep + r;
      json extra{{"rep", rep}, {"calls", calls}};
      for (auto& [k, v] : about.items()) extra[k] = v;
      lat.clear();
      hops = {};
      try {
        const auto t_start = Clock::now();
        for (int i = 0; i < calls; ++i) {
          const auto t0 = Clock::now();
          const crew::AsyncResult ar = submit();
          const crew::Value v = ar.get(timeout);
          lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
          const crew::ResultMetadata m = ar.metadata(0);
          const auto us = [](auto d) { return std::chrono::duration<double, std::micro>(d).count(); };
          hops.out.push_back(us(m.started - m.submitted));
          hops.run.push_back(us(m.completed - m.started));
          hops.back.push_back(us(m.received - m.completed));
          (rank0_engines.contains(m.engine_id) ? hops.rank0 : hops.ranks).push_back(lat.back());
          if (i == 0 && !is_noop_result(v) && !(v.is_list() && v.size() > 0 && is_noop_result(v[std::size_t{0}])))
            throw std::runtime_error("echo() returned " + crew::to_json_text(v));
        }
        extra["seconds"] = round_to(std::chrono::duration<double>(Clock::now() - t_start).count(), 6);
        out.emit(name + "_median", median(lat), "us", extra);
        out.emit(name + "_p99", percentile(lat, 99), "us", extra);
        out.emit(name + "_out_median", median(hops.out), "us", extra);
        out.emit(name + "_run_median", median(hops.run), "us", extra);
        out.emit(name + "_back_median", median(hops.back), "us", extra);
        if (!hops.rank0.empty()) out.emit(name + "_rank0_median", median(hops.rank0), "us", extra);
        if (!hops.ranks.empty()) out.emit(name + "_other_ranks_median", median(hops.ranks), "us", extra);
      } catch (const std::exception& e) {
        std::cerr << "crew-bench: " << name << " rep " << rep << " failed after " << lat.size()
                  << " calls: " << e.what() << std::endl;
        extra["error"] = short_what(e);
        extra["completed_calls"] = lat.size();
        out.emit(name + "_median", nullptr, "us", extra);
        out.emit(name + "_p99", nullptr, "us", extra);
      }
    }
  }
};

/// VmRSS of process `pid`, in MiB.
double rss_of(std::int64_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  throw std::runtime_error("no VmRSS for controller pid " + std::to_string(pid) + " (another host?)");
}

/// The controller's resident memory (MiB), as the anchors' hub_rss_*: `phase` idle (before any
/// task) or after100k (after the other workloads, topped up with balanced no-ops until the
/// controller has had 100,000 tasks; nothing purged).
void memory(const Bench& b, const std::string& phase) {
  json extra{{"rep", b.opt.first_rep}};
  try {
    crew::Value stats = b.rc.controller_stats();
    if (phase == "after100k") {
      const auto lb = b.rc.load_balanced_view();
      while (stats["tasks_submitted"].as_int() < 100'000) {
        const int more = static_cast<int>(std::min<std::int64_t>(10'000, 100'000 - stats["tasks_submitted"].as_int()));
        for (int i = 0; i < more; ++i) (void)lb.apply("echo");
        if (!b.rc.wait(b.timeout)) throw std::runtime_error("top-up tasks did not complete");
        stats = b.rc.controller_stats();
      }
    }
    const auto pid = stats["pid"].as_int();
    const double rss_mib = rss_of(pid);
    extra["tasks_submitted"] = stats["tasks_submitted"].as_int();
    extra["tasks_stored"] = stats["tasks_stored"].as_int();
    b.out.emit("hub_rss_" + phase, rss_mib, "MiB", extra);
    if (phase == "after100k") {
      // What it holds (every record and reply, nothing purged) once a quiet heartbeat period let
      // it give back what the bursts left free: the least RSS seen within 5 periods.
      const auto period = std::chrono::milliseconds(stats["heartbeat_ms"].as_int());
      double least = rss_mib;
      for (auto end = std::chrono::steady_clock::now() + 5 * period; std::chrono::steady_clock::now() < end;) {
        std::this_thread::sleep_for(period / 10);
        least = std::min(least, rss_of(pid));
      }
      b.out.emit("hub_rss_after100k_quiet", least, "MiB", extra);
    }
  } catch (const std::exception& e) {
    extra["error"] = short_what(e);
    b.out.emit("hub_rss_" + phase, nullptr, "MiB", extra);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  try {
    crew::ClientOptions co;
    co.timeout = std::chrono::milliseconds(static_cast<long>(std::min(opt.timeout_s, 60.0) * 1000));
    crew::Client rc{opt.profile, co};
    std::vector<int> ids = opt.engines > 0 ? rc.wait_for_engines(opt.engines, std::chrono::seconds(60)) : rc.ids();
    if (ids.empty()) {
      std::cerr << "crew-bench: no alive engines in profile '" << opt.profile << "'" << std::endl;
      return 1;
    }
    const int n = static_cast<int>(ids.size());
    if (opt.engines > 0 && n != opt.engines)
      std::cerr << "crew-bench: warning: --engines " << opt.engines << " but the controller reports " << n
                << " alive engines; reporting engines=" << opt.engines << " and using all " << n << std::endl;
    const Emitter out(opt.engines > 0 ? opt.engines : n);
    Bench b{opt, rc, out, std::chrono::milliseconds(static_cast<long>(opt.timeout_s * 1000)), {}};
    for (const crew::EngineInfo& e : rc.engines())
      if (e.rank == 0) b.rank0_engines.insert(e.id);

    // Which engine is "last", and where it lives.
    const int last = ids.back();
    json about_first{{"engine", ids.front()}}, about_last{{"engine", last}};
    for (const auto& e : rc.engines()) {
      if (e.id == ids.front()) about_first.update(json{{"rank", e.rank}, {"world", e.world}});
      if (e.id == last) about_last.update(json{{"rank", e.rank}, {"world", e.world}, {"world_size", e.world_size}});
    }
    std::cerr << "crew-bench: profile '" << opt.profile << "', " << n << " engines, first " << about_first.dump()
              << ", last " << about_last.dump() << std::endl;

    const auto one = rc[ids.front()], all = rc.view(), last_one = rc[last];
    const auto bcast = rc.broadcast_view();
    const auto lb = rc.load_balanced_view();
    auto want = [&](const char* w) { return opt.workloads.count(w) != 0; };
    if (want("memory")) memory(b, "idle");
    // Order as in the anchors: throughput, latency, broadcast, map.
    if (want("lb_noop_throughput"))
      b.throughput(
          "lb_noop_throughput", [&] { return lb.apply("echo"); }, 1, opt.tasks);
    if (want("lb_noop_throughput_100k"))
      b.throughput(
          "lb_noop_throughput_100k", [&] { return lb.apply("echo"); }, 1, 100'000);
    if (want("lb_print_throughput") || want("lb_print_followed") || want("lb_noop_followed")) {
      const std::string line(40, 'x');
      auto print = [&] { return lb.apply("print", line); };
      if (want("lb_print_throughput")) b.throughput("lb_print_throughput", print, 1, opt.tasks);
      auto followed = [&](const std::string& name, const std::function<crew::AsyncResult()>& submit) {
        crew::OutputFeed feed = rc.subscribe_output();
        std::atomic<bool> stop{false};
        std::uint64_t events = 0, dropped = 0;
        std::thread reader([&] {
          while (!stop.load())
            if (auto e = feed.next(std::chrono::milliseconds(50))) {
              ++events;
              dropped += e->dropped_bytes;
            }
        });
        b.throughput(name, submit, 1, opt.tasks);
        stop = true;
        reader.join();
        std::cerr << "crew-bench: " << name << ": the follower read " << events << " events, " << dropped
                  << " bytes dropped" << std::endl;
      };
      if (want("lb_print_followed")) followed("lb_print_followed", print);
      if (want("lb_noop_followed")) followed("lb_noop_followed", [&] { return lb.apply("echo"); });
    }
    if (want("direct1_noop_throughput"))
      b.throughput(
          "direct1_noop_throughput", [&] { return one.apply("echo"); }, 1, opt.tasks);
    if (want("directall_noop_throughput"))
      b.throughput(
          "directall_noop_throughput", [&] { return all.apply("echo"); }, n, opt.tasks);
    if (want("latency_direct1"))
      b.latency(
          "latency_direct1", [&] { return one.apply("echo"); }, about_first, opt.latency_calls);
    if (want("latency_direct_lastrank"))
      b.latency(
          "latency_direct_lastrank", [&] { return last_one.apply("echo"); }, about_last, opt.latency_calls);
    if (want("latency_lb"))
      b.latency(
          "latency_lb", [&] { return lb.apply("echo"); }, json::object(), opt.latency_calls);
    if (want("broadcast_apply_sync"))
      b.latency(
          "broadcast_apply_sync", [&] { return bcast.apply("echo"); }, json::object(), 300);
    if (want("directall_apply_sync"))
      b.latency(
          "directall_apply_sync", [&] { return all.apply("echo"); }, json::object(), 300);
    if (want("map_lb_chunk_default"))
      b.map_rate(
          "map_lb_chunk_default", [&](const crew::Range& r) { return lb.map("echo", r); }, opt.map_items);
    if (want("map_lb_chunk1000"))
      b.map_rate(
          "map_lb_chunk1000", [&](const crew::Range& r) { return lb.map("echo", r, {.chunksize = 1000}); },
          opt.map_items);
    if (want("map_direct"))
      b.map_rate(
          "map_direct", [&](const crew::Range& r) { return all.map("echo", r); }, opt.map_items);
    if (want("lb_mixed_makespan")) b.mixed("lb_mixed_makespan", lb, n, 2.0);
    if (want("lb_skewed_makespan")) b.skewed("lb_skewed_makespan", one, lb, n, 2.0);
    if (want("memory")) memory(b, "after100k");
  } catch (const std::exception& e) {
    std::cerr << "crew-bench: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
