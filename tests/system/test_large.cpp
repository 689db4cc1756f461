// A scatter / gather round trip larger than 2 GiB, with more than 2^31 elements: every hop's
// chunking (ZeroMQ frames, MPI pieces of at most 1 GiB) and 64-bit counts, end to end.
#include <doctest/doctest.h>

#include <cstring>

#include "crew/crew.hpp"
#include "test_support.hpp"

using namespace crew;
using namespace crew::testing;

TEST_CASE("a 2.25 GiB uint8 array (2.4e9 elements) scatters and gathers back intact") {
  Cluster cluster(2, "large", {"--heartbeat-ms", "1000"});
  Client rc = cluster.client(60s);
  const std::size_t n = (std::size_t{9} << 30) / 4;  // 2.25 GiB
  std::vector<std::uint8_t> xs(n);
  for (std::size_t i = 0; i < n; ++i) xs[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 24);
  const Value whole(Array::from(std::move(xs)));
  const auto view = rc.view();
  view.scatter("big", whole).get(600s);
  const auto sizes = view.apply("echo", Ref("big")).get_dict(600s);  // each engine's part, back once more
  CHECK(sizes.at(0).as_array().size() == n / 2);
  CHECK(sizes.at(1).as_array().size() == n - n / 2);
  const Value back = view.gather("big").get(600s);
  REQUIRE(back.as_array().size() == n);
  CHECK(std::memcmp(back.as_array().data().data(), whole.as_array().data().data(), n) == 0);
  cluster.stop();
}
