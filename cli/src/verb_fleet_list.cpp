// fleet list [-A]
#include <iostream>

#include "fleet_table.h"
#include "session.h"

namespace ingressx::cli {

int fleet_list(const Globals& g) {
  check_output_flag(g.output);
  Session s(g);
  json list = s.client().list_all(kProxyFleets, g.all_namespaces ? "" : s.ns());
  std::vector<json> items = list.value("items", json::array());
  if (structured_output(g)) {
    print_objects(std::cout, g, items, true);
    return kExitOk;
  }
  if (items.empty()) {
    std::cerr << "No proxyfleets found" << (g.all_namespaces ? "" : " in namespace " + s.ns())
              << ".\n";
    return kExitOk;
  }
  print_table(std::cout, fleet_table(g, items));
  return kExitOk;
}

}  // namespace ingressx::cli
