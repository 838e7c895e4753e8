// The operator's runtime pieces: the work queue (real threads, short real delays), the
// Prometheus metrics text and the probe/metrics HTTP server on 127.0.0.1.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "ingressx/core/error.h"
#include "ingressx/core/http.h"
#include "ingressx/core/kubeconfig.h"
#include "ingressx/operator/runtime.h"

using namespace ingressx;
using namespace ingressx::op;
using namespace std::chrono_literals;

namespace {

// get() on another thread, so that a test can bound how long it waits.
std::optional<std::string> get_within(WorkQueue& q, std::chrono::milliseconds limit) {
  auto f = std::async(std::launch::async, [&q] { return q.get(); });
  if (f.wait_for(limit) != std::future_status::ready) {
    q.shutdown();  // unblocks the getter so that the future's destructor returns
    f.wait();
    FAIL("get() did not return within " << limit.count() << " ms");
  }
  return f.get();
}

}  // namespace

TEST_CASE("work queue: adding a queued key is a no-op", "[operator][queue]") {
  WorkQueue q;
  q.add("ns/a");
  q.add("ns/b");
  q.add("ns/a");
  CHECK(q.depth() == 2);
  CHECK(q.get() == std::optional<std::string>("ns/a"));
  CHECK(q.get() == std::optional<std::string>("ns/b"));
  CHECK(q.depth() == 0);
  q.done("ns/a");
  q.done("ns/b");
  CHECK(q.depth() == 0);
}

TEST_CASE("work queue: a key added while processing is queued again after done",
          "[operator][queue]") {
  WorkQueue q;
  q.add("ns/a");
  REQUIRE(q.get() == std::optional<std::string>("ns/a"));
  q.add("ns/a");
  q.add("ns/a");
  CHECK(q.depth() == 0);  // not handed to a second worker while the first holds it
  q.add("ns/b");
  CHECK(q.get() == std::optional<std::string>("ns/b"));
  q.done("ns/b");
  CHECK(q.depth() == 0);
  q.done("ns/a");
  CHECK(q.depth() == 1);
  CHECK(get_within(q, 2000ms) == std::optional<std::string>("ns/a"));
  q.done("ns/a");
  CHECK(q.depth() == 0);
}

TEST_CASE("work queue: done without a re-add does not queue the key", "[operator][queue]") {
  WorkQueue q;
  q.add("ns/a");
  REQUIRE(q.get() == std::optional<std::string>("ns/a"));
  q.done("ns/a");
  q.done("ns/a");  // a second done is harmless
  CHECK(q.depth() == 0);
}

TEST_CASE("work queue: add_after delivers in due order and not before the delay",
          "[operator][queue]") {
  WorkQueue q;
  const auto t0 = std::chrono::steady_clock::now();
  q.add_after("ns/late", 50ms);
  q.add_after("ns/early", 20ms);
  CHECK(q.depth() == 0);
  auto first = get_within(q, 2000ms);
  const auto t1 = std::chrono::steady_clock::now();
  CHECK(first == std::optional<std::string>("ns/early"));
  CHECK(t1 - t0 >= 20ms);
  auto second = get_within(q, 2000ms);
  const auto t2 = std::chrono::steady_clock::now();
  CHECK(second == std::optional<std::string>("ns/late"));
  CHECK(t2 - t0 >= 50ms);
}

TEST_CASE("work queue: the earliest due time per key wins", "[operator][queue]") {
  WorkQueue q;
  const auto t0 = std::chrono::steady_clock::now();
  q.add_after("ns/a", 10s);
  q.add_after("ns/a", 30ms);  // earlier: replaces
  q.add_after("ns/a", 20s);   // later: ignored
  auto key = get_within(q, 2000ms);
  CHECK(key == std::optional<std::string>("ns/a"));
  CHECK(std::chrono::steady_clock::now() - t0 >= 30ms);
  q.done("ns/a");
  CHECK(q.depth() == 0);  // the later due times were not kept
}

