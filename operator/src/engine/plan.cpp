// Step names and plans of a rollout (see engine.h).
#include <string>
#include <vector>

#include "ingressx/api/names.h"
#include "ingressx/operator/engine.h"

namespace ingressx::op {

namespace {

bool starts_with(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}

bool is_role(const std::string& r) {
  return r == "primary" || r == "temp" || r == "blue" || r == "green";
}

// "shift-to-temp/3" -> 2 (0-based), nullopt when malformed or out of range.
std::optional<int> shift_index(const std::string& name, const std::string& prefix,
                               const RolloutRecord& r) {
  if (!starts_with(name, prefix)) return std::nullopt;
  const std::string n = name.substr(prefix.size());
  if (n.empty() || n.size() > 3 || n.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const int i = std::stoi(n) - 1;
  if (i < 0 || i >= static_cast<int>(r.steps.size())) return std::nullopt;
  return i;
}

std::string other_role(const std::string& role) {
  if (role == "primary") return "temp";
  if (role == "temp") return "primary";
  if (role == "blue") return "green";
  return "blue";
}

}  // namespace

std::string fleet_name(const std::string& fleet, const std::string& role) {
  if (role == "primary") return fleet;
  return fleet + "-" + role;
}

std::optional<StepDef> step_of(const std::string& name, const RolloutRecord& r) {
  const bool temp = r.strategy == StrategyType::kTempFleet;
  if (starts_with(name, "abort/")) {
    const std::string rest = name.substr(6);
    auto role_after = [&](const std::string& p) -> std::optional<std::string> {
      if (!starts_with(rest, p)) return std::nullopt;
      std::string role = rest.substr(p.size());
      if (!is_role(role)) return std::nullopt;
      return role;
    };
    if (auto role = role_after("return-to-")) {
      StepDef d{StepKind::kActivate, *role, other_role(*role), -1, false, true};
      return d;
    }
    if (auto role = role_after("drain-"))
      return StepDef{StepKind::kDrain, *role, "", -1, false, true};
    if (auto role = role_after("delete-"))
      return StepDef{StepKind::kRemove, *role, "", -1, false, true};
    if (rest == "rollback-primary" && temp)
      return StepDef{StepKind::kUpgrade, "primary", "", -1, true, true};
    return std::nullopt;
  }
  if (temp) {
    if (auto i = shift_index(name, "shift-to-temp/", r))
      return StepDef{StepKind::kShift, "temp", "primary", *i, false, false};
    if (auto i = shift_index(name, "shift-back/", r))
      return StepDef{StepKind::kShift, "primary", "temp", *i, false, false};
    if (name == "provision-temp") return StepDef{StepKind::kProvision, "temp", "", -1, true, false};
    if (name == "provision-primary")
      return StepDef{StepKind::kProvision, "primary", "", -1, false, false};
    if (name == "activate-primary")
      return StepDef{StepKind::kActivate, "primary", "temp", -1, false, false};
    if (name == "drain-primary") return StepDef{StepKind::kDrain, "primary", "", -1, false, false};
    if (name == "upgrade-primary")
      return StepDef{StepKind::kUpgrade, "primary", "", -1, false, false};
    if (name == "verify-primary")
      return StepDef{StepKind::kVerify, "primary", "", -1, false, false};
    if (name == "promote") return StepDef{StepKind::kPromote, "", "", -1, false, false};
    if (name == "drain-temp") return StepDef{StepKind::kDrain, "temp", "", -1, false, false};
    if (name == "delete-temp") return StepDef{StepKind::kRemove, "temp", "", -1, false, false};
    return std::nullopt;
  }
  const std::string& nc = r.new_colour;
  const std::string& oc = r.old_colour;
  if (auto i = shift_index(name, "shift/", r))
    return StepDef{StepKind::kShift, nc, oc, *i, false, false};
  if (name == "provision-" + nc) return StepDef{StepKind::kProvision, nc, "", -1, false, false};
  if (name == "activate-" + nc) return StepDef{StepKind::kActivate, nc, oc, -1, false, false};
  if (name == "verify-" + nc) return StepDef{StepKind::kVerify, nc, "", -1, false, false};
  if (name == "promote") return StepDef{StepKind::kPromote, "", "", -1, false, false};
  if (name == "drain-" + oc) return StepDef{StepKind::kDrain, oc, "", -1, false, false};
  if (name == "scale-down-" + oc) return StepDef{StepKind::kRemove, oc, "", -1, false, false};
  return std::nullopt;
}

std::vector<std::string> plan_for(const RolloutRecord& r, bool initial) {
  std::vector<std::string> p;
  const size_t n = r.steps.size();
  if (r.strategy == StrategyType::kTempFleet) {
    if (initial) return {"provision-primary", "activate-primary"};
    p.push_back("provision-temp");
    for (size_t i = 1; i <= n; ++i) p.push_back("shift-to-temp/" + std::to_string(i));
    p.insert(p.end(), {"drain-primary", "upgrade-primary", "verify-primary", "promote"});
    for (size_t i = 1; i <= n; ++i) p.push_back("shift-back/" + std::to_string(i));
    p.insert(p.end(), {"drain-temp", "delete-temp"});
    return p;
  }
  if (initial) return {"provision-" + r.new_colour, "activate-" + r.new_colour};
  p = {"provision-" + r.new_colour, "verify-" + r.new_colour, "promote"};
  for (size_t i = 1; i <= n; ++i) p.push_back("shift/" + std::to_string(i));
  p.push_back("drain-" + r.old_colour);
  p.push_back("scale-down-" + r.old_colour);
  return p;
}

std::vector<std::string> abort_plan_for(const RolloutRecord& r, size_t at) {
  if (at >= r.plan.size()) return {};
  const std::string& name = r.plan[at].name;
  auto phase_of = [&](const std::string& n) {
    for (const auto& s : r.plan)
      if (s.name == n) return s.phase;
    return StepPhase::kPending;
  };
  if (r.strategy == StrategyType::kTempFleet) {
    if (name == "provision-primary" || name == "activate-primary") return {};  // initial
    if (name == "delete-temp") return {};  // too late: the temp fleet is going away
    const bool primary_touched = phase_of("upgrade-primary") != StepPhase::kPending;
    if (!primary_touched) {
      if (name == "provision-temp") return {"abort/return-to-primary", "abort/delete-temp"};
      return {"abort/return-to-primary", "abort/drain-temp", "abort/delete-temp"};
    }
    return {"abort/return-to-temp",    "abort/drain-primary", "abort/rollback-primary",
            "abort/return-to-primary", "abort/drain-temp",    "abort/delete-temp"};
  }
  const std::string& nc = r.new_colour;
  const std::string& oc = r.old_colour;
  if (name == "activate-" + nc || r.from_revision == 0) return {};  // initial
  if (name == "scale-down-" + oc) {
    // Only while the old colour has not been deleted yet (its wait runs).
    if (r.plan[at].waiting_since && r.plan[at].message == "deleting") return {};
  }
  if (name == "provision-" + nc || name == "verify-" + nc || name == "promote")
    return {"abort/return-to-" + oc, "abort/delete-" + nc};
  return {"abort/return-to-" + oc, "abort/drain-" + nc, "abort/delete-" + nc};
}

const char* to_string(StepPhase p) {
  switch (p) {
    case StepPhase::kPending:
      return "Pending";
    case StepPhase::kRunning:
      return "Running";
    case StepPhase::kSucceeded:
      return "Succeeded";
    case StepPhase::kFailed:
      return "Failed";
    case StepPhase::kSkipped:
      return "Skipped";
    case StepPhase::kAborted:
      return "Aborted";
  }
  return "Pending";
}

StepPhase step_phase_from(const std::string& s) {
  if (s == api::phase::kRunning) return StepPhase::kRunning;
  if (s == api::phase::kSucceeded) return StepPhase::kSucceeded;
  if (s == api::phase::kFailed) return StepPhase::kFailed;
  if (s == api::phase::kSkipped) return StepPhase::kSkipped;
  if (s == api::phase::kAborted) return StepPhase::kAborted;
  return StepPhase::kPending;
}

}  // namespace ingressx::op
