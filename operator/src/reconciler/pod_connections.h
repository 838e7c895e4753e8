#pragma once
// A proxy pod's active connections counted from outside it (pod_connections.cpp), with the
// proxy table's HTTP source for its kind.

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ingressx/operator/cutover.h"
#include "ingressx/operator/engine.h"

namespace ingressx {
class HttpTransport;
}

namespace ingressx::op {

using json = nlohmann::json;

// Active connections of one proxy pod from its in-pod admin/metrics endpoint at `pod_ip`.
// nullopt when the kind/settings give no way to count from outside the pod.
std::optional<int64_t> pod_connections(HttpTransport& http, const json& proxy_spec,
                                       const std::string& pod_ip);
}  // namespace ingressx::op