TEST_CASE("work queue: add_after of a queued key does not duplicate it", "[operator][queue]") {
  WorkQueue q;
  q.add("ns/a");
  q.add_after("ns/a", 20ms);
  std::this_thread::sleep_for(40ms);
  CHECK(q.depth() == 1);
  CHECK(q.get() == std::optional<std::string>("ns/a"));
  q.done("ns/a");
  CHECK(q.depth() == 0);
}

TEST_CASE("work queue: a zero delay adds at once", "[operator][queue]") {
  WorkQueue q;
  q.add_after("ns/a", 0ms);
  CHECK(q.depth() == 1);
}

TEST_CASE("work queue: shutdown unblocks a waiting get", "[operator][queue]") {
  WorkQueue q;
  q.add_after("ns/a", 60s);
  std::atomic<bool> returned{false};
  std::optional<std::string> got = "unset";
  std::thread t([&] {
    got = q.get();
    returned = true;
  });
  std::this_thread::sleep_for(20ms);
  CHECK_FALSE(returned);
  q.shutdown();
  t.join();
  CHECK(returned);
  CHECK_FALSE(got.has_value());
  CHECK_FALSE(q.get().has_value());  // and every later get
  q.add("ns/b");                     // ignored after shutdown
  CHECK(q.depth() == 0);
}

TEST_CASE("work queue: concurrent workers never hold the same key", "[operator][queue]") {
  WorkQueue q;
  std::atomic<int> holding{0}, overlaps{0}, processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.get()) {
        if (holding.fetch_add(1) != 0) overlaps++;
        std::this_thread::sleep_for(1ms);
        holding.fetch_sub(1);
        processed++;
        q.done(*key);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    q.add("ns/same");
    if (i % 10 == 0) std::this_thread::sleep_for(1ms);
  }
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (q.depth() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(20ms);
  q.shutdown();
  for (auto& t : workers) t.join();
  CHECK(overlaps == 0);
  CHECK(processed >= 1);
  CHECK(processed <= 200);
}

TEST_CASE("metrics: controller-runtime's names and labels", "[operator][metrics]") {
  OperatorMetrics m;
  m.reconcile_done("proxyfleet", "success", 0.02);
  m.reconcile_done("proxyfleet", "error", 0.5);
  m.reconcile_done("proxyfleet", "error", 0.5);
  m.set_workqueue_depth("proxyfleet", 3);
  m.set_leader("ingressx-operator", true);
  m.set_api_requests(5);
  m.set_api_requests(12);
  const std::string text = m.serialize();
  CHECK_THAT(text, Catch::Contains("# TYPE controller_runtime_reconcile_total counter"));
  CHECK_THAT(text, Catch::Contains("controller_runtime_reconcile_total{controller=\"proxyfleet\","
                                   "result=\"success\"} 1"));
  CHECK_THAT(text, Catch::Contains("controller_runtime_reconcile_total{controller=\"proxyfleet\","
                                   "result=\"error\"} 2"));
  // Pre-initialised like controller-runtime's.
  CHECK_THAT(text, Catch::Contains("controller_runtime_reconcile_total{controller=\"proxyfleet\","
                                   "result=\"requeue_after\"} 0"));
  CHECK_THAT(text, Catch::Contains(
                       "controller_runtime_reconcile_errors_total{controller=\"proxyfleet\"} 2"));
  CHECK_THAT(text, Catch::Contains("# TYPE controller_runtime_reconcile_time_seconds histogram"));
  CHECK_THAT(text, Catch::Contains(
                       "controller_runtime_reconcile_time_seconds_count{controller=\"proxyfleet\"}"
                       " 3"));
  CHECK_THAT(text, Catch::Contains("workqueue_depth{name=\"proxyfleet\"} 3"));
  CHECK_THAT(text, Catch::Contains("leader_election_master_status{name=\"ingressx-operator\"} 1"));
  CHECK_THAT(text, Catch::Contains("ingressx_api_requests_total 12"));

  m.set_leader("ingressx-operator", false);
  CHECK_THAT(m.serialize(),
             Catch::Contains("leader_election_master_status{name=\"ingressx-operator\"} 0"));
}

