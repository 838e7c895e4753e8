#include "client_util.h"
#include "ingressx/core/client.h"

namespace ingressx {

std::string ResourceRef::path(const std::string& ns, const std::string& name) const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  // (appended piecewise: g++ 12 -O2 warns -Wrestrict, falsely, on "literal" + string&&)
  if (namespaced && !ns.empty()) p.append("/namespaces/").append(detail::percent_encode(ns, true));
  p.append("/").append(resource);
  if (!name.empty()) p.append("/").append(detail::percent_encode(name, true));
  return p;
}

namespace refs {
const ResourceRef kConfigMaps{"", "v1", "configmaps", true, "ConfigMap"};
const ResourceRef kSecrets{"", "v1", "secrets", true, "Secret"};
const ResourceRef kServices{"", "v1", "services", true, "Service"};
const ResourceRef kPods{"", "v1", "pods", true, "Pod"};
const ResourceRef kNamespaces{"", "v1", "namespaces", false, "Namespace"};
const ResourceRef kEndpoints{"", "v1", "endpoints", true, "Endpoints"};
const ResourceRef kServiceAccounts{"", "v1", "serviceaccounts", true, "ServiceAccount"};
const ResourceRef kDeployments{"apps", "v1", "deployments", true, "Deployment"};
const ResourceRef kLeases{"coordination.k8s.io", "v1", "leases", true, "Lease"};
const ResourceRef kEvents{"events.k8s.io", "v1", "events", true, "Event"};
const ResourceRef kCRDs{"apiextensions.k8s.io", "v1", "customresourcedefinitions", false,
                        "CustomResourceDefinition"};
}  // namespace refs

}  // namespace ingressx
