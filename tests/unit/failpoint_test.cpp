// Failpoints: parsing of INGRESSX_FAILPOINTS, which hit fires, and what each action does.
// (crash is _exit: exercised by the e2e fault matrix, not here.)
#include "ingressx/core/failpoint.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "ingressx/core/error.h"

using namespace ingressx;
using namespace std::chrono_literals;

#if INGRESSX_FAILPOINTS_ENABLED
TEST_CASE("failpoints: unarmed points do nothing; armed ones fire on the hits asked for",
          "[failpoint]") {
  failpoint::arm("");
  CHECK_NOTHROW(failpoint::hit("x.before"));
  failpoint::arm("x.before=error@2;y.after=error@2+;z=delay:20");
  CHECK_NOTHROW(failpoint::hit("x.before"));
  CHECK_THROWS_WITH(failpoint::hit("x.before"), Catch::Contains("failpoint x.before"));
  CHECK_NOTHROW(failpoint::hit("x.before"));
  CHECK_NOTHROW(failpoint::hit("y.after"));
  CHECK_THROWS_AS(failpoint::hit("y.after"), Error);
  CHECK_THROWS_AS(failpoint::hit("y.after"), Error);
  const auto t0 = std::chrono::steady_clock::now();
  failpoint::hit("z");
  CHECK(std::chrono::steady_clock::now() - t0 >= 20ms);
  failpoint::hit("other");
  const auto h = failpoint::history();
  REQUIRE(h.size() == 8);
  CHECK(h[0] == "x.before");
  CHECK(h[1] == "x.before!");
  CHECK(h[7] == "other");
  failpoint::arm("");
}
#endif

TEST_CASE("failpoints: a bad spec names the entry and the expected form", "[failpoint]") {
  for (const char* bad :
       {"x", "=error", "x=boom", "x=error@0", "x=error@", "x=delay:", "x=delay:1s"}) {
    INFO(bad);
    CHECK_THROWS_WITH(failpoint::arm(bad), Catch::Contains("INGRESSX_FAILPOINTS") &&
                                               Catch::Contains("NAME=crash|error|delay:MS"));
  }
  failpoint::arm("");
}
