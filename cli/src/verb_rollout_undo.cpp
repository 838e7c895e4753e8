// rollout undo FLEET [--to-revision N]: spec.undoTo = N (default the revision before
// status.currentRevision, from the fleet's FleetRollouts).
#include <iostream>
#include <set>

#include "session.h"

namespace ingressx::cli {

int rollout_undo(const Globals& g, const UndoOptions& o) {
  if (o.to_revision < 0) throw CliError(kExitUsage, "--to-revision must be >= 1");
  Session s(g);
  json fleet = s.get_fleet(o.fleet);
  std::set<int64_t> revisions;
  for (const auto& r : s.rollouts_of(o.fleet)) revisions.insert(r["spec"].value("revision", 0));
  std::string have;
  for (auto r : revisions) have += (have.empty() ? "" : ", ") + std::to_string(r);
  if (have.empty()) have = "none";
  int64_t target = o.to_revision;
  int64_t current = 0, update = 0;
  if (fleet.contains("status")) {
    current = fleet["status"].value("currentRevision", int64_t{0});
    update = fleet["status"].value("updateRevision", current);
  }
  if (target == 0) {
    for (auto r : revisions)
      if (r < current) target = r;
    if (target == 0) {
      throw CliError(kExitFailed, "proxyfleet " + o.fleet + " in namespace " + s.ns() +
                                      " has no revision before " + std::to_string(current) +
                                      " in its history (revisions: " + have + ")");
    }
  } else if (!revisions.count(target)) {
    throw CliError(kExitFailed, "revision " + std::to_string(target) + " of proxyfleet " + o.fleet +
                                    " in namespace " + s.ns() +
                                    " is not in its history (revisions: " + have + ")");
  }
  if (target == current && update == current) {
    std::cout << "proxyfleet.ingressx.io/" << o.fleet << " already runs revision " << target
              << " (skipped)\n";
    return kExitOk;
  }
  json f = s.client().patch(kProxyFleets, s.ns(), o.fleet, PatchType::kMerge,
                            {{"spec", {{"undoTo", target}}}});
  std::cout << object_ref(f) << " rolling back to revision " << target << " (spec.undoTo)\n";
  return kExitOk;
}

}  // namespace ingressx::cli
