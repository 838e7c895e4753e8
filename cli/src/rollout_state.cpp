#include "rollout_state.h"

#include <nlohmann/json.hpp>

#include "cli.h"
#include "ingressx/api/names.h"

namespace ingressx::cli {

using json = nlohmann::json;

Until parse_until(const std::string& s) {
  if (s == "completed") return Until::kCompleted;
  if (s == "paused") return Until::kPaused;
  if (s == "shifted") return Until::kShifted;
  if (s == "drained") return Until::kDrained;
  throw CliError(kExitUsage,
                 "--until " + s + ": expected one of completed, paused, shifted, drained");
}

namespace {

const json& field(const json& obj, const char* key) {
  static const json kEmpty = json::object();
  if (obj.is_object() && obj.contains(key) && obj[key].is_object()) return obj[key];
  return kEmpty;
}

int64_t int_of(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number()) return 0;
  return obj[key].get<int64_t>();
}

std::string str_of(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) return "";
  return obj[key].get<std::string>();
}

const json* find_step(const json& rollout, const std::string& name, size_t* index = nullptr) {
  const json& st = field(rollout, "status");
  if (!st.contains("steps") || !st["steps"].is_array()) return nullptr;
  for (size_t i = 0; i < st["steps"].size(); ++i) {
    if (str_of(st["steps"][i], "name") == name) {
      if (index) *index = i;
      return &st["steps"][i];
    }
  }
  return nullptr;
}

// The last traffic move of the rollout: the last shift step of the plan the operator fixed
// when it created the record (spec.plan). Records without one (older operators): TempFleet's
// shift-back/K, BlueGreen's shift/K, K the number of cutover steps.
std::string final_shift(const json& fleet, const json& rollout) {
  const json& rspec = field(rollout, "spec");
  if (rspec.contains("plan") && rspec["plan"].is_array()) {
    std::string last;
    for (const auto& n : rspec["plan"])
      if (n.is_string() && n.get<std::string>().rfind("shift", 0) == 0) last = n.get<std::string>();
    if (!last.empty()) return last;
  }
  std::string type = str_of(field(rspec, "strategy"), "type");
  if (type.empty()) type = str_of(field(field(fleet, "spec"), "strategy"), "type");
  size_t k = 1;
  const json& cut = field(rspec, "cutover");
  const json& fcut = field(field(fleet, "spec"), "cutover");
  if (cut.contains("steps") && cut["steps"].is_array() && !cut["steps"].empty())
    k = cut["steps"].size();
  else if (fcut.contains("steps") && fcut["steps"].is_array() && !fcut["steps"].empty())
    k = fcut["steps"].size();
  return (type == "BlueGreen" ? "shift/" : "shift-back/") + std::to_string(k);
}

}  // namespace

bool waiting_for_promotion(const json& rollout) {
  const json& st = field(rollout, "status");
  if (const json* p = find_step(rollout, "promote");
      p && str_of(*p, "phase") == api::phase::kRunning)
    return true;
  return str_of(st, "phase") == api::phase::kPaused && str_of(st, "currentStep") == "promote";
}

