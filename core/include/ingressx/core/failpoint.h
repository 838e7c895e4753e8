#pragma once
// Failpoints: named points before and after every API write and every provider write, so
// that tests can make any write fail, hang or be the process's last act (etcd's gofail and
// TiKV's fail-rs are the models).
//
// Armed by the environment, read once: INGRESSX_FAILPOINTS="NAME=ACTION[;NAME=ACTION...]"
//   ACTION  crash        _exit(86) at once: no destructor, no flush beyond the log line
//           error        throw ingressx::Error(kTransport, "failpoint NAME")
//           delay:MS     sleep MS milliseconds, then go on
//   suffix  @K           only the K-th hit fires (1-based); @K+ : the K-th and every later one
// e.g. INGRESSX_FAILPOINTS="rollout-status.before=error@1;traffic.after=crash@3".
// Unarmed, a failpoint is one relaxed atomic load. Built out entirely (hit() is empty) with
// -DINGRESSX_FAILPOINTS=OFF, as release builds should be.
//
// Thread safety: hit() and arm() may be called from any thread.

#include <string>
#include <vector>

namespace ingressx::failpoint {

#if INGRESSX_FAILPOINTS_ENABLED
// Fires the failpoint NAME when it is armed.
void hit(const char* name);
#else
inline void hit(const char*) {}
#endif

// Arms failpoints from a spec in the INGRESSX_FAILPOINTS format (replacing what was armed);
// an empty spec disarms all. Throws ingressx::Error(kInvalidInput) naming the bad entry.
void arm(const std::string& spec);
// Every hit so far, as "NAME" or "NAME!" when it fired (tests).
std::vector<std::string> history();

}  // namespace ingressx::failpoint
