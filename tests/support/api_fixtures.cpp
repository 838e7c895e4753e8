#include "api_fixtures.h"

#include <unistd.h>

#include "controlplane.h"
#include "ingressx/core/kubeconfig.h"

namespace ingressx::testing {

Client& admin() {
  static Client c([] {
    LoadOptions o;
    o.kubeconfig = control_plane().kubeconfig;
    return load_rest_config(o);
  }());
  return c;
}

std::string make_namespace(const std::string& prefix) {
  static int n = 0;
  std::string name = prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
  admin().create(refs::kNamespaces, "",
                 {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
  return name;
}

}  // namespace ingressx::testing
