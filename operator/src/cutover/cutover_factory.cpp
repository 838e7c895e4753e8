// spec.cutover -> the CutoverProvider that moves traffic for a fleet.
#include "cutover/cutover_factory.h"

#include <string>
#include <utility>

#include "cutover/cutover_kube.h"
#include "cutover/cutover_rfc2136.h"
#include "ingressx/api/defaults.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"
#include "ingressx/operator/cutover.h"
#include "ingressx/operator/engine.h"

namespace ingressx::op {

namespace {

// The two fleets a rollout moves traffic between, by role.
std::map<std::string, std::string> pair_fleets(const std::string& name, const json& spec) {
  const bool blue_green =
      spec.value("strategy", json::object()).value("type", std::string("TempFleet")) == "BlueGreen";
  if (blue_green) return {{"blue", fleet_name(name, "blue")}, {"green", fleet_name(name, "green")}};
  return {{"primary", fleet_name(name, "primary")}, {"temp", fleet_name(name, "temp")}};
}

std::vector<std::string> fleet_list(const std::map<std::string, std::string>& by_role) {
  std::vector<std::string> out;
  for (const auto& [role, fleet] : by_role) out.push_back(fleet);
  return out;
}

std::unique_ptr<CutoverProvider> make_rfc2136(const json& r, const CutoverContext& ctx) {
  Rfc2136CutoverConfig cfg;
  cfg.server = r.value("server", "");
  cfg.zone = r.value("zone", "");
  for (const auto& n : r.value("names", json::array()))
    if (n.is_string()) cfg.names.push_back(n.get<std::string>());
  cfg.ttl = r.value("ttl", api::defaults::kDnsTtl);
  cfg.key_name = r.value("tsigKeyName", "");
  cfg.algorithm = r.value("algorithm", api::defaults::kTsigAlgorithm);
  cfg.fleet_addresses = ctx.fleet_addresses;
  const json ref = r.value("tsigSecretRef", json::object());
  const std::string secret_name = ref.value("name", "");
  const std::string secret_key = ref.value("key", api::defaults::kTsigKey);
  Client* client = ctx.client;
  const std::string ns = ctx.ns;
  // Read when an UPDATE is signed (read() needs no key), so a missing Secret shows up as
  // the failed traffic move, naming the Secret.
  cfg.secret = [client, ns, secret_name, secret_key]() -> std::string {
    const std::string where = "Secret " + ns + "/" + secret_name + " (tsigSecretRef)";
    if (!client) throw Error(Error::Kind::kInternal, where + ": no API client");
    if (secret_name.empty()) throw Error(Error::Kind::kInvalidInput, "tsigSecretRef has no name");
    json secret;
    try {
      secret = client->get(refs::kSecrets, ns, secret_name);
    } catch (const Error& e) {
      if (e.is_not_found()) throw Error(Error::Kind::kNotFound, where + " does not exist");
      throw Error(e.kind(), where + ": " + e.what());
    }
    return dns::tsig_secret_from(secret, secret_key, where);
  };
  return make_rfc2136_cutover(std::move(cfg));
}

std::unique_ptr<CutoverProvider> make_external_dns(
    const json& x, const CutoverContext& ctx, const std::map<std::string, std::string>& fleets) {
  ExternalDnsCutoverConfig cfg;
  cfg.client = ctx.client;
  cfg.ns = ctx.ns;
  cfg.fleets = fleet_list(fleets);
  cfg.hostname = x.value("hostname", "");
  cfg.ttl = x.value("ttl", api::defaults::kDnsTtl);
  cfg.set_identifier = x.value("setIdentifier", "");
  for (const auto& n : x.value("nameservers", json::array()))
    if (n.is_string()) cfg.nameservers.push_back(n.get<std::string>());
  cfg.zone = x.value("zone", "");
  cfg.annotation_prefix = x.value("annotationPrefix", std::string(kExternalDnsPrefix));
  cfg.fleet_addresses = ctx.fleet_addresses;
  return make_external_dns_cutover(std::move(cfg));
}

}  // namespace

std::unique_ptr<CutoverProvider> make_cutover(const json& pf, const CutoverContext& ctx,
                                              std::string& why_not) {
  const std::string name = pf["metadata"].value("name", "");
  const json spec = pf.value("spec", json::object());
  const json cutover = spec.value("cutover", json::object());
  const json weight = cutover.value("weight", json::object());
  const json dns = cutover.value("dns", json::object());
  const std::string type = cutover.value("type", "");
  const std::string provider =
      type == "dns" ? dns.value("provider", std::string("?")) : weight.value("provider", "?");
  const auto fleets = pair_fleets(name, spec);
  try {
    if (type == "weight" && provider == "haproxy") {
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
    if (type == "weight" && provider == "gateway-api") {
      const json g = weight.value("gatewayAPI", json::object());
      GatewayApiCutoverConfig cfg;
      cfg.client = ctx.client;
      for (const auto& [field, kind] :
           {std::pair{"httpRouteRef", "HTTPRoute"}, std::pair{"tcpRouteRef", "TCPRoute"}}) {
        if (!g.contains(field)) continue;
        const json route = g.value(field, json::object());
        cfg.routes.push_back({kind, "", route.value("namespace", ctx.ns), route.value("name", "")});
      }
      cfg.fleet_namespace = ctx.ns;
      cfg.fleets = fleet_list(fleets);
      return make_gateway_api_cutover(cfg);
    }
    if (type == "weight" && provider == "service-annotations") {
      const json s = weight.value("serviceAnnotations", json::object());
      ServiceAnnotationsCutoverConfig cfg;
      cfg.client = ctx.client;
      cfg.ns = ctx.ns;
      const json annotations = s.value("annotations", json::object());  // items() needs it alive
      for (auto& [key, value] : annotations.items())
        if (value.is_string()) cfg.annotations[key] = value.get<std::string>();
      cfg.fleets = fleet_list(fleets);
      return make_service_annotations_cutover(cfg);
    }
    if (type == "dns" && provider == "rfc2136")
      return make_rfc2136(dns.value("rfc2136", json::object()), ctx);
    if (type == "dns" && provider == "external-dns")
      return make_external_dns(dns.value("externalDNS", json::object()), ctx, fleets);
  } catch (const Error& e) {
    why_not = std::string("cutover ") + type + " provider " + provider + ": " + e.what();
    return nullptr;
  }
  why_not = "cutover " + (type.empty() ? std::string("?") : type) + " provider " + provider +
            " is not supported by this operator version (supported: weight/haproxy, "
            "weight/gateway-api, weight/service-annotations, dns/rfc2136, "
            "dns/external-dns)";
  return nullptr;
}

}  // namespace ingressx::op
