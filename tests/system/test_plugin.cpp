// Functions the system tests call on engines, loaded with `crew cluster start --plugin`.
#include <fcntl.h>
#include <mpi.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <crew/engine.hpp>

namespace {

double mul(double a, double b) { return a * b; }

int fail(const std::string& why) { throw std::runtime_error(why); }

std::string shout(crew::Context& ctx, const std::string& text) {
  std::cout << "engine " << ctx.engine_id() << " says " << text << std::endl;
  std::cerr << "to stderr" << std::endl;
  return text;
}

/// A collective over the engines of the world: every rank contributes its rank.
long world_sum(crew::Context& ctx) {
  long mine = ctx.rank(), total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_LONG, MPI_SUM, ctx.comm());
  return total;
}

std::vector<double> scale(const std::vector<double>& xs, double factor) {
  std::vector<double> out(xs);
  for (auto& x : out) x *= factor;
  return out;
}

/// Appends to a list in the namespace: shows the order tasks ran in.
void record(crew::Context& ctx, long value) {
  crew::Value* seen = ctx.ns().find("seen");
  if (seen == nullptr) {
    ctx.ns().set("seen", crew::Value::List{});
    seen = ctx.ns().find("seen");
  }
  seen->as_list().push_back(value);
}

/// Where a task ran (load-balanced tests).
int whoami(crew::Context& ctx) { return ctx.engine_id(); }

/// Fails everywhere but on engine `id`: a task that succeeds only where it is retried to.
int fail_unless(crew::Context& ctx, int id) {
  if (ctx.engine_id() != id) throw std::runtime_error("not engine " + std::to_string(id));
  return id;
}

long square(long x) { return x * x; }

/// Holds its engine until the file `gate` exists (tests/support: Gate), for at most two minutes:
/// a task that is running, for exactly as long as a test needs it to, whatever the machine's load.
/// It says it has started by creating `gate`.held.
void hold(const std::string& gate) {
  std::ofstream(gate + ".held").flush();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!std::filesystem::exists(gate)) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the gate " + gate + " never opened");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

/// Marks that this task ran to its end: creates `dir`/<msg id>, or, if it exists (the task ran
/// before), `dir`/again-<msg id>-<pid>-<n>. The fault tests count executions by these files.
void mark(crew::Context& ctx, const std::string& dir) {
  const std::string first = dir + "/" + ctx.msg_id();
  const int fd = ::open(first.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  static std::atomic<int> again{0};
  std::ofstream(dir + "/again-" + ctx.msg_id() + "-" + std::to_string(::getpid()) + "-" + std::to_string(++again))
      .flush();
}

/// hold, then mark: a task that runs until the test lets it end, and leaves its mark only then.
/// `gate`.engine says where it holds (written before `gate`.held).
void hold_then_mark(crew::Context& ctx, const std::string& gate, const std::string& dir) {
  std::ofstream(gate + ".engine") << ctx.engine_id() << std::endl;
  hold(gate);
  mark(ctx, dir);
}

/// Live output: a line to stdout and one to stderr, then it holds at `gate`, then one more line.
/// A follower sees the first two while the task still runs.
std::string talk(crew::Context& ctx, const std::string& gate) {
  std::cout << "engine " << ctx.engine_id() << " before the gate" << std::endl;
  std::cerr << "engine " << ctx.engine_id() << " to stderr" << std::endl;
  hold(gate);
  std::cout << "engine " << ctx.engine_id() << " after the gate" << std::endl;
  return "talked";
}

/// Writes past std::cout: printf, write(2) on descriptor 2, and a child process (a shell's echo)
/// that inherits descriptor 1; then holds at `gate`, and printf's once more.
std::string by_descriptor(crew::Context& ctx, const std::string& gate) {
  std::printf("printf from engine %d\n", ctx.engine_id());
  const std::string err = "write(2) from engine " + std::to_string(ctx.engine_id()) + "\n";
  (void)!::write(2, err.data(), err.size());
  const std::string command = "echo child of engine " + std::to_string(ctx.engine_id());
  if (std::system(command.c_str()) != 0) throw std::runtime_error("the shell failed: " + command);
  std::cout << "cout from engine " << ctx.engine_id() << std::endl;
  hold(gate);
  std::printf("printf after the gate\n");
  return "written";
}

/// Writes `bytes` of output to stdout in 100-byte lines, as fast as it can: what reaches a reader
/// that reads nothing meanwhile, and what is dropped. Returns how many bytes it wrote.
long chatter(long bytes) {
  const std::string line(99, 'c');
  long written = 0;
  for (; written + 100 <= bytes; written += 100) std::cout << line << '\n';
  std::cout << std::flush;
  return written;
}

}  // namespace

CREW_FUNCTION(talk);
CREW_FUNCTION(chatter);
CREW_FUNCTION(by_descriptor);
CREW_FUNCTION(mark);
CREW_FUNCTION(hold_then_mark);
CREW_FUNCTION(whoami);
CREW_FUNCTION(fail_unless);
CREW_FUNCTION(square);
CREW_FUNCTION(hold);
CREW_FUNCTION(mul);
CREW_FUNCTION(fail);
CREW_FUNCTION(shout);
CREW_FUNCTION(world_sum);
CREW_FUNCTION(scale);
CREW_FUNCTION(record);
