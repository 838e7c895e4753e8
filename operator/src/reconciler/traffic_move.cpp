// One traffic move as the cutover provider gets it, and the cutover a reconcile uses.
#include "reconciler/traffic_move.h"

#include <string>

#include "ingressx/core/error.h"

namespace ingressx::op {

std::string role_of_fleet(const std::string& proxy_fleet, const std::string& fleet) {
  for (const char* role : {"temp", "blue", "green"})
    if (fleet_name(proxy_fleet, role) == fleet) return role;
  return "primary";
}

std::vector<TrafficTarget> traffic_targets(const std::string& proxy_fleet,
                                           const std::vector<TrafficEntry>& split,
                                           const std::map<std::string, FleetObservation>& fleets,
                                           int port) {
  std::vector<TrafficTarget> targets;
  std::string summary, missing;
  for (const auto& e : split) {
    TrafficTarget t;
    t.fleet = e.fleet;
    t.role = role_of_fleet(proxy_fleet, e.fleet);
    t.weight = e.weight;
    t.port = port;
    auto it = fleets.find(e.fleet);
    if (it != fleets.end() && !it->second.deleting) t.address = it->second.address;
    if (t.address.empty() && t.weight > 0) missing += (missing.empty() ? "" : ", ") + e.fleet;
    summary += (summary.empty() ? "" : " ") + e.fleet + "=" + std::to_string(e.weight);
    targets.push_back(std::move(t));
  }
  if (!missing.empty())
    throw Error(Error::Kind::kTransport,
                "traffic " + summary + " not set: " + missing +
                    " has no reachable address (its Service's address does not accept "
                    "connections yet, or the fleet is being deleted); a move is made whole or "
                    "not at all");
  return targets;
}

json cutover_view(const json& proxy_fleet, const json* rollout, bool running) {
  if (!running || !rollout || !rollout->is_object()) return proxy_fleet;
  auto spec = rollout->find("spec");
  if (spec == rollout->end() || !spec->is_object()) return proxy_fleet;
  auto cut = spec->find("cutover");
  if (cut == spec->end() || !cut->is_object() || cut->empty()) return proxy_fleet;
  json view = proxy_fleet;
  view["spec"]["cutover"] = *cut;
  return view;
}

}  // namespace ingressx::op
