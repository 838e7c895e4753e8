#pragma once
// The Kubernetes objects a fleet is made of (fleet_objects.cpp): Deployment, Service, PDB,
// the preStop hook injected, the template hash and the referenced ConfigMaps/Secrets.

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ingressx/operator/cutover.h"
#include "ingressx/operator/engine.h"

namespace ingressx::op {

using json = nlohmann::json;

struct FleetObjects {
  json deployment;
  json service;
  json pdb;  // policy/v1 PodDisruptionBudget: at most one pod of the fleet evicted at a time
};
// Deployment + Service of one fleet (`fleet` = its name, `role` = primary/temp/blue/green)
// running `template_` at `revision`/`hash`, with the preStop hook injected.
FleetObjects fleet_objects(const json& proxy_fleet, const std::string& fleet,
                           const std::string& role, const json& template_, int64_t revision,
                           const std::string& hash, const std::string& hook_image);
// ConfigMaps and Secrets a pod template references (volumes, projected volumes, envFrom, env).
struct ConfigRefs {
  std::vector<std::string> config_maps, secrets;
};
ConfigRefs config_refs(const json& template_);
// "t<12 hex>c<12 hex>": the template part and the referenced data part.
std::string template_hash(const json& template_, const std::string& config_digest_input);
std::string fnv_hex(const std::string& data, int hex_digits);
// The grace period the hook needs: propagationDelay + maxDrain + margin, in seconds.
int64_t grace_seconds(const FleetSettings& s);

}  // namespace ingressx::op
