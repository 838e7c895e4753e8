#pragma once
// The rollout tree (rollout get), progress output and the wait loop shared by
// `rollout start --wait`, `rollout status` and `rollout get --watch`.

#include <chrono>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "rollout_state.h"

namespace ingressx::cli {

class Session;

// The tree: fleet, rollout, steps with times, traffic split, fleets with their active
// connections, drains and analysis results. `rollout` may be null.
std::string render_tree(const nlohmann::json& fleet, const nlohmann::json* rollout);

struct WaitOptions {
  int64_t min_generation = 0;
  Until until = Until::kCompleted;
  std::chrono::milliseconds timeout{0};  // 0 = none
  std::chrono::milliseconds poll{1000};
  bool progress = true;  // print progress (lines, or a live tree on a terminal)
  bool tree = false;     // print the full tree on every change (rollout get --watch)
};

// Polls the fleet and its current rollout until judge() decides; returns the exit code
// (0, 1, 3 or 4) after printing the outcome.
int wait_for_rollout(Session& s, const std::string& fleet, const WaitOptions& o);

}  // namespace ingressx::cli
