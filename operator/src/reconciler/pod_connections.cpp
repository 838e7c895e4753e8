// A proxy pod's active connections counted from outside it (pod_connections.h).
#include "reconciler/pod_connections.h"

#include <spdlog/spdlog.h>

#include "ingressx/core/http.h"
#include "ingressx/proxy/adapter.h"

namespace ingressx::op {

std::optional<int64_t> pod_connections(HttpTransport& http, const json& proxy_spec,
                                       const std::string& pod_ip) {
  if (pod_ip.empty()) return std::nullopt;
  try {
    // The proxy table's source for the kind, on the pod's IP: the same count the hook reads
    // inside the pod.
    const auto& info = proxy::adapter_info(proxy_spec.value("kind", "generic"));
    const auto src = info.http_count(
        {pod_ip, proxy_spec.value("adminURL", ""), proxy_spec.value("metricsPort", 0)});
    if (src.url.empty()) return std::nullopt;
    HttpRequest req;
    req.url = src.url;
    req.timeout = Millis{1500};
    auto resp = http.send(req);
    if (resp.status != 200) return std::nullopt;
    return src.count(resp.body, src.url);
  } catch (const std::exception& e) {
    spdlog::debug("counting connections of pod {}: {}", pod_ip, e.what());
  }
  return std::nullopt;
}

}  // namespace ingressx::op
