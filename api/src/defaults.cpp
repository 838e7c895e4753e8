#include "ingressx/api/defaults.h"

namespace ingressx::api::defaults {

std::vector<Declared> declared() {
  using nlohmann::json;
  const std::string pf = "proxyfleets";
  auto port = [](const char* name, int n) {
    return json{{"name", name}, {"port", n}, {"targetPort", n}, {"protocol", kServiceProtocol}};
  };
  const json drain = {{"propagationDelay", kPropagationDelay},
                      {"minDrain", kMinDrain},
                      {"maxDrain", kMaxDrain},
                      {"drainedAt", kDrainedAt},
                      {"pollInterval", kPollInterval},
                      {"connectionSource", kConnectionSource}};
  const json ports = json::array({port("http", kServicePort), port("https", 443)});
  const std::string http = ".spec.strategy.analysis.http[].";
  return {
      {pf, ".spec.replicas", kReplicas},
      {pf, ".spec.workload", kWorkload},
      {pf, ".spec.service", {{"type", kServiceType}, {"ports", ports}}},
      {pf, ".spec.service.type", kServiceType},
      {pf, ".spec.service.ports", ports},
      {pf, ".spec.service.ports[].protocol", kServiceProtocol},
      {pf, ".spec.proxy.drain", drain},
      {pf, ".spec.proxy.drain.propagationDelay", kPropagationDelay},
      {pf, ".spec.proxy.drain.minDrain", kMinDrain},
      {pf, ".spec.proxy.drain.maxDrain", kMaxDrain},
      {pf, ".spec.proxy.drain.drainedAt", kDrainedAt},
      {pf, ".spec.proxy.drain.pollInterval", kPollInterval},
      {pf, ".spec.proxy.drain.connectionSource", kConnectionSource},
      {pf, ".spec.cutover.steps", json::array({{{"weight", kStepWeight}}})},
      {pf, ".spec.cutover.steps[].analysis", kStepAnalysis},
      {pf, ".spec.cutover.dns.rfc2136.ttl", kDnsTtl},
      {pf, ".spec.cutover.dns.rfc2136.tsigSecretRef.key", kTsigKey},
      {pf, ".spec.cutover.dns.rfc2136.algorithm", kTsigAlgorithm},
      {pf, ".spec.cutover.dns.externalDNS.ttl", kDnsTtl},
      {pf, ".spec.cutover.dns.externalDNS.annotationPrefix", kAnnotationPrefix},
      {pf, ".spec.strategy", json::object()},
      {pf, ".spec.strategy.type", kStrategyType},
      {pf, ".spec.strategy.promotion", kPromotion},
      {pf, ".spec.strategy.progressDeadline", kProgressDeadline},
      {pf, http + "scheme", kProbeScheme},
      {pf, http + "expectStatus", kProbeExpectStatus},
      {pf, http + "maxLatency", kProbeMaxLatency},
      {pf, http + "successRatio", kProbeSuccessRatio},
      {pf, http + "interval", kProbeInterval},
      {pf, http + "window", kProbeWindow},
      {pf, ".spec.revisionHistoryLimit", kRevisionHistoryLimit},
      {pf, ".spec.paused", kPaused},
      {pf, ".spec.abort", kAbort},
  };
}

}  // namespace ingressx::api::defaults
