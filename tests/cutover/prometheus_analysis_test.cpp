// The analysis gate's Prometheus queries against a real Prometheus (Debian package
// `prometheus`), started by the test on loopback, scraping itself every second. A query is
// alert-style: the gate fails while it returns a sample. Prometheus runs as a child in its
// own process group and is killed by its PID when the test ends, also when it fails.

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "child.h"
#include "ingressx/core/http.h"
#include "ingressx/core/kubeconfig.h"
#include "reconciler/analysis.h"

using namespace std::chrono_literals;
using hooktest::Child;
using ingressx::op::AnalysisObservation;
using ingressx::op::AnalysisRunner;
using ingressx::op::Millis;
using ingressx::op::ProbeSpec;
using nlohmann::json;

namespace {

std::vector<std::string> guarded(std::vector<std::string> argv) {
  std::string setpriv = INGRESSX_SETPRIV;
  if (!setpriv.empty()) argv.insert(argv.begin(), {setpriv, "--pdeathsig", "KILL"});
  return argv;
}

// One GET on loopback; the body, or "" when it fails.
std::string get(const std::string& url) {
  ingressx::RestConfig cfg;
  cfg.server = "http://127.0.0.1";
  auto http = ingressx::make_curl_transport(cfg);
  ingressx::HttpRequest req;
  req.url = url;
  req.timeout = 2s;
  try {
    auto resp = http->send(req);
    return resp.status == 200 ? resp.body : "";
  } catch (const std::exception&) {
    return "";
  }
}

struct Prometheus {
  std::string dir = hooktest::make_temp_dir("ingressx-prom-");
  int port = hooktest::free_port();
  std::unique_ptr<Child> child;

  Prometheus() {
    if (std::string(INGRESSX_PROMETHEUS).empty())
      throw std::runtime_error(
          "prometheus was not found when the build was configured: install the Debian package "
          "(scripts/setup.sh does) and configure again");
    try {
      const std::string target = "127.0.0.1:" + std::to_string(port);
      hooktest::write_text(dir + "/prometheus.yml",
                           "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                           "scrape_configs:\n  - job_name: self\n    static_configs:\n"
                           "      - targets: ['" +
                               target + "']\n");
      child = std::make_unique<Child>(
          guarded({INGRESSX_PROMETHEUS, "--config.file=" + dir + "/prometheus.yml",
                   "--storage.tsdb.path=" + dir + "/data", "--web.listen-address=" + target,
                   "--log.level=warn"}),
          dir + "/prometheus.out");
      // Ready, and the first scrape of itself is in: `up{job="self"}` has a sample.
      const auto deadline = std::chrono::steady_clock::now() + 60s;
      while (std::chrono::steady_clock::now() < deadline) {
        if (child->exited())
          throw std::runtime_error("prometheus exited at start: " + child->log());
        const json body = json::parse(
            get(url() + "/api/v1/query?query=up%7Bjob%3D%22self%22%7D%3D%3D1"), nullptr, false);
        if (!body.is_discarded() && body.value("status", "") == "success" &&
            !body["data"]["result"].empty())
          return;
        std::this_thread::sleep_for(200ms);
      }
      throw std::runtime_error("prometheus on " + target +
                               " has no sample of up{job=\"self\"} after 60 s: " + child->log());
    } catch (...) {
      teardown();
      throw;
    }
  }
  ~Prometheus() { teardown(); }
  Prometheus(const Prometheus&) = delete;
  Prometheus& operator=(const Prometheus&) = delete;
  void teardown() {
    child.reset();
    hooktest::remove_tree(dir);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

ProbeSpec query(const std::string& address, const std::string& name, const std::string& q) {
  ProbeSpec p;
  p.name = name;
  p.prom_address = address;
  p.prom_query = q;
  p.interval = Millis{300};
  p.window = Millis{2000};
  return p;
}

// Runs the gate until its window completes; the observation.
AnalysisObservation run_gate(const std::string& key, std::vector<ProbeSpec> probes) {
  AnalysisRunner runner;
  runner.ensure(key, "127.0.0.1", std::move(probes));
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto o = runner.result(key);
    if (o && o->window_complete) return *o;
    std::this_thread::sleep_for(100ms);
  }
  FAIL("the analysis window of " << key << " did not complete in 30 s");
  return {};
}

}  // namespace

TEST_CASE("prometheus gate: a query without samples passes, one with samples fails",
          "[analysis][prometheus]") {
  Prometheus prom;
  SECTION("quiet: up == 0 returns nothing while Prometheus scrapes itself") {
    auto o = run_gate("quiet", {query(prom.url(), "target-down", "up{job=\"self\"} == 0")});
    CHECK(o.passed);
    CHECK(o.probes >= 3);
    CHECK(o.successes == o.probes);
    CHECK(o.last_failure.empty());
  }
  SECTION("firing: up == 1 returns a sample, so the gate fails and says why") {
    auto o = run_gate("firing", {query(prom.url(), "target-up", "up{job=\"self\"} == 1")});
    CHECK_FALSE(o.passed);
    CHECK(o.probes >= 3);
    CHECK(o.successes == 0);
    CHECK_THAT(o.last_failure, Catch::Contains("target-up returned 1 sample") &&
                                   Catch::Contains("up{job=\"self\"} == 1"));
  }
  SECTION("one firing query among quiet ones fails the gate") {
    auto o = run_gate("mixed", {query(prom.url(), "quiet", "up{job=\"self\"} == 0"),
                                query(prom.url(), "firing", "vector(1)")});
    CHECK_FALSE(o.passed);
    CHECK_THAT(o.last_failure, Catch::Contains("firing returned"));
  }
  SECTION("a query Prometheus refuses fails the gate with its HTTP status") {
    auto o = run_gate("bad", {query(prom.url() + "/", "broken", "up{")});
    CHECK_FALSE(o.passed);
    CHECK_THAT(o.last_failure, Catch::Contains("answered HTTP 400"));
  }
}

TEST_CASE("prometheus gate: an unreachable Prometheus fails the gate, naming it",
          "[analysis][prometheus]") {
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(hooktest::free_port());
  auto o = run_gate("down", {query(nowhere, "target-down", "up == 0")});
  CHECK_FALSE(o.passed);
  CHECK(o.successes == 0);
  CHECK_THAT(o.last_failure, Catch::Contains("Prometheus query target-down"));
}

TEST_CASE("prometheus gate: the ProxyFleet's strategy.analysis.prometheus becomes queries",
          "[analysis][prometheus]") {
  const json pf = {{"metadata", {{"name", "edge"}, {"namespace", "ns"}}},
                   {"spec",
                    {{"strategy",
                      {{"analysis",
                        {{"prometheus",
                          {{"address", "http://prometheus.monitoring:9090"},
                           {"queries",
                            {{{"name", "5xx"}, {"query", "sum(rate(nginx_5xx[1m])) > 1"}},
                             {{"name", "latency"}, {"query", "p99 > 0.5"}}}}}}}}}}}}};
  const json svc = {{"spec", {{"ports", {{{"port", 80}}}}}}};
  auto probes = ingressx::op::probes_from(pf, svc);
  REQUIRE(probes.size() == 2);
  CHECK(probes[0].name == "5xx");
  CHECK(probes[0].prom_address == "http://prometheus.monitoring:9090");
  CHECK(probes[0].prom_query == "sum(rate(nginx_5xx[1m])) > 1");
  CHECK(probes[1].name == "latency");
}
