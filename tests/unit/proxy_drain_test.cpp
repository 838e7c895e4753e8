#include <catch2/catch.hpp>

#include "counters.h"
#include "ingressx/core/error.h"
#include "ingressx/proxy/drain.h"

using namespace ingressx;
using namespace ingressx::proxy;
using namespace std::chrono_literals;

TEST_CASE("decide_drain: the drain timers") {
  DrainPolicy p{5s, 2s, 10s, 1, 200ms};
  Clock::TimePoint t0{};
  struct Case {
    Clock::Duration at;
    std::optional<int> active;
    DrainVerdict verdict;
    Clock::Duration wait;
  };
  const Case cases[] = {
      {0s, 50, DrainVerdict::kWait, 200ms},            // busy: poll
      {500ms, 0, DrainVerdict::kWait, 1500ms},         // drained early: wait for min drain
      {2s, 1, DrainVerdict::kDrained, 0s},             // at the threshold after min drain
      {3s, 2, DrainVerdict::kWait, 200ms},             // above it
      {9900ms, 2, DrainVerdict::kWait, 100ms},         // never sleep past the max drain
      {10s, 2, DrainVerdict::kMaxDrain, 0s},           // max drain
      {4s, std::nullopt, DrainVerdict::kWait, 200ms},  // count unknown: keep waiting
      {11s, std::nullopt, DrainVerdict::kMaxDrain, 0s},
  };
  for (const auto& c : cases) {
    INFO("at " << std::chrono::duration_cast<std::chrono::milliseconds>(c.at).count() << " ms");
    auto d = decide_drain(p, t0, t0 + c.at, c.active);
    CHECK(d.verdict == c.verdict);
    if (d.verdict == DrainVerdict::kWait) CHECK(d.wait == c.wait);
  }
}

TEST_CASE("decide_drain: min drain equal to max drain") {
  DrainPolicy p{0s, 3s, 3s, 0, 200ms};
  CHECK(decide_drain(p, {}, Clock::TimePoint{} + 1s, 0).wait == 2s);
  CHECK(decide_drain(p, {}, Clock::TimePoint{} + 3s, 0).verdict == DrainVerdict::kMaxDrain);
}

TEST_CASE("validate: inconsistent policies name the field") {
  CHECK_NOTHROW(validate(DrainPolicy{5s, 0s, 60s, 0, 200ms}));
  CHECK_THROWS_WITH(validate(DrainPolicy{5s, 10s, 5s, 0, 200ms}), Catch::Contains("maximum drain"));
  CHECK_THROWS_WITH(validate(DrainPolicy{-1s, 0s, 5s, 0, 200ms}),
                    Catch::Contains("propagation delay"));
  CHECK_THROWS_WITH(validate(DrainPolicy{0s, 0s, 5s, -1, 200ms}), Catch::Contains("drained-at"));
  CHECK_THROWS_WITH(validate(DrainPolicy{0s, 0s, 5s, 0, 0ms}), Catch::Contains("poll interval"));
}

TEST_CASE("parse_ports: lists and errors") {
  CHECK(hook::parse_ports({"80,443", "8080"}) == std::set<int>{80, 443, 8080});
  CHECK(hook::parse_ports({}).empty());
  CHECK_THROWS_WITH(hook::parse_ports({"80,http"}), Catch::Contains("got 'http'"));
  CHECK_THROWS_WITH(hook::parse_ports({"70000"}), Catch::Contains("1-65535"));
  CHECK_THROWS_WITH(hook::parse_ports({"80,,81"}), Catch::Contains("got ''"));
}