TEST_CASE("metrics: fleet series", "[operator][metrics]") {
  OperatorMetrics m;
  m.set_traffic_weight("web", "edge", "edge-temp", 80);
  m.set_active_connections("web", "edge", "edge", 17);
  m.rollout_finished("web", "edge", "TempFleet", "Succeeded", 420);
  const std::string text = m.serialize();
  CHECK_THAT(text, Catch::Contains("ingressx_traffic_weight{fleet=\"edge\",namespace=\"web\","
                                   "target=\"edge-temp\"} 80"));
  CHECK_THAT(text,
             Catch::Contains("ingressx_fleet_active_connections{fleet=\"edge\",namespace=\"web\","
                             "target=\"edge\"} 17"));
  CHECK_THAT(text, Catch::Contains("# TYPE ingressx_rollout_duration_seconds histogram"));
  CHECK_THAT(text, Catch::Contains(
                       "ingressx_rollout_duration_seconds_count{fleet=\"edge\",namespace=\"web\","
                       "outcome=\"Succeeded\",strategy=\"TempFleet\"} 1"));
  CHECK_THAT(text, Catch::Contains(
                       "ingressx_rollout_duration_seconds_sum{fleet=\"edge\",namespace=\"web\","
                       "outcome=\"Succeeded\",strategy=\"TempFleet\"} 420"));
}

TEST_CASE("metrics: rollout_phase is 1 for the current phase and 0 for the others",
          "[operator][metrics]") {
  OperatorMetrics m;
  m.set_rollout_phase("web", "edge", "Progressing");
  auto series = [](const std::string& phase, int v) {
    return "ingressx_rollout_phase{fleet=\"edge\",namespace=\"web\",phase=\"" + phase + "\"} " +
           std::to_string(v) + "\n";
  };
  std::string text = m.serialize();
  CHECK_THAT(text, Catch::Contains(series("Progressing", 1)));
  CHECK_THAT(text, Catch::Contains(series("Ready", 0)));
  CHECK_THAT(text, Catch::Contains(series("Pending", 0)));
  CHECK_THAT(text, Catch::Contains(series("Paused", 0)));

  m.set_rollout_phase("web", "edge", "Ready");
  text = m.serialize();
  CHECK_THAT(text, Catch::Contains(series("Ready", 1)));
  CHECK_THAT(text, Catch::Contains(series("Progressing", 0)));

  // A phase this build does not know is exported too, and still only one is 1.
  m.set_rollout_phase("web", "edge", "Unknown");
  text = m.serialize();
  CHECK_THAT(text, Catch::Contains(series("Unknown", 1)));
  CHECK_THAT(text, Catch::Contains(series("Ready", 0)));
}

TEST_CASE("metrics: forget_fleet removes every series of the fleet only", "[operator][metrics]") {
  OperatorMetrics m;
  for (const char* fleet : {"edge", "other"}) {
    m.set_rollout_phase("web", fleet, "Ready");
    m.set_traffic_weight("web", fleet, fleet, 100);
    m.set_active_connections("web", fleet, fleet, 3);
    m.rollout_finished("web", fleet, "BlueGreen", "Failed", 60);
  }
  m.reconcile_done("proxyfleet", "success", 0.1);
  m.forget_fleet("web", "edge");
  const std::string text = m.serialize();
  CHECK_THAT(text, !Catch::Contains("fleet=\"edge\""));
  CHECK_THAT(text, Catch::Contains("ingressx_rollout_phase{fleet=\"other\",namespace=\"web\","
                                   "phase=\"Ready\"} 1"));
  CHECK_THAT(text, Catch::Contains("ingressx_traffic_weight{fleet=\"other\""));
  CHECK_THAT(text, Catch::Contains("ingressx_fleet_active_connections{fleet=\"other\""));
  CHECK_THAT(text, Catch::Contains("ingressx_rollout_duration_seconds_count{fleet=\"other\""));
  CHECK_THAT(text, Catch::Contains("controller_runtime_reconcile_total{controller=\"proxyfleet\""));

  // A forgotten fleet can come back.
  m.set_traffic_weight("web", "edge", "edge", 50);
  CHECK_THAT(m.serialize(),
             Catch::Contains("ingressx_traffic_weight{fleet=\"edge\",namespace=\"web\","
                             "target=\"edge\"} 50"));
  m.forget_fleet("nowhere", "nothing");  // unknown fleets are fine
}

