// Each kind's HTTP metrics source (adapter.h, HttpCount): the hook reads it in the pod,
// the operator over the pod's IP.
#include <algorithm>

#include "adapter_util.h"
#include "ingressx/core/error.h"
#include "ingressx/proxy/metrics.h"

namespace ingressx::proxy {
namespace {

// "http://127.0.0.1:8081/nginx_status" with host 10.0.0.5 -> "http://10.0.0.5:8081/nginx_status"
std::string on_host(const std::string& url, const std::string& host) {
  if (host.empty()) return url;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto host_start = scheme_end + 3;
  auto host_end = url.find_first_of(":/", host_start);
  if (host_end == std::string::npos) host_end = url.size();
  return url.substr(0, host_start) + host + url.substr(host_end);
}

// The URL given, on the host given; else the kind's default port and path.
std::string url_for(const HttpCountSettings& s, int default_port, const std::string& path) {
  if (!s.admin_url.empty()) return on_host(s.admin_url, s.host);
  return "http://" + (s.host.empty() ? std::string("127.0.0.1") : s.host) + ":" +
         std::to_string(s.port > 0 ? s.port : default_port) + path;
}

// nginx counts the connection that reads its status among the active ones.
int minus_self(double active) {
  return std::max(0, static_cast<int>(active) - 1);
}

int prometheus_active(std::string_view body, const std::string& url, const char* metric,
                      bool with_state) {
  auto samples = parse_prometheus(body, url);
  auto sum = with_state ? sum_samples(samples, metric, {{"state", "active"}})
                        : sum_samples(samples, metric, {});
  if (!sum)
    throw Error(Error::Kind::kDecode, url + ": no " + std::string(metric) +
                                          (with_state ? "{state=\"active\"}" : "") + " sample");
  return minus_self(*sum);
}

int count_stub_status(std::string_view body, const std::string& url) {
  return minus_self(static_cast<double>(parse_stub_status(body, url).active));
}
int count_ingress_nginx(std::string_view body, const std::string& url) {
  return prometheus_active(body, url, "nginx_ingress_controller_nginx_process_connections", true);
}
int count_apisix(std::string_view body, const std::string& url) {
  return prometheus_active(body, url, "apisix_nginx_http_current_connections", true);
}
int count_haproxy(std::string_view body, const std::string& url) {
  return prometheus_active(body, url, "haproxy_process_current_connections", false);
}
int count_envoy(std::string_view body, const std::string& url) {
  return static_cast<int>(envoy_active_connections(parse_envoy_stats(body, url)));
}

}  // namespace

HttpCount stub_status_count(const HttpCountSettings& s) {
  if (s.admin_url.empty()) return {};  // stub_status has no standard location
  return {on_host(s.admin_url, s.host), count_stub_status};
}
HttpCount ingress_nginx_count(const HttpCountSettings& s) {
  return {url_for(s, 10254, "/metrics"), count_ingress_nginx};
}
HttpCount apisix_count(const HttpCountSettings& s) {
  return {url_for(s, 9091, "/apisix/prometheus/metrics"), count_apisix};
}
HttpCount haproxy_count(const HttpCountSettings& s) {
  // HAProxy's own count is on its stats socket, in the pod; over HTTP only when adminURL
  // names its Prometheus exporter.
  if (s.admin_url.empty()) return {};
  return {on_host(s.admin_url, s.host), count_haproxy};
}
HttpCount envoy_count(const HttpCountSettings& s) {
  std::string base = url_for(s, 9901, "");
  while (!base.empty() && base.back() == '/') base.pop_back();
  return {base + "/stats?filter=downstream_cx_active", count_envoy};
}
HttpCount no_http_count(const HttpCountSettings&) {
  return {};
}

}  // namespace ingressx::proxy
