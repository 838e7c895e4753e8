#pragma once
// The defaults of the ProxyFleet's fields: the one place the code takes them from. The
// CRDs declare the same values (the apiserver fills them in); tests/unit/api_defaults_test.cpp
// checks that every default of crds/ is here with the same value, and the reverse.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ingressx::api::defaults {

// spec
inline constexpr int kReplicas = 2;
inline constexpr const char* kWorkload = "Deployment";
inline constexpr int kRevisionHistoryLimit = 10;
inline constexpr bool kPaused = false;
inline constexpr bool kAbort = false;
// spec.service
inline constexpr const char* kServiceType = "ClusterIP";
inline constexpr const char* kServiceProtocol = "TCP";
inline constexpr int kServicePort = 80;  // the first port when spec.service.ports is empty
// spec.proxy.drain
inline constexpr const char* kPropagationDelay = "5s";
inline constexpr const char* kMinDrain = "10s";
inline constexpr const char* kMaxDrain = "300s";
inline constexpr const char* kPollInterval = "200ms";
inline constexpr int kDrainedAt = 0;
inline constexpr const char* kConnectionSource = "auto";
// spec.cutover
inline constexpr int kStepWeight = 100;      // the one step when spec.cutover.steps is empty
inline constexpr bool kStepAnalysis = true;  // steps[].analysis
inline constexpr int kDnsTtl = 30;           // dns.rfc2136.ttl, dns.externalDNS.ttl (seconds)
inline constexpr const char* kTsigKey = "secret";
inline constexpr const char* kTsigAlgorithm = "hmac-sha256";
inline constexpr const char* kAnnotationPrefix = "external-dns.kubernetes.io/";
// spec.strategy
inline constexpr const char* kStrategyType = "TempFleet";
inline constexpr const char* kPromotion = "Automatic";
inline constexpr const char* kProgressDeadline = "600s";
inline constexpr const char* kScaleDownDelay = "30s";  // BlueGreen only; no CRD default
// spec.strategy.analysis.http[]
inline constexpr const char* kProbeScheme = "http";
inline constexpr int kProbeExpectStatus = 200;
inline constexpr const char* kProbeMaxLatency = "1s";
inline constexpr double kProbeSuccessRatio = 1;
inline constexpr const char* kProbeInterval = "1s";
inline constexpr const char* kProbeWindow = "30s";

// Every default above that a CRD declares: its CRD (plural), the field's path in the
// schema (".spec.proxy.drain.minDrain"; "[]" for array items) and the value.
struct Declared {
  std::string crd, path;
  nlohmann::json value;
};
std::vector<Declared> declared();

}  // namespace ingressx::api::defaults
