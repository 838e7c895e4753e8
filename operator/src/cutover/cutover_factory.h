#pragma once
// The cutover provider a ProxyFleet's spec.cutover names (cutover_factory.cpp).

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "ingressx/operator/cutover.h"

namespace ingressx {
class Client;
}

namespace ingressx::op {

using json = nlohmann::json;

// What a cutover provider may need besides the ProxyFleet: the API client (Secrets with TSIG
// keys, HTTPRoutes, the fleets' Services).
struct CutoverContext {
  Client* client = nullptr;
  std::string ns;  // the ProxyFleet's namespace
  // fleet name -> its Service address (ClusterIP, or the LoadBalancer IP/hostname when the
  // Service has one), for the fleets that exist now; read() maps answers back with it.
  std::map<std::string, std::string> fleet_addresses;
};
// The provider spec.cutover names, or nullptr with `why_not` set (unsupported provider or a
// configuration it cannot use). cutover_factory.cpp.
std::unique_ptr<CutoverProvider> make_cutover(const json& proxy_fleet, const CutoverContext& ctx,
                                              std::string& why_not);
}  // namespace ingressx::op
