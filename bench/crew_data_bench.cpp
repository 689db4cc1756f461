// crew-data-bench: the data path against an ALREADY RUNNING crew cluster, as JSON lines in the
// anchors' format (/work/shared/bench/anchors/README.md §6-7), one line per measurement and rep:
//
//   scatter@8MB / @128MB / @512MB   view.scatter("a", float64 array of that many MiB), GB/s (1e9 B)
//   gather@...                      view.gather("a") back into the client, GB/s
//   scatter@512MB_again, gather@... the same once more (after del): into memory the processes hold
//   push_all                        view.push({"b": 128 MiB}), size x N / time (aggregate GB/s)
//   pull_one                        rc[0].pull("b") of 128 MiB, GB/s
//   reduce                          view.reduce("b", sum) of 128 MiB per engine, size x N / time
//   save_h5 / load_h5               the scattered 512 MiB array to one HDF5 file and back, GB/s
//   controller_rss_after            the controller's resident memory right after the run (MiB)
//   controller_rss_idle_after       ... once it has been idle long enough to give bulk memory back
//
// Usage: crew-data-bench --profile P [--reps R] [--first-rep r] [--sizes 8,128,512] [--h5-dir DIR]
//                        [--only scatter,h5,push] (scatter also gathers; push also pulls and reduces)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crew/crew.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double loadavg1() {
  std::ifstream in("/proc/loadavg");
  double v = 0;
  in >> v;
  return v;
}

void emit(const std::string& workload, int engines, double value, const std::string& unit, int rep,
          nlohmann::ordered_json extra = nlohmann::ordered_json::object()) {
  nlohmann::ordered_json j{{"system", std::string("crew-") + crew::version_string},
                           {"workload", workload},
                           {"engines", engines},
                           {"value", value},
                           {"unit", unit},
                           {"rep", rep}};
  for (auto& [k, v] : extra.items()) j[k] = v;
  j["oversubscribed"] = engines > static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  j["loadavg1"] = loadavg1();
  std::cout << j.dump() << std::endl;
}

