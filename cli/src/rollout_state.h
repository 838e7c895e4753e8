#pragma once
// How a rollout is judged from the fleet's status and its current FleetRollout. Pure.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace ingressx::cli {

enum class Until { kCompleted, kPaused, kShifted, kDrained };
// "completed" | "paused" | "shifted" | "drained"; CliError(kExitUsage) otherwise.
Until parse_until(const std::string& s);

struct Verdict {
  enum class State {
    kWaiting,    // not there yet
    kDone,       // the condition holds: exit 0
    kFailed,     // failed, aborted or rolled back: exit 1
    kPromotion,  // paused at the promotion point while waiting for completion: exit 4
  };
  State state = State::kWaiting;
  std::string message;
};

// `rollout` is the FleetRollout named in status.currentRollout (nullptr if none).
// `min_generation`: the status is only judged once status.observedGeneration reaches it (the
// operator may not have seen the change yet).
Verdict judge(const nlohmann::json& fleet, const nlohmann::json* rollout, int64_t min_generation,
              Until until);

// The step named `promote` is Running, or is the current step of a Paused rollout.
bool waiting_for_promotion(const nlohmann::json& rollout);

}  // namespace ingressx::cli
