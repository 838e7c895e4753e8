#pragma once
// Cutover providers that move traffic by writing Kubernetes objects through the API client:
// the weights of a Gateway API HTTPRoute's backendRefs (cutover_gateway_api.cpp) and
// weight annotations on the fleet Services (cutover_service_annotations.cpp). Both read the
// split back from the objects they wrote.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ingressx/operator/cutover.h"

namespace ingressx {
class Client;
}

namespace ingressx::op {

// spec.cutover.weight.gatewayAPI: the HTTPRoute whose backendRefs are the fleet Services
// (backendRef name == fleet name, kind Service, in the fleets' namespace). apply() patches
// only the weights (a JSON patch guarded by the route's resourceVersion); a fleet with
// weight > 0 that a rule does not reference yet is added to that rule, with the port of the
// rule's other fleet backendRef. read() reports each fleet's share of the first rule that
// references a fleet (weight / sum of that rule's weights, in percent).
struct GatewayApiCutoverConfig {
  Client* client = nullptr;
  std::string route_namespace;      // the HTTPRoute's namespace
  std::string route_name;           // the HTTPRoute's name
  std::string fleet_namespace;      // where the fleet Services are
  std::vector<std::string> fleets;  // the fleets of the pair (read() reports each)
  std::string api_version = "v1";   // gateway.networking.k8s.io version
};
std::unique_ptr<CutoverProvider> make_gateway_api_cutover(GatewayApiCutoverConfig cfg);

// spec.cutover.weight.serviceAnnotations: annotations set on each fleet's Service, each
// value with "{{weight}}" replaced by that fleet's weight (0..100). read() takes the weight
// back from the first annotation whose template holds "{{weight}}".
struct ServiceAnnotationsCutoverConfig {
  Client* client = nullptr;
  std::string ns;                                  // the fleets' namespace
  std::map<std::string, std::string> annotations;  // key -> value template
  std::vector<std::string> fleets;                 // the fleets of the pair
};
std::unique_ptr<CutoverProvider> make_service_annotations_cutover(
    ServiceAnnotationsCutoverConfig cfg);

// The template with every "{{weight}}" replaced by `weight`.
std::string render_weight(const std::string& tmpl, int weight);
// The weight that render_weight(tmpl, w) would have produced for `value`; -1 when `value`
// is not of that form (or tmpl has no "{{weight}}").
int parse_weight(const std::string& tmpl, const std::string& value);

}  // namespace ingressx::op
