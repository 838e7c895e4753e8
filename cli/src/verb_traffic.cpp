// traffic FLEET: the current weights from status (trafficSplit) with each fleet's role,
// revision, readiness and active connections.
#include <iostream>

#include "output.h"
#include "session.h"

namespace ingressx::cli {

int traffic(const Globals& g, const std::string& fleet) {
  check_output_flag(g.output, false);
  Session s(g);
  json f = s.get_fleet(fleet);
  json st = f.value("status", json::object());
  json split = st.value("trafficSplit", json::array());
  json fleets = st.value("fleets", json::array());
  if (structured_output(g)) {
    json doc = {{"fleet", fleet},
                {"namespace", s.ns()},
                {"trafficSplit", split},
                {"fleets", fleets},
                {"activeFleet", st.value("activeFleet", "")}};
    if (g.output == "name") throw CliError(kExitUsage, "traffic: -o name is not supported");
    print_objects(std::cout, g, {doc}, false);
    return kExitOk;
  }
  if (split.empty()) {
    std::cout << "proxyfleet " << fleet << " in namespace " << s.ns()
              << " reports no traffic split yet\n";
    return kExitOk;
  }
  Table t{{"FLEET", "WEIGHT", "ROLE", "REVISION", "READY", "CONNECTIONS"}, {}};
  for (const auto& e : split) {
    std::string name = e.value("fleet", "");
    std::vector<std::string> row{name, std::to_string(e.value("weight", 0)) + "%", "", "", "", ""};
    for (const auto& fl : fleets) {
      if (fl.value("name", "") != name) continue;
      row[2] = fl.value("role", "");
      row[3] = fl.contains("revision") ? std::to_string(fl["revision"].get<int64_t>()) : "";
      row[4] = std::to_string(fl.value("readyReplicas", 0)) + "/" +
               std::to_string(fl.value("replicas", 0));
      row[5] = fl.contains("activeConnections")
                   ? std::to_string(fl["activeConnections"].get<int64_t>())
                   : "";
    }
    t.rows.push_back(std::move(row));
  }
  print_table(std::cout, t);
  return kExitOk;
}

}  // namespace ingressx::cli
