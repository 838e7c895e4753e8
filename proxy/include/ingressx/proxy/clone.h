#pragma once
// Rewrites of a proxy container spec (a Kubernetes core/v1 Container as JSON) so that a
// second fleet - the temporary or the other colour - runs next to the first without
// fighting over leader election or over the Ingress status address. Pure functions.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ingressx::proxy {

struct CloneOptions {
  std::string suffix;                          // e.g. "temp", "green"; non-empty
  std::optional<std::string> publish_service;  // "ns/name" of the clone's own Service
};

struct CloneResult {
  nlohmann::json container;
  std::vector<std::string> changes;  // one human-readable line per rewrite
};

// ingress-nginx: `--election-id` gets "-<suffix>" (added from the default when absent);
// with publish_service, `--publish-service` is set to it; without, `--update-status=false`
// (and any `--publish-service`/`--publish-status-address` is dropped). The ingress class
// flags are kept: both fleets serve the same Ingresses. Throws Error(kInvalidInput) when
// `container` is not an object, its args are not strings or the suffix is empty.
CloneResult clone_ingress_nginx(const nlohmann::json& container, const CloneOptions& opts);

// Proxies without leader election or status writing: the spec is used unchanged.
CloneResult clone_unchanged(const nlohmann::json& container, const CloneOptions& opts);

}  // namespace ingressx::proxy
