// fleet get NAME...
#include <iostream>

#include "fleet_table.h"
#include "session.h"

namespace ingressx::cli {

int fleet_get(const Globals& g, const std::vector<std::string>& names) {
  check_output_flag(g.output);
  if (names.empty()) throw CliError(kExitUsage, "fleet get: give at least one fleet name");
  Globals one = g;
  one.all_namespaces = false;
  Session s(one);
  std::vector<json> items;
  for (const auto& n : names) items.push_back(s.get_fleet(n));
  if (structured_output(g)) {
    print_objects(std::cout, g, items, items.size() > 1);
    return kExitOk;
  }
  print_table(std::cout, fleet_table(one, items));
  return kExitOk;
}

}  // namespace ingressx::cli
