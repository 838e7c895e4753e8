#include "api_fixtures.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "controlplane.h"
#include "ingressx/core/error.h"
#include "ingressx/core/kubeconfig.h"
#include "ingressx/core/yaml.h"

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

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
bool established(const json& crd) {
  if (!crd.contains("status")) return false;
  for (const auto& c : crd["status"].value("conditions", json::array()))
    if (c.value("type", "") == "Established" && c.value("status", "") == "True") return true;
  return false;
}
}  // namespace

std::map<std::string, json> install_crds() {
  using namespace std::chrono_literals;
  std::map<std::string, json> stored;
  for (const char* file : {"ingressx.io_proxyfleets.yaml", "ingressx.io_fleetrollouts.yaml"}) {
    const std::string path = std::string(INGRESSX_SOURCE_DIR) + "/crds/" + file;
    json crd = yaml_to_json(read_text(path), path);
    const std::string name = crd["metadata"]["name"].get<std::string>();
    admin().apply(refs::kCRDs, "", crd, "ingressx-test", true);
    json got;
    for (int i = 0; i < 100; ++i) {
      got = admin().get(refs::kCRDs, "", name);
      if (established(got)) break;
      std::this_thread::sleep_for(100ms);
    }
    if (!established(got)) throw std::runtime_error("CRD " + name + " did not become Established");
    stored[name] = got;
  }
  // Discovery may lag Established by a moment: wait until the resources are served.
  const ResourceRef fleets{"ingressx.io", "v1alpha1", "proxyfleets", true, "ProxyFleet"};
  const ResourceRef rollouts{"ingressx.io", "v1alpha1", "fleetrollouts", true, "FleetRollout"};
  for (int i = 0; i < 100; ++i) {
    try {
      admin().list(fleets, "default");
      admin().list(rollouts, "default");
      break;
    } catch (const Error&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  return stored;
}

}  // namespace ingressx::testing
