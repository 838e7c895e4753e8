// rollout list [-A]: FleetRollouts of the namespace (or of all namespaces).
#include <algorithm>
#include <iostream>

#include "output.h"
#include "session.h"

namespace ingressx::cli {

int rollout_list(const Globals& g) {
  check_output_flag(g.output);
  Session s(g);
  json list = s.client().list_all(kFleetRollouts, g.all_namespaces ? "" : s.ns());
  std::vector<json> items = list.value("items", json::array());
  std::stable_sort(items.begin(), items.end(), [](const json& a, const json& b) {
    auto key = [](const json& o) {
      return std::make_tuple(
          o["metadata"].value("namespace", ""),
          o["spec"].contains("fleetRef") ? o["spec"]["fleetRef"].value("name", "") : std::string(),
          o["spec"].value("revision", int64_t{0}));
    };
    return key(a) < key(b);
  });
  if (structured_output(g)) {
    print_objects(std::cout, g, items, true);
    return kExitOk;
  }
  if (items.empty()) {
    std::cerr << "No rollouts found" << (g.all_namespaces ? "" : " in namespace " + s.ns())
              << ".\n";
    return kExitOk;
  }
  bool wide = g.output == "wide";
  Table t;
  if (g.all_namespaces) t.headers.push_back("NAMESPACE");
  for (const char* h : {"NAME", "FLEET", "REVISION", "PHASE", "STEP"}) t.headers.push_back(h);
  if (wide) t.headers.push_back("TRIGGER");
  t.headers.push_back("AGE");
  for (const auto& r : items) {
    const json& sp = r["spec"];
    const json st = r.value("status", json::object());
    std::vector<std::string> row;
    if (g.all_namespaces) row.push_back(r["metadata"].value("namespace", ""));
    row.push_back(r["metadata"].value("name", ""));
    row.push_back(sp.contains("fleetRef") ? sp["fleetRef"].value("name", "") : "");
    row.push_back(std::to_string(sp.value("revision", int64_t{0})));
    row.push_back(st.value("phase", ""));
    row.push_back(st.value("currentStep", ""));
    if (wide) row.push_back(sp.value("trigger", ""));
    row.push_back(age(r["metadata"].value("creationTimestamp", "")));
    t.rows.push_back(std::move(row));
  }
  print_table(std::cout, t);
  return kExitOk;
}

}  // namespace ingressx::cli
