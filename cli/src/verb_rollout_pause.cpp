// rollout pause FLEET: spec.paused = true.
#include <iostream>

#include "session.h"

namespace ingressx::cli {

int rollout_pause(const Globals& g, const std::string& fleet) {
  Session s(g);
  json f = s.patch_fleet(fleet, {{"spec", {{"paused", true}}}});
  std::cout << object_ref(f) << " paused\n";
  return kExitOk;
}

}  // namespace ingressx::cli
