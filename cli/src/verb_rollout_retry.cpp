// rollout retry FLEET: spec.abort = false and a new spec.retry token (starts the last failed
// or aborted rollout of the current template again).
#include <iostream>

#include "session.h"

namespace ingressx::cli {

int rollout_retry(const Globals& g, const std::string& fleet) {
  Session s(g);
  std::string token = new_token();
  json f = s.patch_fleet(fleet, {{"spec", {{"abort", false}, {"retry", token}}}});
  std::cout << object_ref(f) << " retried (spec.retry=" << token << ")\n";
  return kExitOk;
}

}  // namespace ingressx::cli
