#pragma once
// The words of the API's status: phases (ProxyFleet, FleetRollout and step), fleet roles and
// condition types. Written once here; compared and written everywhere else through these.

#include <string_view>

namespace ingressx::api {

// status.phase of a ProxyFleet (Pending, Ready, Progressing, Paused, Degraded, Aborted), of a
// FleetRollout (Pending, Progressing, Paused, Succeeded, Failed, Aborted) and of a step
// (Pending, Running, Succeeded, Failed, Skipped, Aborted).
namespace phase {
inline constexpr std::string_view kPending = "Pending";
inline constexpr std::string_view kReady = "Ready";
inline constexpr std::string_view kProgressing = "Progressing";
inline constexpr std::string_view kPaused = "Paused";
inline constexpr std::string_view kDegraded = "Degraded";
inline constexpr std::string_view kAborted = "Aborted";
inline constexpr std::string_view kSucceeded = "Succeeded";
inline constexpr std::string_view kFailed = "Failed";
inline constexpr std::string_view kRunning = "Running";
inline constexpr std::string_view kSkipped = "Skipped";
}  // namespace phase

// A FleetRollout in this phase is over (its outcome is final).
constexpr bool rollout_finished(std::string_view p) {
  return p == phase::kSucceeded || p == phase::kFailed || p == phase::kAborted;
}

// A fleet's role in its ProxyFleet (status.fleets[].role; its name is <fleet>-<role>, the
// primary's is the ProxyFleet's own).
namespace role {
inline constexpr std::string_view kPrimary = "primary";
inline constexpr std::string_view kTemp = "temp";
inline constexpr std::string_view kBlue = "blue";
inline constexpr std::string_view kGreen = "green";
}  // namespace role

// ProxyFleet status.conditions[].type.
namespace condition {
inline constexpr std::string_view kReady = "Ready";
inline constexpr std::string_view kProgressing = "Progressing";
inline constexpr std::string_view kDegraded = "Degraded";
inline constexpr std::string_view kPaused = "Paused";
inline constexpr std::string_view kCutoverReady = "CutoverReady";
}  // namespace condition

}  // namespace ingressx::api