namespace {

std::unique_ptr<HttpTransport> transport_for(int port) {
  RestConfig cfg;
  cfg.server = "http://127.0.0.1:" + std::to_string(port);
  return make_curl_transport(cfg);
}

HttpResponse http_get(HttpTransport& t, int port, const std::string& path) {
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + path;
  req.timeout = 5s;
  return t.send(req);
}

}  // namespace

TEST_CASE("http server: probes, metrics and 404 on loopback", "[operator][http]") {
  std::atomic<bool> ready{false};
  HttpServer::Handlers h;
  h.healthy = [] { return true; };
  h.not_ready = [&]() -> std::optional<std::string> {
    if (ready) return std::nullopt;
    return std::string("informers not synced");
  };
  h.metrics = [] { return std::string("# TYPE up gauge\nup 1\n"); };
  HttpServer server("127.0.0.1:0", h);
  REQUIRE(server.port() > 0);
  auto transport = transport_for(server.port());

  auto r = http_get(*transport, server.port(), "/healthz");
  CHECK(r.status == 200);
  CHECK(r.body == "ok");

  r = http_get(*transport, server.port(), "/readyz");
  CHECK(r.status == 503);
  CHECK_THAT(r.body, Catch::Contains("informers not synced"));
  ready = true;
  r = http_get(*transport, server.port(), "/readyz");
  CHECK(r.status == 200);

  r = http_get(*transport, server.port(), "/metrics");
  CHECK(r.status == 200);
  CHECK(r.body == "# TYPE up gauge\nup 1\n");
  CHECK_THAT(r.headers["content-type"], Catch::StartsWith("text/plain; version=0.0.4"));

  r = http_get(*transport, server.port(), "/nope");
  CHECK(r.status == 404);
  r = http_get(*transport, server.port(), "/healthz/extra");
  CHECK(r.status == 404);
}

TEST_CASE("http server: an unhealthy /healthz is 503 and /metrics serves OperatorMetrics",
          "[operator][http]") {
  OperatorMetrics m;
  m.set_workqueue_depth("proxyfleet", 7);
  HttpServer::Handlers h;
  h.healthy = [] { return false; };
  h.not_ready = [] { return std::nullopt; };
  h.metrics = [&m] { return m.serialize(); };
  HttpServer server("127.0.0.1:0", h);
  auto transport = transport_for(server.port());
  CHECK(http_get(*transport, server.port(), "/healthz").status == 503);
  auto r = http_get(*transport, server.port(), "/metrics");
  CHECK(r.status == 200);
  CHECK_THAT(r.body, Catch::Contains("workqueue_depth{name=\"proxyfleet\"} 7"));
}

TEST_CASE("http server: a port in use is an Error naming the address", "[operator][http]") {
  HttpServer::Handlers h;
  HttpServer first("127.0.0.1:0", h);
  const std::string addr = "127.0.0.1:" + std::to_string(first.port());
  try {
    HttpServer second(addr, h);
    FAIL("a second server listened on " << addr);
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains(addr));
  }
}

TEST_CASE("http server: a malformed address is an Error", "[operator][http]") {
  HttpServer::Handlers h;
  CHECK_THROWS_AS(HttpServer("127.0.0.1:http", h), Error);
  CHECK_THROWS_AS(HttpServer("127.0.0.1:70000", h), Error);
  CHECK_THROWS_AS(HttpServer("", h), Error);
}
