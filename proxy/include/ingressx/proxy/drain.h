#pragma once
// The drain decision, apart from doing it: given the policy, when the proxy was told to
// quit and the latest connection count, say whether to keep waiting (and how long) or stop.
// Pure; time comes in as arguments so tests use a FakeClock's time points.

#include <optional>

#include "ingressx/core/clock.h"

namespace ingressx::proxy {

struct DrainPolicy {
  Clock::Duration propagation_delay{};  // keep serving while endpoint removal propagates
  Clock::Duration min_drain{};          // never call it drained before this, after the signal
  Clock::Duration max_drain{};          // stop waiting after this, after the signal
  int drained_at = 0;                   // active connections at or below this count as drained
  Clock::Duration poll_interval = std::chrono::milliseconds(200);
};

enum class DrainVerdict { kWait, kDrained, kMaxDrain };

struct DrainDecision {
  DrainVerdict verdict = DrainVerdict::kWait;
  Clock::Duration wait{};  // for kWait: how long to sleep before counting again
};

// `active` is nullopt when the count could not be taken: never drained then, only timed out.
DrainDecision decide_drain(const DrainPolicy& policy, Clock::TimePoint signalled_at,
                           Clock::TimePoint now, std::optional<int> active);

// Throws Error(kInvalidInput) naming the field when the policy is inconsistent
// (negative durations, min above max, non-positive poll interval, negative threshold).
void validate(const DrainPolicy& policy);

}  // namespace ingressx::proxy
