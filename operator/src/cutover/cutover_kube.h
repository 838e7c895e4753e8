#pragma once
// Cutover providers that move traffic by writing Kubernetes objects through the API client:
// the weights of a Gateway API HTTPRoute's backendRefs (cutover_gateway_api.cpp) and
// weight annotations on the fleet Services (cutover_service_annotations.cpp), which read
// the split back from the objects they wrote; and external-dns annotations on the fleet
// Services (cutover_external_dns.cpp), which reads it back from DNS.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ingressx/api/defaults.h"
#include "ingressx/operator/cutover.h"

namespace ingressx {
class Client;
}

namespace ingressx::op {

// spec.cutover.weight.gatewayAPI: the HTTPRoute and/or TCPRoute whose backendRefs are the
// fleet Services (backendRef name == fleet name, kind Service, in the fleets' namespace).
// apply() patches only the weights of each route in turn (a JSON patch guarded by the
// route's resourceVersion); a fleet with weight > 0 that a rule does not reference yet is
// added to that rule, with the port of the rule's other fleet backendRef. read() reports
// each fleet's share of the first rule that references a fleet (weight / sum of that rule's
// weights, in percent); when the routes disagree (a move half done), each fleet gets the
// largest share any route gives it, a split the operator never asks for, so it moves
// traffic again and a fleet counts as drained only when no route sends to it.
struct GatewayRouteRef {
  std::string kind = "HTTPRoute";  // HTTPRoute (v1) or TCPRoute (v1alpha2, experimental)
  std::string api_version;         // gateway.networking.k8s.io version; "" = the kind's
  std::string ns;                  // the route's namespace ("" = the fleets')
  std::string name;
};
struct GatewayApiCutoverConfig {
  Client* client = nullptr;
  std::vector<GatewayRouteRef> routes;  // at least one
  std::string fleet_namespace;          // where the fleet Services are
  std::vector<std::string> fleets;      // the fleets of the pair (read() reports each)
};
std::unique_ptr<CutoverProvider> make_gateway_api_cutover(GatewayApiCutoverConfig cfg);

// spec.cutover.weight.serviceAnnotations: annotations set on each fleet's Service, each
// value with "{{weight}}" replaced by that fleet's weight (0..100) and "{{fleet}}" by its
// name (e.g. external-dns's set-identifier, which must differ per fleet). read() takes the
// weight back from the first annotation whose template holds "{{weight}}".
struct ServiceAnnotationsCutoverConfig {
  Client* client = nullptr;
  std::string ns;                                  // the fleets' namespace
  std::map<std::string, std::string> annotations;  // key -> value template
  std::vector<std::string> fleets;                 // the fleets of the pair
};
std::unique_ptr<CutoverProvider> make_service_annotations_cutover(
    ServiceAnnotationsCutoverConfig cfg);

// spec.cutover.dns.externalDNS: external-dns (--source=service) publishes the record from
// annotations on the serving fleet's Service. apply() sets on the fleet with weight 100
//   <prefix>hostname       = hostname
//   <prefix>ttl            = ttl
//   <prefix>target         = the fleet's address (so a ClusterIP Service publishes the
//                            address the operator uses)
//   <prefix>set-identifier = setIdentifier (when set)
// first, then removes them (merge patch with null) from the other fleets' Services, and
// waits (bounded) until every name server to check answers the new address for hostname
// (dns::Checker, the query path of the rfc2136 provider). read() maps what every server
// answers back to a fleet. DNS steps are 100/0 (no weighted records). <prefix> is
// external-dns's --annotation-prefix: "external-dns.kubernetes.io/" since v0.22,
// "external-dns.alpha.kubernetes.io/" before.
inline constexpr const char* kExternalDnsPrefix = api::defaults::kAnnotationPrefix;
struct ExternalDnsCutoverConfig {
  Client* client = nullptr;
  std::string ns;                   // the fleets' namespace
  std::vector<std::string> fleets;  // the fleets of the pair
  std::string hostname;             // the record external-dns publishes
  int ttl = 30;
  std::string set_identifier;  // optional
  std::string annotation_prefix = kExternalDnsPrefix;
  std::vector<std::string> nameservers;  // host:port, queried for convergence and read()
  std::string zone;                      // optional: also check the zone's NS targets (ns_port)
  int ns_port = 53;
  // fleet name -> its address (TrafficTarget.address wins when set).
  std::map<std::string, std::string> fleet_addresses;
  int timeout_ms = 2000;            // one DNS exchange
  int converge_timeout_ms = 30000;  // annotations written -> every server answers
  int poll_ms = 250;
};
std::unique_ptr<CutoverProvider> make_external_dns_cutover(ExternalDnsCutoverConfig cfg);

// The template with every "{{weight}}" replaced by `weight`.
std::string render_weight(const std::string& tmpl, int weight);
// The weight that render_weight(tmpl, w) would have produced for `value`; -1 when `value`
// is not of that form (or tmpl has no "{{weight}}").
int parse_weight(const std::string& tmpl, const std::string& value);

}  // namespace ingressx::op
