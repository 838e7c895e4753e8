// rollout promote FLEET: a new spec.promote token (passes the manual promotion point, or ends
// the current step's pause, once).
#include <iostream>

#include "rollout_state.h"
#include "session.h"

namespace ingressx::cli {

int rollout_promote(const Globals& g, const std::string& fleet) {
  Session s(g);
  json before = s.get_fleet(fleet);
  auto rollout = s.current_rollout(before);
  std::string token = new_token();
  json f = s.client().patch(kProxyFleets, s.ns(), fleet, PatchType::kMerge,
                            {{"spec", {{"promote", token}}}});
  std::cout << object_ref(f) << " promoted (spec.promote=" << token << ")\n";
  if (!rollout || !waiting_for_promotion(*rollout)) {
    std::cerr << "note: no rollout of " << fleet
              << " is waiting for promotion now; the token ends a running step's pause, "
                 "otherwise the operator records it and ignores it\n";
  }
  return kExitOk;
}

}  // namespace ingressx::cli
