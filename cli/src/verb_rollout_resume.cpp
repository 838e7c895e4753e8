// rollout resume FLEET: spec.paused = false.
#include <iostream>

#include "session.h"

namespace ingressx::cli {

int rollout_resume(const Globals& g, const std::string& fleet) {
  Session s(g);
  json f = s.patch_fleet(fleet, {{"spec", {{"paused", false}}}});
  std::cout << object_ref(f) << " resumed\n";
  return kExitOk;
}

}  // namespace ingressx::cli
