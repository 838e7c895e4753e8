// rollout abort FLEET: spec.abort = true.
#include <iostream>

#include "session.h"

namespace ingressx::cli {

int rollout_abort(const Globals& g, const std::string& fleet) {
  Session s(g);
  json f = s.patch_fleet(fleet, {{"spec", {{"abort", true}}}});
  std::cout << object_ref(f)
            << " aborted (traffic returns to the known-good fleet; `rollout retry` or `rollout "
               "undo` starts again)\n";
  return kExitOk;
}

}  // namespace ingressx::cli
