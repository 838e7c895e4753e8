#pragma once
// The preStop sequence: keep serving for the propagation delay, send the graceful stop,
// wait for the drain (decided by proxy::decide_drain), report. Every collaborator is
// passed in, so that tests run it with a FakeClock and fakes, without sleeping.

#include <optional>

#include "counters.h"
#include "hook_events.h"
#include "ingressx/core/clock.h"
#include "ingressx/proxy/adapter.h"
#include "ingressx/proxy/drain.h"
#include "run_lock.h"

namespace ingressx::hook {

struct PrestopOutcome {
  bool waited_for_other = false;  // another invocation held the lock; this one only waited
  bool signalled = false;         // this invocation sent the graceful stop
  proxy::DrainVerdict verdict = proxy::DrainVerdict::kWait;
  std::optional<int> still_open;  // the last count taken
};

struct PrestopDeps {
  proxy::ProxyAdapter& adapter;
  ConnectionCounter& counter;
  RunLock& lock;
  Clock& clock;
  EventSink& events;
};

// `targets` come from adapter.find_targets(). Never throws for runtime failures (a failed
// signal is logged and the drain wait still runs): a preStop hook must end.
PrestopOutcome run_prestop(const proxy::DrainPolicy& policy, const std::vector<int>& targets,
                           const PrestopDeps& deps);

}  // namespace ingressx::hook
