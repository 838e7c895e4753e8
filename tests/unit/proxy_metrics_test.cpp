#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "../support/samples.h"
#include "ingressx/core/error.h"
#include "ingressx/proxy/adapter.h"
#include "ingressx/proxy/local_io.h"
#include "ingressx/proxy/metrics.h"

using namespace ingressx;
using namespace ingressx::proxy;

namespace {

std::string sample(const std::string& name) {
  return testing::read_sample("proxy", name);
}

template <typename F>
void decode_error(F&& f, const std::string& what) {
  try {
    f();
    FAIL("no error; expected " << what);
  } catch (const Error& e) {
    CHECK(e.kind() == Error::Kind::kDecode);
    CHECK_THAT(e.what(), Catch::Contains(what));
  }
}

}  // namespace

TEST_CASE("stub_status: parses nginx's page") {
  auto s = parse_stub_status(sample("stub_status.txt"), "stub");
  CHECK(s.active == 4);
  CHECK(s.accepts == 4);
  CHECK(s.requests == 4);
  CHECK(s.writing == 4);
  CHECK(s.waiting == 0);
}

TEST_CASE("stub_status: malformed pages") {
  decode_error([] { parse_stub_status("", "http://x/nginx_status"); },
               "http://x/nginx_status line 0: expected 4 lines");
  decode_error([] { parse_stub_status("<html>404</html>\na\nb\nc\n", "s"); },
               "s line 1: expected 'Active connections: N'");
  decode_error(
      [] {
        parse_stub_status("Active connections: -3\nx\n1 2 3\nReading: 0 Writing: 1 Waiting: 0\n",
                          "s");
      },
      "count for Active connections");
  decode_error(
      [] {
        parse_stub_status("Active connections: 3\nx\n1 2\nReading: 0 Writing: 1 Waiting: 0\n", "s");
      },
      "line 3");
  decode_error(
      [] { parse_stub_status("Active connections: 3\nx\n1 2 3\nReading: 0 Writing: 1\n", "s"); },
      "line 4");
}

TEST_CASE("prometheus: ingress-nginx and APISIX active connections") {
  auto in = parse_prometheus(sample("ingress_nginx_metrics.txt"), "in");
  CHECK(sum_samples(in, "nginx_ingress_controller_nginx_process_connections",
                    {{"state", "active"}}) == 58);
  CHECK(sum_samples(in, "nginx_ingress_controller_nginx_process_connections") == 116);
  CHECK_FALSE(sum_samples(in, "nope").has_value());
  auto ap = parse_prometheus(sample("apisix_metrics.txt"), "ap");
  CHECK(sum_samples(ap, "apisix_nginx_http_current_connections", {{"state", "active"}}) == 13);
  auto inf =
      parse_prometheus("a_bucket{le=\"+Inf\"} 3 1700000000000\nb{x=\"q\\\"uote\"} +Inf\n", "t");
  REQUIRE(inf.size() == 2);
  CHECK(inf[0].labels.at("le") == "+Inf");
  CHECK(inf[1].labels.at("x") == "q\"uote");
}

TEST_CASE("prometheus: malformed exposition") {
  decode_error([] { parse_prometheus("ok 1\nx{state=\"active\" 3\n", "u"); },
               "u line 2: expected label=\"value\" at column 18");
  decode_error([] { parse_prometheus("x{state=active} 3\n", "u"); },
               "u line 1: expected label=\"value\"");
  decode_error([] { parse_prometheus("x 3 4 5\n", "u"); }, "u line 1: expected a value");
  decode_error([] { parse_prometheus("x abc\n", "u"); }, "expected a number for x");
  decode_error([] { parse_prometheus("{a=\"b\"} 1\n", "u"); }, "expected a metric name");
  decode_error([] { parse_prometheus("x{", "u"); }, "u line 1");
  decode_error([] { parse_prometheus("x{a=\"b", "u"); },
               "u line 1: unterminated label value for a");
}

TEST_CASE("haproxy: show info and show stat") {
  auto info = parse_haproxy_info(sample("haproxy_show_info.txt"), "info");
  CHECK(info.at("CurrConns") == "1");
  CHECK(info.at("Name") == "HAProxy");
  auto rows = parse_haproxy_stat(sample("haproxy_show_stat.csv"), "stat");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].at("pxname") == "fe");
  CHECK(haproxy_frontend_sessions(rows, {}, "stat") == 1);
  CHECK(haproxy_frontend_sessions(rows, {"fe"}, "stat") == 0);
}

TEST_CASE("haproxy: malformed output") {
  decode_error([] { parse_haproxy_info("Unknown command\n", "sock"); },
               "sock line 1: expected 'Name: value'");
  decode_error([] { parse_haproxy_info("", "sock"); }, "empty");
  decode_error([] { parse_haproxy_stat("pxname,svname\n", "sock"); },
               "sock line 1: expected the CSV header");
  decode_error([] { parse_haproxy_stat("# pxname,svname,scur,\nfe,FRONTEND\n", "sock"); },
               "sock line 2: expected 4 CSV fields, got 2");
  auto rows = parse_haproxy_stat("# pxname,svname,scur,\nfe,FRONTEND,lots,\n", "sock");
  decode_error([&] { haproxy_frontend_sessions(rows, {}, "sock"); },
               "frontend fe: expected a count in scur");
  auto no_scur = parse_haproxy_stat("# pxname,svname,\nfe,FRONTEND,\n", "sock");
  decode_error([&] { haproxy_frontend_sessions(no_scur, {}, "sock"); },
               "missing pxname, svname or scur");
}

