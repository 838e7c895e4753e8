// fleet describe NAME: the spec in short, the status, conditions, fleets, current rollout
// and history.
#include <iostream>

#include "output.h"
#include "rollout_view.h"
#include "session.h"

namespace ingressx::cli {

int fleet_describe(const Globals& g, const std::string& name) {
  Session s(g);
  json f = s.get_fleet(name);
  auto rollout = s.current_rollout(f);
  const json& spec = f["spec"];
  const json md = f["metadata"];
  std::cout << "Name:         " << name << "\n"
            << "Namespace:    " << s.ns() << "\n"
            << "Created:      " << md.value("creationTimestamp", "") << " ("
            << age(md.value("creationTimestamp", "")) << " ago)\n"
            << "Replicas:     " << spec.value("replicas", 0) << " (" << spec.value("workload", "")
            << ")\n";
  if (spec.contains("proxy"))
    std::cout << "Proxy:        " << spec["proxy"].value("kind", "") << "\n";
  if (spec.contains("proxy") && spec["proxy"].contains("drain")) {
    const json& d = spec["proxy"]["drain"];
    std::cout << "Drain:        propagationDelay " << d.value("propagationDelay", "")
              << ", minDrain " << d.value("minDrain", "") << ", maxDrain "
              << d.value("maxDrain", "") << ", drainedAt " << d.value("drainedAt", 0) << ", source "
              << d.value("connectionSource", "") << "\n";
  }
  if (spec.contains("cutover")) {
    const json& c = spec["cutover"];
    std::string provider;
    if (c.contains("dns")) provider = c["dns"].value("provider", "");
    if (c.contains("weight")) provider = c["weight"].value("provider", "");
    std::string steps;
    for (const auto& st : c.value("steps", json::array())) {
      if (!steps.empty()) steps += ", ";
      steps += std::to_string(st.value("weight", 0)) + "%";
      if (st.contains("pause")) steps += " (pause " + st["pause"].get<std::string>() + ")";
    }
    std::cout << "Cutover:      " << c.value("type", "") << " via " << provider << "; steps "
              << steps << "\n";
  }
  std::cout << "\n" << render_tree(f, rollout ? &*rollout : nullptr);
  const json st = f.value("status", json::object());
  if (st.contains("conditions")) {
    std::cout << "Conditions:\n";
    Table t{{"  TYPE", "STATUS", "REASON", "AGE", "MESSAGE"}, {}};
    for (const auto& c : st["conditions"])
      t.rows.push_back({"  " + c.value("type", ""), c.value("status", ""), c.value("reason", ""),
                        age(c.value("lastTransitionTime", "")), c.value("message", "")});
    print_table(std::cout, t);
  }
  auto history = s.rollouts_of(name);
  std::cout << "History:      ";
  if (history.empty()) std::cout << "<none>";
  for (size_t i = 0; i < history.size(); ++i) {
    const json& h = history[i];
    std::cout << (i ? ", " : "") << h["spec"].value("revision", int64_t{0}) << " "
              << h.value("status", json::object()).value("phase", "?");
  }
  std::cout << "\n";
  return kExitOk;
}

}  // namespace ingressx::cli