Verdict judge(const json& fleet, const json* rollout, int64_t min_generation, Until until) {
  using S = Verdict::State;
  const json& st = field(fleet, "status");
  const std::string name = str_of(field(fleet, "metadata"), "name");
  const int64_t observed = int_of(st, "observedGeneration");
  if (observed < min_generation) {
    return {S::kWaiting, "waiting for the operator to observe generation " +
                             std::to_string(min_generation) + " of " + name + " (observed " +
                             std::to_string(observed) + ")"};
  }
  const std::string phase = str_of(st, "phase");
  const int64_t cur = int_of(st, "currentRevision");
  const int64_t upd = int_of(st, "updateRevision");
  const bool settled = cur == upd;

  // The rollout only counts if it is the one for the update revision.
  const json* r = nullptr;
  if (rollout && (upd == 0 || int_of(field(*rollout, "spec"), "revision") == upd)) r = rollout;
  const json& rst = r ? field(*r, "status") : field(json::object(), "x");
  const std::string rname = r ? str_of(field(*r, "metadata"), "name") : "";
  const std::string rphase = str_of(rst, "phase");
  const std::string rmsg = str_of(rst, "message");
  const std::string step = str_of(rst, "currentStep");
  auto with_msg = [](std::string s, const std::string& m) { return m.empty() ? s : s + ": " + m; };

  if (rphase == api::phase::kFailed) {
    return {S::kFailed,
            with_msg("rollout " + rname + " (revision " + std::to_string(upd) +
                         ") failed and was rolled back to revision " + std::to_string(cur),
                     rmsg)};
  }
  if (rphase == api::phase::kAborted) {
    return {
        S::kFailed,
        with_msg("rollout " + rname + " (revision " + std::to_string(upd) + ") was aborted", rmsg)};
  }
  if (phase == api::phase::kAborted) {
    return {S::kFailed, with_msg(name + " is aborted (spec.abort)", str_of(st, "message"))};
  }
  if (until == Until::kPaused && (phase == api::phase::kPaused || rphase == api::phase::kPaused)) {
    return {S::kDone, name + " is paused" + (step.empty() ? "" : " at step " + step)};
  }
  if (rphase == api::phase::kSucceeded && settled) {
    return {S::kDone, "revision " + std::to_string(upd) + " of " + name +
                          " is rolled out (rollout " + rname + " succeeded)"};
  }
  if (!r && settled && phase == api::phase::kReady && until != Until::kPaused) {
    return {S::kDone, name + " is at revision " + std::to_string(cur) + " (phase Ready)"};
  }
  if (r && (until == Until::kShifted || until == Until::kDrained)) {
    size_t shift_index = 0;
    std::string shift = final_shift(fleet, *r);
    const json* s = find_step(*r, shift, &shift_index);
    bool shifted = s && str_of(*s, "phase") == api::phase::kSucceeded;
    if (shifted && until == Until::kShifted)
      return {S::kDone, "traffic is shifted (step " + shift + " succeeded)"};
    if (shifted) {
      const json& steps = rst["steps"];
      for (size_t i = shift_index + 1; i < steps.size(); ++i) {
        std::string n = str_of(steps[i], "name");
        if (n.rfind("drain-", 0) != 0) continue;
        if (str_of(steps[i], "phase") == api::phase::kSucceeded)
          return {S::kDone, "drained (step " + n + " succeeded)"};
        break;
      }
    }
  }
  if (r && rphase == api::phase::kPaused && waiting_for_promotion(*r) && until != Until::kPaused) {
    return {S::kPromotion, "rollout " + rname + " is waiting for promotion at step promote: run " +
                               "kubectl ingressx rollout promote " + name};
  }
  if (phase == api::phase::kPaused || rphase == api::phase::kPaused) {
    return {S::kWaiting, name + " is paused" + (step.empty() ? "" : " at step " + step) +
                             " (kubectl ingressx rollout resume " + name + ")"};
  }
  if (r) {
    std::string what = "rollout " + rname + " (revision " + std::to_string(upd) + ") " +
                       (rphase.empty() ? "Pending" : rphase);
    if (!step.empty()) what += ", step " + step;
    return {S::kWaiting, what};
  }
  if (!settled && phase == api::phase::kDegraded) {
    // Without the FleetRollout of the update revision the outcome is not known yet (the
    // operator may not have created it): keep waiting rather than guess.
    return {S::kWaiting,
            with_msg(name + " is Degraded, no rollout of revision " + std::to_string(upd) + " yet",
                     str_of(st, "message"))};
  }
  if (!settled)
    return {S::kWaiting, "waiting for the rollout of revision " + std::to_string(upd) + " of " +
                             name + " to start"};
  return {S::kWaiting, name + " is " + (phase.empty() ? "not reconciled yet" : phase)};
}

}  // namespace ingressx::cli