TEST_CASE("envoy: listener connections without admin and per-worker duplicates") {
  auto stats = parse_envoy_stats(sample("envoy_stats_active.txt"), "stats");
  CHECK(stats.at("listener.0.0.0.0_10000.downstream_cx_active") == 5);
  CHECK(stats.count("cluster.service_backend.upstream_cx_length_ms") == 0);  // histogram
  CHECK(envoy_active_connections(stats) == 7);
  CHECK(envoy_active_connections(parse_envoy_stats(sample("envoy_stats_drained.txt"), "d")) == 0);
  decode_error([] { parse_envoy_stats("listener.x.downstream_cx_active: many\n", "e"); },
               "e line 1: expected an integer value");
  decode_error([] { parse_envoy_stats("<html>\n", "e"); }, "e line 1: expected 'name: value'");
}

TEST_CASE("local http: URLs and chunked bodies") {
  auto u = parse_http_url("http://[::1]:9901/stats?x=1");
  CHECK(u.host == "::1");
  CHECK(u.port == 9901);
  CHECK(u.path == "/stats?x=1");
  CHECK(parse_http_url("http://localhost").host == "127.0.0.1");
  CHECK_THROWS_AS(parse_http_url("https://x/"), Error);
  CHECK_THROWS_WITH(parse_http_url("http://1.2.3.4:99999/"), Catch::Contains("bad port"));
  CHECK(decode_chunked("3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", "c") == "abcde");
  decode_error([] { decode_chunked("zz\r\nabc\r\n", "c"); }, "bad chunk size");
  decode_error([] { decode_chunked("9\r\nabc\r\n", "c"); }, "truncated chunk");
  CHECK_THROWS_AS(http_request("GET", "http://example.com/"), Error);  // no DNS in the hook
}

// The proxy table's one HTTP source per kind: the URL the hook reads in the pod and the
// operator over the pod's IP, and the count both take from the same answer.
TEST_CASE("http_count: one source per kind, in the pod and from outside") {
  auto count = [](std::string_view kind, const HttpCountSettings& s) {
    return adapter_info(kind).http_count(s);
  };
  for (const auto& a : adapters()) {
    INFO(a.kind);
    REQUIRE(a.http_count != nullptr);
  }
  // nginx and OpenResty: stub_status only where adminURL says; on the pod's IP from outside.
  CHECK(count("nginx", {}).url.empty());
  auto n = count("nginx", {"10.0.0.5", "http://127.0.0.1:8081/nginx_status", 0});
  CHECK(n.url == "http://10.0.0.5:8081/nginx_status");
  CHECK(count("openresty", {"", "http://localhost:8081/s", 0}).url == "http://localhost:8081/s");
  CHECK(n.count(sample("stub_status.txt"), n.url) ==
        static_cast<int>(parse_stub_status(sample("stub_status.txt"), "s").active) - 1);
  // ingress-nginx and APISIX: their metrics port (default or metricsPort); the reading
  // connection is not counted, in the pod or from outside.
  auto in = count("ingress-nginx", {"10.0.0.5", "", 0});
  CHECK(in.url == "http://10.0.0.5:10254/metrics");
  CHECK(count("ingress-nginx", {"", "", 0}).url == "http://127.0.0.1:10254/metrics");
  CHECK(count("ingress-nginx", {"10.0.0.5", "", 9999}).url == "http://10.0.0.5:9999/metrics");
  CHECK(in.count(sample("ingress_nginx_metrics.txt"), in.url) == 57);
  auto ap = count("apisix", {"10.0.0.6", "", 0});
  CHECK(ap.url == "http://10.0.0.6:9091/apisix/prometheus/metrics");
  CHECK(ap.count(sample("apisix_metrics.txt"), ap.url) == 12);
  decode_error([&] { in.count("other_metric 1\n", in.url); },
               "no nginx_ingress_controller_nginx_process_connections{state=\"active\"} sample");
  // Envoy: its admin listener's /stats.
  auto en = count("envoy", {"10.0.0.7", "", 0});
  CHECK(en.url == "http://10.0.0.7:9901/stats?filter=downstream_cx_active");
  CHECK(count("envoy", {"10.0.0.7", "http://127.0.0.1:15000/", 0}).url ==
        "http://10.0.0.7:15000/stats?filter=downstream_cx_active");
  CHECK(en.count(sample("envoy_stats_active.txt"), en.url) == 7);
  // HAProxy counts on its stats socket in the pod; over HTTP only through adminURL (its
  // Prometheus exporter). generic: none.
  CHECK(count("haproxy", {"10.0.0.8", "", 0}).url.empty());
  auto hp = count("haproxy", {"10.0.0.8", "http://127.0.0.1:8405/metrics", 0});
  CHECK(hp.url == "http://10.0.0.8:8405/metrics");
  CHECK(hp.count("# TYPE haproxy_process_current_connections gauge\n"
                 "haproxy_process_current_connections 4\n",
                 hp.url) == 3);
  CHECK(count("generic", {"10.0.0.9", "http://x/", 80}).url.empty());
}
