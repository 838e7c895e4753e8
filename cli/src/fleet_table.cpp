#include "fleet_table.h"

#include <nlohmann/json.hpp>

namespace ingressx::cli {

Table fleet_table(const Globals& g, const std::vector<nlohmann::json>& fleets) {
  bool wide = g.output == "wide";
  Table t;
  if (g.all_namespaces) t.headers.push_back("NAMESPACE");
  for (const char* h : {"NAME", "PHASE", "ACTIVE", "TRAFFIC", "REVISION"}) t.headers.push_back(h);
  if (wide) {
    t.headers.push_back("UPDATE");
    t.headers.push_back("REPLICAS");
    t.headers.push_back("ROLLOUT");
  }
  t.headers.push_back("AGE");
  for (const auto& f : fleets) {
    const nlohmann::json st = f.value("status", nlohmann::json::object());
    auto num = [&](const char* k) {
      return st.contains(k) ? std::to_string(st[k].get<int64_t>()) : std::string();
    };
    std::vector<std::string> row;
    if (g.all_namespaces) row.push_back(f["metadata"].value("namespace", ""));
    row.push_back(f["metadata"].value("name", ""));
    row.push_back(st.value("phase", ""));
    row.push_back(st.value("activeFleet", ""));
    row.push_back(st.value("trafficSummary", ""));
    row.push_back(num("currentRevision"));
    if (wide) {
      row.push_back(num("updateRevision"));
      row.push_back(std::to_string(f["spec"].value("replicas", 0)));
      row.push_back(st.value("currentRollout", ""));
    }
    row.push_back(age(f["metadata"].value("creationTimestamp", "")));
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace ingressx::cli
