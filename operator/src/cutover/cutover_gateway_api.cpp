// The gateway-api cutover provider (see cutover_kube.h): backendRef weights of an HTTPRoute
// and/or a TCPRoute.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "cutover/cutover_kube.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"

namespace ingressx::op {
namespace {

// One route the provider writes: its resource, kind label and where it is.
struct Route {
  ResourceRef ref;
  std::string ns, name, label;  // label: "HTTPRoute ns/name"
  std::string field;            // its field in the spec, for messages
};

class GatewayApiCutover : public CutoverProvider {
 public:
  explicit GatewayApiCutover(GatewayApiCutoverConfig cfg) : cfg_(std::move(cfg)) {
    auto bad = [](const std::string& what) {
      return Error(Error::Kind::kInvalidInput, "gateway-api cutover: " + what);
    };
    if (!cfg_.client) throw bad("no API client");
    if (cfg_.routes.empty()) throw bad("neither httpRouteRef nor tcpRouteRef is set");
    for (const auto& r : cfg_.routes) {
      Route route;
      std::string plural, version;
      if (r.kind == "HTTPRoute") {
        plural = "httproutes", version = "v1", route.field = "httpRouteRef";
      } else if (r.kind == "TCPRoute") {
        plural = "tcproutes", version = "v1alpha2", route.field = "tcpRouteRef";
      } else {
        throw bad("route kind '" + r.kind + "' is not HTTPRoute or TCPRoute");
      }
      if (r.name.empty()) throw bad(route.field + " has no name");
      if (!r.api_version.empty()) version = r.api_version;
      route.ref = {"gateway.networking.k8s.io", version, plural, true, r.kind};
      route.ns = r.ns.empty() ? cfg_.fleet_namespace : r.ns;
      route.name = r.name;
      route.label = r.kind + " " + route.ns + "/" + route.name;
      routes_.push_back(std::move(route));
    }
    if (cfg_.fleet_namespace.empty()) cfg_.fleet_namespace = routes_.front().ns;
  }

  std::string name() const override {
    std::string n = "gateway-api";
    for (size_t i = 0; i < routes_.size(); ++i) n += (i ? " and " : " ") + routes_[i].label;
    return n;
  }

  TrafficSplit apply(const std::vector<TrafficTarget>& targets) override {
    for (const auto& t : targets)
      if (t.weight < 0 || t.weight > 100)
        throw Error(Error::Kind::kInvalidInput, name() + ": fleet " + t.fleet + " has weight " +
                                                    std::to_string(t.weight) + ", not 0..100");
    // Every route is checked before any is written, so a route that cannot take the split
    // (missing, no fleet backendRef) leaves all of them as they were.
    for (const auto& route : routes_) weight_patch(route, get(route), targets);
    for (const auto& route : routes_) {
      // The patch is guarded by the resourceVersion it was computed from; on a concurrent
      // change, compute it again.
      for (int attempt = 1;; ++attempt) {
        const json ops = weight_patch(route, get(route), targets);
        if (ops.size() <= 1) break;  // only the test op: nothing to change
        try {
          cfg_.client->patch(route.ref, route.ns, route.name, PatchType::kJson, ops);
          break;
        } catch (const Error& e) {
          const bool stale = e.http_status() == 409 || e.http_status() == 422;
          if (!stale || attempt >= 3)
            throw Error(e.kind(), name() + ": setting the weights of " + route.label +
                                      " failed: " + e.what());
          spdlog::debug("{}: {} changed meanwhile ({}); again", name(), route.label, e.what());
        }
      }
    }
    return read();
  }

  TrafficSplit read() override {
    std::optional<TrafficSplit> out;
    for (const auto& route : routes_) {
      TrafficSplit split = split_of(route, get(route));
      if (!out) {
        out = std::move(split);
      } else if (split != *out) {
        spdlog::warn("{}: {} sends {} but {} sends {}; counting each fleet's largest share", name(),
                     routes_.front().label, describe(*out), route.label, describe(split));
        for (const auto& [fleet, weight] : split) (*out)[fleet] = std::max((*out)[fleet], weight);
      }
    }
    return *out;
  }

 private:
  static std::string describe(const TrafficSplit& split) {
    std::string s;
    for (const auto& [fleet, weight] : split)
      s += (s.empty() ? "" : " ") + fleet + "=" + std::to_string(weight);
    return s;
  }

  json get(const Route& route) const {
    try {
      return cfg_.client->get(route.ref, route.ns, route.name);
    } catch (const Error& e) {
      if (e.is_not_found())
        throw Error(Error::Kind::kNotFound, "gateway-api " + route.label +
                                                " (spec.cutover.weight.gatewayAPI." + route.field +
                                                ") does not exist: " + e.what());
      throw Error(e.kind(), "gateway-api " + route.label + ": " + e.what());
    }
  }

  // The fleet a backendRef points at, or "" when it is not one of the fleet Services.
  std::string fleet_of(const Route& route, const json& ref,
                       const std::vector<std::string>& fleets) const {
    if (!ref.is_object()) return "";
    if (ref.value("group", std::string()) != "" ||
        ref.value("kind", std::string("Service")) != "Service")
      return "";
    if (ref.value("namespace", route.ns) != cfg_.fleet_namespace) return "";
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
  json weight_patch(const Route& r, const json& route,
                    const std::vector<TrafficTarget>& targets) const {
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
        auto f = fleet_of(r, refs[j], fleets);
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
                  "gateway-api " + r.label + " has no rule with a backendRef to a fleet Service (" +
                      names + " in namespace " + cfg_.fleet_namespace + ")");
    }
    return ops;
  }

  // Each fleet's share of the first rule that references a fleet.
  TrafficSplit split_of(const Route& r, const json& route) const {
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
        auto f = fleet_of(r, ref, cfg_.fleets);
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
  std::vector<Route> routes_;
};

}  // namespace

std::unique_ptr<CutoverProvider> make_gateway_api_cutover(GatewayApiCutoverConfig cfg) {
  return std::make_unique<GatewayApiCutover>(std::move(cfg));
}

}  // namespace ingressx::op
