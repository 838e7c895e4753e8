// rollout history FLEET [--revision N]
#include <iostream>

#include "ingressx/core/yaml.h"
#include "output.h"
#include "session.h"

namespace ingressx::cli {

int rollout_history(const Globals& g, const HistoryOptions& o) {
  check_output_flag(g.output, false);
  Session s(g);
  json fleet = s.get_fleet(o.fleet);
  auto rollouts = s.rollouts_of(o.fleet);
  if (o.revision > 0) {
    for (const auto& r : rollouts) {
      if (r["spec"].value("revision", int64_t{0}) != o.revision) continue;
      if (structured_output(g)) {
        print_objects(std::cout, g, {r}, false);
        return kExitOk;
      }
      const json& sp = r["spec"];
      const json st = r.value("status", json::object());
      std::cout << "proxyfleet.ingressx.io/" << o.fleet << " revision " << o.revision << "\n"
                << "Rollout:  " << r["metadata"].value("name", "") << "\n"
                << "Trigger:  " << sp.value("trigger", "") << "\n"
                << "Reason:   " << sp.value("reason", "") << "\n"
                << "From:     " << sp.value("fromRevision", int64_t{0}) << "\n"
                << "Hash:     " << sp.value("templateHash", "") << "\n"
                << "Phase:    " << st.value("phase", "") << "\n"
                << "Started:  " << st.value("startedAt", "") << "\n"
                << "Finished: " << st.value("finishedAt", "") << "\n"
                << "Message:  " << st.value("message", "") << "\n"
                << "Template:\n";
      std::string y = json_to_yaml(sp.value("template", json::object()));
      size_t start = 0;
      while (start < y.size()) {
        size_t end = y.find('\n', start);
        if (end == std::string::npos) end = y.size();
        std::cout << "  " << y.substr(start, end - start) << "\n";
        start = end + 1;
      }
      return kExitOk;
    }
    throw CliError(kExitFailed, "revision " + std::to_string(o.revision) + " of proxyfleet " +
                                    o.fleet + " in namespace " + s.ns() + " not found in history");
  }
  if (structured_output(g)) {
    print_objects(std::cout, g, rollouts, true);
    return kExitOk;
  }
  if (rollouts.empty()) {
    std::cout << "No rollouts of proxyfleet " << o.fleet << " in namespace " << s.ns() << ".\n";
    return kExitOk;
  }
  int64_t current = fleet.contains("status") ? fleet["status"].value("currentRevision", 0) : 0;
  Table t{{"REVISION", "ROLLOUT", "TRIGGER", "PHASE", "STARTED", "DURATION", "REASON"}, {}};
  for (const auto& r : rollouts) {
    const json& sp = r["spec"];
    const json st = r.value("status", json::object());
    int64_t rev = sp.value("revision", int64_t{0});
    t.rows.push_back({std::to_string(rev) + (rev == current ? " (current)" : ""),
                      r["metadata"].value("name", ""), sp.value("trigger", ""),
                      st.value("phase", ""), st.value("startedAt", ""),
                      duration_between(st.value("startedAt", ""), st.value("finishedAt", "")),
                      sp.value("reason", "")});
  }
  print_table(std::cout, t);
  return kExitOk;
}

}  // namespace ingressx::cli
