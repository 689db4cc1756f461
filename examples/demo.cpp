// The getting-started tour, in the spirit of IPython.parallel's first demo: connect to a running
// cluster, look at its engines, call a function on one engine and on all, let the engines of an
// MPI world cooperate, move data, run a shell command. Returns non-zero if a result is wrong.
//
//   crew cluster start -n 4 && crew-demo [profile] [plugin.so] && crew cluster stop
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <iostream>

#include <crew/crew.hpp>

int main(int argc, char** argv) try {
  const std::string profile = argc > 1 ? argv[1] : "default";
  const std::string plugin =
      argc > 2 ? argv[2]
               : (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "libcrew_demo_functions.so").string();

  crew::Client rc(profile);
  const std::vector<int> ids = rc.ids();
  std::cout << "engines: " << ids.size() << '\n';
  for (const auto& e : rc.engines())
    std::cout << "  engine " << e.id << ": host " << e.host << ", pid " << e.pid << ", MPI rank " << e.rank << " of "
              << e.world_size << '\n';

  auto all = rc.view();
  all.load_plugin(plugin).get();  // mul and estimate_pi, on every engine
  std::cout << "summary of engine 0: " << rc[0].apply("summary").get().repr() << '\n';

  const double one = rc[0].apply("mul", 5, 6).get_as<double>();
  const auto every = all.apply("mul", 5, 6).get_as<std::vector<double>>();
  std::cout << "mul(5, 6) on engine 0: " << one << "; on all " << every.size()
            << " engines: " << all.apply("mul", 5, 6).get().repr() << '\n';

  // One call on every engine; inside it, the engines of the world reduce over MPI.
  const double pi = all.apply("estimate_pi", 200000).get()[0].as_double();
  std::cout << "pi from " << ids.size() << " x 200000 darts (MPI_Allreduce among the engines): " << pi << '\n';

  all.push({{"a", std::vector<double>{1.5, 2.5, 3.5}}, {"x", 3.0}}).get();
  const auto a = rc[ids.back()].pull("a").get_as<std::vector<double>>();
  std::cout << "pulled a from engine " << ids.back() << ": [" << a[0] << ", " << a[1] << ", " << a[2] << "]\n";
  // crew::Ref("x") is resolved on the engine: the value that lives there is not sent again.
  const double x2 = rc[0].apply("mul", crew::Ref("x"), 2).get_as<double>();
  std::cout << "mul(Ref(\"x\"), 2) on engine 0: " << x2 << '\n';

  const crew::Value host = rc[0].exec("hostname").get();
  std::cout << "exec hostname on engine 0: " << host["stdout"].as_string();

  const bool ok = one == 30 && every.size() == ids.size() && std::abs(pi - 3.14159) < 0.05 && a.size() == 3 &&
                  a[2] == 3.5 && x2 == 6 && host["status"].as_int() == 0;
  std::cout << (ok ? "demo: all results correct" : "demo: WRONG RESULT") << std::endl;
  return ok ? 0 : 1;
} catch (const crew::Error& e) {
  std::cerr << "crew-demo: " << e.what() << std::endl;
  return 1;
}
