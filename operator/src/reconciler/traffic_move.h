#pragma once
// One traffic move and the cutover in force (traffic_move.cpp).

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

// primary, temp, blue or green, from a fleet's name.
std::string role_of_fleet(const std::string& proxy_fleet, const std::string& fleet);
// The provider's targets for a split: every fleet of it with its address (none for a fleet
// being deleted) and `port`. Throws Error naming the fleets when one that should receive
// traffic has no address: a move is made whole or not at all, never only its lowering half.
std::vector<TrafficTarget> traffic_targets(const std::string& proxy_fleet,
                                           const std::vector<TrafficEntry>& split,
                                           const std::map<std::string, FleetObservation>& fleets,
                                           int port);
// The ProxyFleet as the cutover provider must see it: while a rollout runs, spec.cutover is
// the copy the rollout started with (its FleetRollout's spec.cutover), not the live one.
json cutover_view(const json& proxy_fleet, const json* rollout, bool running);

}  // namespace ingressx::op
