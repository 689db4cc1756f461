// The collectives (engine/collectives.hpp) at 1, 2 and 3 ranks, without a controller: scatter,
// gather, push, reduce, save_h5 and load_h5 as every rank of a world runs them, on views of all
// engines and of some. A case that leaves a rank waiting in a collective hangs the run, which
// ctest's timeout turns into a failure.
#include <doctest/doctest.h>
#include <mpi.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "mpi_world.hpp"

using namespace crew;
using namespace crew::testing;

namespace {

/// The rows engine `index` of `parts` holds after a scatter of `rows` rows (the first parts take
/// one extra row each).
std::uint64_t rows_of_part(std::uint64_t rows, int parts, int index) {
  const auto n = static_cast<std::uint64_t>(parts);
  return rows / n + (static_cast<std::uint64_t>(index) < rows % n ? 1 : 0);
}

/// The error code of a reply (none if it succeeded), or none where this rank sent nothing.
errc code_of(const std::optional<wire::Packet>& reply) { return reply ? reply->header.error.code : errc::none; }

/// Why a reply failed ("" if it succeeded or this rank sent nothing): what a failed check shows.
std::string failure_of(const std::optional<wire::Packet>& reply) {
  if (!reply || !reply->header.error.failed()) return {};
  return "[" + std::to_string(static_cast<int>(reply->header.error.code)) + "] " + reply->header.error.message;
}

/// A temporary file name, the same on every rank (rank 0 picks it).
std::string shared_temp_path(const char* stem) {
  std::string path;
  if (mpi_rank() == 0)
    path = (std::filesystem::temp_directory_path() / (std::string(stem) + "-" + std::to_string(::getpid()) + ".h5"))
               .string();
  int length = static_cast<int>(path.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  path.resize(static_cast<std::size_t>(length));
  MPI_Bcast(path.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  return path;
}

}  // namespace

TEST_SUITE("mpi.collectives") {

  TEST_CASE("scatter gives each engine its rows in engine order, and gather joins them back") {
    const int n = mpi_size(), rank = mpi_rank();
    CAPTURE(rank);
    const Value data = rows_array(7);
    const auto scattered = run_on_world("crew.scatter", {Value("x"), data}, all_engines());
    REQUIRE(scattered);  // every engine is a target: each answers for itself
    CHECK(failure_of(scattered) == "");
    const Value* part = rank_engine().ns().find("x");
    REQUIRE(part != nullptr);
    REQUIRE(part->is_array());
    std::uint64_t first_row = 0;
    for (int r = 0; r < rank; ++r) first_row += rows_of_part(7, n, r);
    CHECK(part->as_array().shape() == std::vector<std::uint64_t>{rows_of_part(7, n, rank), 2});
    if (rows_of_part(7, n, rank) > 0) CHECK(part->as_array().at_int(0) == static_cast<std::int64_t>(2 * first_row));

    const auto gathered = run_on_world("crew.gather", {Value("x")}, all_engines());
    if (rank == 0) {  // gather answers once per world, from its root
      REQUIRE(gathered);
      CHECK(failure_of(gathered) == "");
      CHECK(gathered->body() == data);
    } else {
      CHECK_FALSE(gathered);
    }
  }

  TEST_CASE("push gives every target the same values") {
    const Value params = Value::dict({{"dt", 0.1}, {"name", "run1"}});
    const auto pushed = run_on_world("crew.push", {Value::dict({{"params", params}})}, all_engines());
    CHECK(failure_of(pushed) == "");
    const Value* got = rank_engine().ns().find("params");
    REQUIRE(got != nullptr);
    CHECK(*got == params);
  }

  TEST_CASE("reduce combines each engine's array element by element") {
    const int n = mpi_size(), rank = mpi_rank();
    rank_engine().ns().set("y", Value(Array::from(std::vector<double>{1.0 * rank, 10.0 * rank, 1.0})));
    for (const char* op : {"sum", "max", "min", "prod"}) {
      CAPTURE(op);
      const auto reduced = run_on_world("crew.reduce", {Value("y"), Value(op)}, all_engines());
      if (rank != 0) {
        CHECK_FALSE(reduced);
        continue;
      }
      REQUIRE(reduced);
      REQUIRE(failure_of(reduced) == "");
      const Value r = reduced->body();
      REQUIRE(r.is_array());
      const auto v = r.as_array().view<double>();
      const double ranks_sum = n * (n - 1) / 2.0;
      if (std::string(op) == "sum") CHECK((v[0] == ranks_sum && v[1] == 10 * ranks_sum && v[2] == n));
      if (std::string(op) == "max") CHECK((v[0] == n - 1 && v[1] == 10.0 * (n - 1) && v[2] == 1.0));
      if (std::string(op) == "min") CHECK((v[0] == 0.0 && v[1] == 0.0 && v[2] == 1.0));
      if (std::string(op) == "prod") CHECK((v[0] == 0.0 && v[1] == 0.0 && v[2] == 1.0));  // rank 0 brings the zeros
    }
  }

  TEST_CASE("save_h5 writes each engine's rows into one dataset, and load_h5 reads them back split alike") {
    const int rank = mpi_rank();
    const std::string file = shared_temp_path("crew-mpi-test");
    // The arguments as the controller completes them for one world (controller/collective_plan.cpp):
    // save_h5 creates the file (one world of one), load_h5 reads for engines 0.. of all K.
    const Value data = rows_array(11);
    REQUIRE(failure_of(run_on_world("crew.scatter", {Value("z"), data}, all_engines())) == "");
    CHECK(failure_of(run_on_world("crew.save_h5", {Value(file), Value("z"), Value("/z"), Value(true), Value(1)},
                                  all_engines())) == "");
    if (rank == 0) CHECK(std::filesystem::exists(file));
    CHECK(
        failure_of(run_on_world("crew.load_h5", {Value(file), Value("/z"), Value("back"), Value(0), Value(mpi_size())},
                                all_engines())) == "");
    const Value* mine = rank_engine().ns().find("z");
    const Value* back = rank_engine().ns().find("back");
    REQUIRE(mine != nullptr);
    REQUIRE(back != nullptr);
    CHECK(*back == *mine);
    const auto gathered = run_on_world("crew.gather", {Value("back")}, all_engines());
    if (rank == 0) {
      REQUIRE(gathered);
      CHECK(gathered->body() == data);
      std::filesystem::remove(file);
    }
  }

  TEST_CASE("a view of some engines: only they hold parts, and the others are not involved") {
    // Engines 0 and K-1 (at K = 3, engine 1 sits out; at K = 1 the view is the world).
    const int n = mpi_size(), rank = mpi_rank();
    const std::vector<int> view = n == 1 ? std::vector<int>{0} : std::vector<int>{0, n - 1};
    rank_engine().ns().erase("v");
    const Value data = rows_array(5);
    const auto scattered = run_on_world("crew.scatter", {Value("v"), data}, view);
    const bool in_view = rank == 0 || rank == n - 1;
    CHECK(bool(scattered) == in_view);
    CHECK(rank_engine().ns().contains("v") == in_view);
    if (in_view) {
      const int index = rank == 0 ? 0 : 1;
      CHECK(rank_engine().ns().get("v").as_array().shape()[0] == rows_of_part(5, static_cast<int>(view.size()), index));
    }
    const auto gathered = run_on_world("crew.gather", {Value("v")}, view);
    if (rank == 0) {
      REQUIRE(gathered);
      CHECK(gathered->body() == data);
    }
  }

  TEST_CASE("a name missing on one engine fails the gather on every target, and no rank is left waiting") {
    const int n = mpi_size(), rank = mpi_rank();
    REQUIRE(failure_of(run_on_world("crew.scatter", {Value("w"), rows_array(6)}, all_engines())) == "");
    if (rank == n - 1) rank_engine().ns().erase("w");
    const auto gathered = run_on_world("crew.gather", {Value("w")}, all_engines());
    if (rank == 0) {
      REQUIRE(gathered);
      CHECK(code_of(gathered) != errc::none);
      CHECK(gathered->header.error.message.find("w") != std::string::npos);
    }
    // Every rank is free again: the next collective runs.
    CHECK(failure_of(run_on_world("crew.push", {Value::dict({{"after", 1}})}, all_engines())) == "");
  }

  TEST_CASE("gather of parts of another dtype, trailing shape or kind than the first names the odd engines") {
    // The last rank's part differs from the others' in one way per case; with one rank there is
    // nothing to differ from, and the gather succeeds.
    const int n = mpi_size(), rank = mpi_rank();
    const std::vector<std::pair<std::string, Value>> odd_parts{
        {"dtype", Value(Array::from(std::vector<float>{1, 2}))},
        {"trailing shape", Value(Array::from(std::vector<double>{1, 2, 3, 4}, {2, 2}))},
        {"kind", Value::list({1.0, 2.0})},
    };
    for (const auto& [what, odd] : odd_parts) {
      CAPTURE(what);
      rank_engine().ns().set("g", rank == n - 1 && n > 1 ? odd : Value(Array::from(std::vector<double>{1, 2})));
      const auto gathered = run_on_world("crew.gather", {Value("g")}, all_engines());
      if (rank != 0) continue;
      REQUIRE(gathered);
      if (n == 1) {
        CHECK(failure_of(gathered) == "");
        continue;
      }
      CHECK(code_of(gathered) == errc::mismatch);
      CHECK(gathered->header.error.message.find("on engine " + std::to_string(n - 1) + " than on the first") !=
            std::string::npos);
    }
    // Parts alike (lists beside lists) join, and every rank is free again.
    rank_engine().ns().set("g", Value::list({rank}));
    const auto joined = run_on_world("crew.gather", {Value("g")}, all_engines());
    if (rank == 0) {
      REQUIRE(joined);
      CHECK(failure_of(joined) == "");
      CHECK(joined->body().size() == static_cast<std::size_t>(n));
    }
  }

  TEST_CASE("reduce of parts of different lengths says the shapes, on every rank's behalf") {
    const int rank = mpi_rank();
    rank_engine().ns().set("u", Value(Array::from(std::vector<double>(static_cast<std::size_t>(rank + 1), 1.0))));
    const auto reduced = run_on_world("crew.reduce", {Value("u"), Value("sum")}, all_engines());
    if (rank != 0) return;
    REQUIRE(reduced);
    if (mpi_size() == 1) {
      CHECK(failure_of(reduced) == "");
    } else {
      CHECK(code_of(reduced) != errc::none);
      CHECK(reduced->header.error.message.find("[1]") != std::string::npos);
      CHECK(reduced->header.error.message.find("[2]") != std::string::npos);
    }
  }
}
