#pragma once
// ProxyFleet and FleetRollout objects (JSON) <-> the engine's types.

#include <nlohmann/json.hpp>
#include <string>

#include "ingressx/operator/engine.h"

namespace ingressx::op {

FleetSettings settings_from(const nlohmann::json& fleet);
FleetState state_from(const nlohmann::json& fleet);

RolloutRecord rollout_from(const nlohmann::json& fleet_rollout);
// The FleetRollout object to create for a new rollout (metadata, spec; no status).
nlohmann::json rollout_object(const RolloutRecord& r, const nlohmann::json& fleet,
                              const nlohmann::json& template_);
// The FleetRollout status for /status.
nlohmann::json rollout_status(const RolloutRecord& r, int64_t observed_generation);

std::string time_string(WallTime t);

}  // namespace ingressx::op
