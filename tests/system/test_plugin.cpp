// Functions the system tests call on engines, loaded with `crew cluster start --plugin`.
#include <mpi.h>

#include <iostream>
#include <stdexcept>
#include <string>
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

}  // namespace

CREW_FUNCTION(mul);
CREW_FUNCTION(fail);
CREW_FUNCTION(shout);
CREW_FUNCTION(world_sum);
CREW_FUNCTION(scale);
CREW_FUNCTION(record);
