// The executor's fault rules, each one a fault the rollout protocol must survive
// (docs/architecture.md, "The rollout protocol"): whole traffic moves, the cutover a rollout
// started with, a stuck worker seen by /healthz, a socket per failed connect, a drain
// setting the hook cannot use.
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "cutover/cutover_factory.h"
#include "cutover/tcp.h"
#include "ingressx/core/error.h"
#include "ingressx/operator/fleet_spec.h"
#include "ingressx/operator/runtime.h"
#include "reconciler/analysis.h"
#include "reconciler/fleet_objects.h"
#include "reconciler/pod_connections.h"
#include "reconciler/traffic_move.h"

using namespace ingressx;
using namespace ingressx::op;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

FleetObservation fleet_at(const std::string& address, bool deleting = false) {
  FleetObservation o;
  o.exists = true;
  o.deleting = deleting;
  o.address = address;
  return o;
}

int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

}  // namespace

TEST_CASE("a traffic move is whole or not at all", "[operator][faults]") {
  std::map<std::string, FleetObservation> fleets = {{"edge", fleet_at("10.96.0.10")},
                                                    {"edge-temp", fleet_at("")}};
  // The raising half has no address: nothing is sent (not the lowering half alone).
  const std::vector<TrafficEntry> split = {{"edge-temp", 50}, {"edge", 50}};
  try {
    traffic_targets("edge", split, fleets, 80);
    FAIL("a move to a fleet without an address was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("edge-temp") != std::string::npos);
    CHECK(std::string(e.what()).find("edge-temp=50 edge=50") != std::string::npos);
  }
  // A fleet being deleted has no address for the provider either.
  fleets["edge-temp"] = fleet_at("10.96.0.11", true);
  CHECK_THROWS_AS(traffic_targets("edge", split, fleets, 80), Error);
  // Weight 0 needs no address: a fleet that is gone is taken out.
  const auto out = traffic_targets("edge", {{"edge", 100}, {"edge-temp", 0}}, fleets, 8080);
  REQUIRE(out.size() == 2);
  CHECK(out[0].fleet == "edge");
  CHECK(out[0].role == "primary");
  CHECK(out[0].address == "10.96.0.10");
  CHECK(out[0].port == 8080);
  CHECK(out[1].role == "temp");
  CHECK(out[1].address.empty());
  CHECK(out[1].weight == 0);
}

TEST_CASE("a running rollout moves traffic with the cutover it started with",
          "[operator][faults]") {
  const json pf = {
      {"metadata", {{"name", "edge"}}},
      {"spec", {{"cutover", {{"type", "weight"}, {"weight", {{"provider", "haproxy"}}}}}}}};
  const json fr = {{"metadata", {{"name", "edge-r2"}}},
                   {"spec", {{"cutover", {{"type", "dns"}, {"dns", {{"provider", "rfc2136"}}}}}}}};
  CHECK(cutover_view(pf, &fr, true)["spec"]["cutover"]["type"] == "dns");
  // Without a running rollout, the live spec.
  CHECK(cutover_view(pf, &fr, false)["spec"]["cutover"]["type"] == "weight");
  CHECK(cutover_view(pf, nullptr, true)["spec"]["cutover"]["type"] == "weight");
  // A record without a copy (older records): the live spec.
  const json bare = {{"metadata", {{"name", "edge-r2"}}}, {"spec", json::object()}};
  CHECK(cutover_view(pf, &bare, true)["spec"]["cutover"]["type"] == "weight");
}

TEST_CASE("watchdog: a reconcile stuck past the limit makes /healthz fail", "[operator][faults]") {
  auto now = std::chrono::steady_clock::time_point{} + 1h;
  Watchdog w(5min, [&] { return now; });
  CHECK_FALSE(w.stuck());
  w.begin("ns/edge");
  now += 4min;
  CHECK_FALSE(w.stuck());
  now += 2min;
  auto why = w.stuck();
  REQUIRE(why);
  CHECK(why->find("ns/edge") != std::string::npos);
  CHECK(why->find("360 s") != std::string::npos);
  w.end();
  CHECK_FALSE(w.stuck());
}

TEST_CASE("a connect that times out leaks no socket", "[operator][faults]") {
  // A listener whose backlog is full: a further connect is never accepted and times out.
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(lfd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(lfd, 0) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const std::string port = std::to_string(ntohs(a.sin_port));
  // Fill the backlog (kept open until the end).
  std::vector<std::unique_ptr<TcpConn>> filler;
  for (int i = 0; i < 8; ++i) {
    try {
      filler.push_back(std::make_unique<TcpConn>(
          "127.0.0.1", port, std::chrono::steady_clock::now() + 200ms, "filler"));
    } catch (const Error&) {
    }
  }
  const int before = open_fds();
  int timeouts = 0;
  for (int i = 0; i < 20; ++i) {
    try {
      TcpConn c("127.0.0.1", port, std::chrono::steady_clock::now() + 50ms, "test");
    } catch (const Error& e) {
      if (std::string(e.what()).find("timed out") != std::string::npos) ++timeouts;
    }
  }
  REQUIRE(timeouts > 0);  // the case under test happened
  CHECK(open_fds() == before);
  close(lfd);
}

TEST_CASE("a drain setting the hook cannot use is refused with the field named",
          "[operator][faults]") {
  json pf = {{"metadata", {{"name", "edge"}, {"namespace", "ns"}}},
             {"spec", {{"proxy", {{"kind", "nginx"}, {"drain", {{"pollInterval", "0s"}}}}}}}};
  try {
    settings_from(pf);
    FAIL("pollInterval 0s accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("spec.proxy.drain.pollInterval") != std::string::npos);
  }
  pf["spec"]["proxy"]["drain"] = {{"minDrain", "20s"}, {"maxDrain", "10s"}};
  CHECK_THROWS_AS(settings_from(pf), Error);
  pf["spec"]["proxy"]["drain"] = {{"pollInterval", "100ms"}};
  CHECK_NOTHROW(settings_from(pf));
}
