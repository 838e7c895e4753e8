#include "ingressx/proxy/drain.h"

#include <algorithm>

#include "ingressx/core/error.h"

namespace ingressx::proxy {

DrainDecision decide_drain(const DrainPolicy& policy, Clock::TimePoint signalled_at,
                           Clock::TimePoint now, std::optional<int> active) {
  auto elapsed = now - signalled_at;
  if (elapsed >= policy.max_drain) return {DrainVerdict::kMaxDrain, {}};
  auto to_max = policy.max_drain - elapsed;
  if (active && *active <= policy.drained_at) {
    if (elapsed >= policy.min_drain) return {DrainVerdict::kDrained, {}};
    // Drained early: count again when the minimum drain has passed.
    return {DrainVerdict::kWait, std::min(policy.min_drain - elapsed, to_max)};
  }
  return {DrainVerdict::kWait, std::min(policy.poll_interval, to_max)};
}

void validate(const DrainPolicy& policy) {
  auto fail = [](const std::string& what) {
    throw Error(Error::Kind::kInvalidInput, "drain policy: " + what);
  };
  if (policy.propagation_delay.count() < 0) fail("propagation delay must not be negative");
  if (policy.min_drain.count() < 0) fail("minimum drain must not be negative");
  if (policy.max_drain < policy.min_drain) fail("maximum drain must be at least the minimum drain");
  if (policy.poll_interval.count() <= 0) fail("poll interval must be positive");
  if (policy.drained_at < 0) fail("drained-at must not be negative");
}

}  // namespace ingressx::proxy
