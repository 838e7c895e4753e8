// The gateway-api cutover provider (see cutover_kube.h): backendRef weights of an HTTPRoute.

#include <spdlog/spdlog.h>

#include <algorithm>

#include "cutover_kube.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"

namespace ingressx::op {
namespace {

class GatewayApiCutover : public CutoverProvider {
 public:
  explicit GatewayApiCutover(GatewayApiCutoverConfig cfg)
      : cfg_(std::move(cfg)),
        ref_{"gateway.networking.k8s.io", cfg_.api_version, "httproutes", true, "HTTPRoute"} {
    auto bad = [](const std::string& what) {
      return Error(Error::Kind::kInvalidInput, "gateway-api cutover: " + what);
    };
    if (!cfg_.client) throw bad("no API client");
    if (cfg_.route_name.empty()) throw bad("httpRouteRef has no name");
    if (cfg_.route_namespace.empty()) cfg_.route_namespace = cfg_.fleet_namespace;
    if (cfg_.fleet_namespace.empty()) cfg_.fleet_namespace = cfg_.route_namespace;
  }

  std::string name() const override {
    return "gateway-api HTTPRoute " + cfg_.route_namespace + "/" + cfg_.route_name;
  }

  TrafficSplit apply(const std::vector<TrafficTarget>& targets) override {
    for (const auto& t : targets)
      if (t.weight < 0 || t.weight > 100)
        throw Error(Error::Kind::kInvalidInput, name() + ": fleet " + t.fleet + " has weight " +
                                                    std::to_string(t.weight) + ", not 0..100");
    // The patch is guarded by the resourceVersion it was computed from; on a concurrent
    // change, compute it again.
    for (int attempt = 1;; ++attempt) {
      const json route = get();
      const json ops = weight_patch(route, targets);
      if (ops.size() <= 1) break;  // only the test op: nothing to change
      try {
        cfg_.client->patch(ref_, cfg_.route_namespace, cfg_.route_name, PatchType::kJson, ops);
        break;
      } catch (const Error& e) {
        const bool stale = e.http_status() == 409 || e.http_status() == 422;
        if (!stale || attempt >= 3)
          throw Error(e.kind(), name() + ": setting the weights failed: " + e.what());
        spdlog::debug("{}: the route changed meanwhile ({}); again", name(), e.what());
      }
    }
    return read();
  }

  TrafficSplit read() override { return split_of(get()); }

 private:
  json get() const {
    try {
      return cfg_.client->get(ref_, cfg_.route_namespace, cfg_.route_name);
    } catch (const Error& e) {
      if (e.is_not_found())
        throw Error(
            Error::Kind::kNotFound,
            name() + " (spec.cutover.weight.gatewayAPI.httpRouteRef) does not exist: " + e.what());
      throw Error(e.kind(), name() + ": " + e.what());
    }
  }

  // The fleet a backendRef points at, or "" when it is not one of the fleet Services.
  std::string fleet_of(const json& ref, const std::vector<std::string>& fleets) const {
    if (!ref.is_object()) return "";
    if (ref.value("group", std::string()) != "" ||
        ref.value("kind", std::string("Service")) != "Service")
      return "";
    if (ref.value("namespace", cfg_.route_namespace) != cfg_.fleet_namespace) return "";
    const std::string n = ref.value("name", std::string());
    return std::find(fleets.begin(), fleets.end(), n) != fleets.end() ? n : "";
  }

  std::vector<std::string> all_fleets(const std::vector<TrafficTarget>& targets) const {
    std::vector<std::string> fleets = cfg_.fleets;
    for (const auto& t : targets)
      if (std::find(fleets.begin(), fleets.end(), t.fleet) == fleets.end())
        fleets.push_back(t.fleet);
    return fleets;
  }

  // A JSON patch: test the resourceVersion, then set each fleet backendRef's weight (and add
  // the fleets with weight > 0 that a fleet rule lacks).
  json weight_patch(const json& route, const std::vector<TrafficTarget>& targets) const {
    json ops = json::array();
    ops.push_back({{"op", "test"},
                   {"path", "/metadata/resourceVersion"},
                   {"value", route["metadata"].value("resourceVersion", "")}});
    const auto fleets = all_fleets(targets);
    const json rules = route.value("spec", json::object()).value("rules", json::array());
    bool any = false;
    for (size_t i = 0; i < rules.size(); ++i) {
      const json refs = rules[i].value("backendRefs", json::array());
      std::map<std::string, size_t> at;
      for (size_t j = 0; j < refs.size(); ++j) {
        auto f = fleet_of(refs[j], fleets);
        if (!f.empty() && !at.count(f)) at[f] = j;
      }
      if (at.empty()) continue;
      any = true;
      const std::string base = "/spec/rules/" + std::to_string(i) + "/backendRefs";
      for (const auto& t : targets) {
        auto it = at.find(t.fleet);
        if (it != at.end()) {
          const json& ref = refs[it->second];
          if (ref.contains("weight") && ref["weight"] == t.weight) continue;
          ops.push_back({{"op", ref.contains("weight") ? "replace" : "add"},
                         {"path", base + "/" + std::to_string(it->second) + "/weight"},
                         {"value", t.weight}});
        } else if (t.weight > 0) {
          json added = refs[at.begin()->second];  // same port/namespace as a fleet sibling
          added["name"] = t.fleet;
          added["weight"] = t.weight;
          ops.push_back({{"op", "add"}, {"path", base + "/-"}, {"value", added}});
        }
      }
    }
    if (!any) {
      std::string names;
      for (const auto& f : fleets) names += (names.empty() ? "" : ", ") + f;
      throw Error(Error::Kind::kInvalidInput,
                  name() + " has no rule with a backendRef to a fleet Service (" + names +
                      " in namespace " + cfg_.fleet_namespace + ")");
    }
    return ops;
  }

  // Each fleet's share of the first rule that references a fleet.
  TrafficSplit split_of(const json& route) const {
    TrafficSplit split;
    for (const auto& f : cfg_.fleets) split[f] = 0;
    const json rules = route.value("spec", json::object()).value("rules", json::array());
    for (const auto& rule : rules) {
      const json refs = rule.value("backendRefs", json::array());
      std::map<std::string, long> w;
      long sum = 0;
      for (const auto& ref : refs) {
        const long weight = ref.is_object() ? ref.value("weight", 1L) : 0L;
        sum += weight;
        auto f = fleet_of(ref, cfg_.fleets);
        if (!f.empty()) w[f] += weight;
      }
      if (w.empty()) continue;
      for (const auto& [f, weight] : w)
        split[f] = sum > 0 ? static_cast<int>((weight * 100 + sum / 2) / sum) : 0;
      return split;
    }
    return split;
  }

  GatewayApiCutoverConfig cfg_;
  ResourceRef ref_;
};

}  // namespace

std::unique_ptr<CutoverProvider> make_gateway_api_cutover(GatewayApiCutoverConfig cfg) {
  return std::make_unique<GatewayApiCutover>(std::move(cfg));
}

}  // namespace ingressx::op
