// rollout status FLEET [--watch] [--timeout] [--until completed|paused|shifted|drained]
#include <iostream>

#include "rollout_view.h"
#include "session.h"

namespace ingressx::cli {

int rollout_status(const Globals& g, const StatusOptions& o) {
  WaitOptions w;
  w.until = parse_until(o.until);
  w.timeout = parse_flag_duration(o.timeout, "--timeout");
  w.poll = parse_flag_duration(o.poll, "--poll-interval");
  if (w.poll.count() <= 0) w.poll = std::chrono::milliseconds(1000);
  Session s(g);
  json fleet = s.get_fleet(o.fleet);
  // Judge the spec the user sees now: the operator must have observed this generation.
  w.min_generation = fleet["metadata"].value("generation", int64_t{0});
  if (o.watch) return wait_for_rollout(s, o.fleet, w);

  // One look, no waiting: not done yet is exit 3 (as if a zero timeout expired).
  auto rollout = s.current_rollout(fleet);
  Verdict v = judge(fleet, rollout ? &*rollout : nullptr, w.min_generation, w.until);
  switch (v.state) {
    case Verdict::State::kDone:
      std::cout << v.message << "\n";
      return kExitOk;
    case Verdict::State::kFailed:
      std::cout << v.message << "\n";
      return kExitFailed;
    case Verdict::State::kPromotion:
      std::cout << v.message << "\n";
      return kExitPaused;
    case Verdict::State::kWaiting:
      break;
  }
  std::cout << v.message << "\n";
  return kExitTimeout;
}

}  // namespace ingressx::cli