template <class F>
double seconds(F&& f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double rss_mib(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string profile = "default", h5_dir = "/tmp";
  int reps = 3, first_rep = 0;
  std::vector<int> sizes{8, 128, 512};
  std::string only = "scatter,h5,push";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--profile")
      profile = v;
    else if (k == "--reps")
      reps = std::stoi(v);
    else if (k == "--first-rep")
      first_rep = std::stoi(v);
    else if (k == "--h5-dir")
      h5_dir = v;
    else if (k == "--only")
      only = v;
    else if (k == "--sizes") {
      sizes.clear();
      std::stringstream ss(v);
      for (std::string s; std::getline(ss, s, ',');) sizes.push_back(std::stoi(s));
    } else {
      std::cerr << "crew-data-bench: unknown option " << k << '\n';
      return 2;
    }
  }
  crew::Client rc(profile, crew::ClientOptions{std::chrono::milliseconds(600000)});
  const auto view = rc.view();
  const int n = static_cast<int>(view.targets().size());
  const auto timeout = std::chrono::milliseconds(600000);

  const auto wanted = [&](const std::string& part) {
    return ("," + only + ",").find("," + part + ",") != std::string::npos;
  };
  for (int rep = first_rep; rep < first_rep + reps; ++rep) {
    for (int mib : sizes) {
      if (!wanted("scatter")) break;
      const std::size_t count = (std::size_t(mib) << 20) / sizeof(double);
      std::vector<double> a(count);
      std::iota(a.begin(), a.end(), 0.0);
      const double bytes = static_cast<double>(count * sizeof(double));
      const crew::Value whole(crew::Array::from(std::move(a)));
      const std::string tag = "@" + std::to_string(mib) + "MB";
      const double ts = seconds([&] { view.scatter("a", whole).get(timeout); });
      emit("scatter" + tag, n, bytes / ts / 1e9, "GB/s", rep, {{"bytes", bytes}, {"seconds", ts}});
      crew::Value back;
      const double tg = seconds([&] { back = view.gather("a").get(timeout); });
      if (back.as_array().size() != count || back.as_array().at_double(count - 1) != double(count - 1))
        throw std::runtime_error("gather returned a wrong array");
      emit("gather" + tag, n, bytes / tg / 1e9, "GB/s", rep, {{"bytes", bytes}, {"seconds", tg}});
      if (mib == sizes.back()) {
        // The same again, into memory the processes now hold: the engines' parts and the
        // client's array are freed first, as a program doing this in a loop would.
        view.apply("del", "a").get(timeout);
        back = crew::Value();
        const double ts2 = seconds([&] { view.scatter("a", whole).get(timeout); });
        emit("scatter" + tag + "_again", n, bytes / ts2 / 1e9, "GB/s", rep, {{"bytes", bytes}, {"seconds", ts2}});
        const double tg2 = seconds([&] { back = view.gather("a").get(timeout); });
        if (back.as_array().size() != count || back.as_array().at_double(count - 1) != double(count - 1))
          throw std::runtime_error("gather returned a wrong array");
        emit("gather" + tag + "_again", n, bytes / tg2 / 1e9, "GB/s", rep, {{"bytes", bytes}, {"seconds", tg2}});
      }
      if (mib == sizes.back() && wanted("h5")) {
        const std::string file = h5_dir + "/crew-data-bench-" + std::to_string(::getpid()) + ".h5";
        const double tw = seconds([&] { view.save_h5(file, "a").get(timeout); });
        emit("save_h5" + tag, n, bytes / tw / 1e9, "GB/s", rep, {{"bytes", bytes}, {"seconds", tw}});
        const double tr = seconds([&] { view.load_h5(file, "/a", "a2").get(timeout); });
        emit("load_h5" + tag, n, bytes / tr / 1e9, "GB/s", rep, {{"bytes", bytes}, {"seconds", tr}});
        std::remove(file.c_str());
        view.apply("del", "a2").get(timeout);
      }
      view.apply("del", "a").get(timeout);
    }
    if (wanted("push")) {
      const std::size_t count = (std::size_t{128} << 20) / sizeof(double);
      std::vector<double> b(count, 1.5);
      const double bytes = static_cast<double>(count * sizeof(double));
      crew::Value::Dict d{{"b", crew::Value(crew::Array::from(std::move(b)))}};
      const double tp = seconds([&] { view.push(d).get(timeout); });
      emit("push_all", n, bytes * n / tp / 1e9, "GB/s", rep, {{"bytes", bytes}, {"seconds", tp}});
      crew::Value got;
      const double tl = seconds([&] { got = rc[0].pull("b").get(timeout); });
      if (got.as_array().size() != count) throw std::runtime_error("pull returned a wrong array");
      emit("pull_one", n, bytes / tl / 1e9, "GB/s", rep, {{"bytes", bytes}, {"seconds", tl}});
      crew::Value sum;
      const double tr = seconds([&] { sum = view.reduce("b", crew::op::sum).get(timeout); });
      if (sum.as_array().at_double(0) != 1.5 * n) throw std::runtime_error("reduce returned a wrong sum");
      emit("reduce", n, bytes * n / tr / 1e9, "GB/s", rep, {{"bytes", bytes}, {"seconds", tr}});
      view.apply("del", "b").get(timeout);
    }
  }
  const long pid = rc.controller_stats().contains("pid") ? rc.controller_stats()["pid"].as_int() : 0;
  if (pid > 0) {
    emit("controller_rss_after", n, rss_mib(pid), "MiB", first_rep);
    // Once idle for a heartbeat period, the controller gives the bulk memory it kept back to the
    // kernel: its resident memory then, watched for up to 10 s.
    const auto t0 = Clock::now();
    double rss = rss_mib(pid), low = rss;
    while (Clock::now() - t0 < std::chrono::seconds(10)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));  // sampling, not synchronisation
      rss = rss_mib(pid);
      if (rss < low * 0.98) {
        low = rss;
      } else if (Clock::now() - t0 > std::chrono::seconds(3)) {
        break;  // it stopped shrinking
      }
    }
    emit("controller_rss_idle_after", n, low, "MiB", first_rep,
         {{"watched_s", std::chrono::duration<double>(Clock::now() - t0).count()}});
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "crew-data-bench: " << e.what() << '\n';
  return 1;
}
