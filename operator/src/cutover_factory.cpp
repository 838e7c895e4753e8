// spec.cutover -> the CutoverProvider that moves traffic for a fleet.
#include <string>

#include "ingressx/operator/cutover.h"
#include "internal.h"

namespace ingressx::op {

std::unique_ptr<CutoverProvider> make_cutover(const json& pf, const CutoverContext& ctx,
                                              std::string& why_not) {
  (void)ctx;
  const std::string name = pf["metadata"].value("name", "");
  const json cutover = pf["spec"].value("cutover", json::object());
  const json weight = cutover.value("weight", json::object());
  if (cutover.value("type", "") == "weight" && weight.value("provider", "") == "haproxy") {
    const json h = weight.value("haproxy", json::object());
    HaproxyCutoverConfig cfg;
    cfg.runtime_api = h.value("runtimeAPI", "");
    cfg.backend = h.value("backend", "");
    const json servers = h.value("servers", json::object());
    for (auto& [role, server] : servers.items()) {
      cfg.servers[role] = server.get<std::string>();
      cfg.fleets[role] = fleet_name(name, role);
    }
    return make_haproxy_cutover(cfg);
  }
  why_not = "cutover " + cutover.value("type", std::string("?")) + " provider " +
            (cutover.value("type", "") == "dns"
                 ? cutover.value("dns", json::object()).value("provider", std::string("?"))
                 : weight.value("provider", std::string("?"))) +
            " is not supported by this operator version (supported: weight/haproxy)";
  return nullptr;
}

}  // namespace ingressx::op
