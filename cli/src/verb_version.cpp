// version [-o json|yaml]
#include <iostream>
#include <nlohmann/json.hpp>

#include "output.h"

#ifndef INGRESSX_VERSION
#define INGRESSX_VERSION "0.0.0"
#endif

namespace ingressx::cli {

const char* version_string() {
  return INGRESSX_VERSION;
}

int version(const Globals& g) {
  if (g.output.empty()) {
    std::cout << "kubectl-ingressx v" << version_string()
              << " (ingressx.io/v1alpha1: ProxyFleet, FleetRollout)\n";
    return kExitOk;
  }
  if (g.output == "name" || g.output == "wide")
    throw CliError(kExitUsage, "version: -o " + g.output + " is not supported (json or yaml)");
  check_output_flag(g.output);
  nlohmann::json v = {
      {"clientVersion",
       {{"version", std::string("v") + version_string()}, {"apiVersion", "ingressx.io/v1alpha1"}}}};
  print_objects(std::cout, g, {v}, false);
  return kExitOk;
}

}  // namespace ingressx::cli
