// The rollout engine (see engine.h): a snapshot in, the next actions out.
#include "ingressx/operator/engine.h"

#include <algorithm>
#include <string>

#include "ingressx/api/names.h"

namespace ingressx::op {

namespace {

using std::chrono::duration_cast;

std::string secs(Millis d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  return std::to_string(ms / 1000) + "." + std::to_string((ms % 1000) / 100) + "s";
}

Millis since(WallTime now, WallTime then) {
  return duration_cast<Millis>(now - then);
}

struct StepResult {
  enum Kind { kDone, kSkip, kWait, kFail } kind = kWait;
  std::string message;
  Millis requeue{1000};
};
StepResult done(std::string msg = "") {
  return {StepResult::kDone, std::move(msg), Millis{0}};
}
StepResult wait(std::string msg, Millis requeue) {
  return {StepResult::kWait, std::move(msg), std::max(requeue, Millis{0})};
}
StepResult fail(std::string msg) {
  return {StepResult::kFail, std::move(msg), Millis{0}};
}

StepRecord pending_step(const std::string& name) {
  StepRecord s;
  s.name = name;
  return s;
}

class Engine {
 public:
  explicit Engine(const Snapshot& s) : s_(s), set_(s.settings) { d_.state = s.state; }

  Decision run() {
    track_update_revision();
    if (s_.rollout && !s_.rollout->finished()) {
      d_.rollout = *s_.rollout;
      advance();
    } else {
      idle();
    }
    consume_stray_promote();
    return std::move(d_);
  }

 private:
  const Snapshot& s_;
  const FleetSettings& set_;
  Decision d_;
  bool promote_consumed_ = false;

  FleetState& st() { return d_.state; }
  RolloutRecord& r() { return *d_.rollout; }

  std::string fleet(const std::string& role) const { return fleet_name(set_.name, role); }
  const FleetObservation* obs(const std::string& fleet_name) const {
    auto it = s_.fleets.find(fleet_name);
    return it == s_.fleets.end() ? nullptr : &it->second;
  }
  bool promote_new() const {
    return !set_.promote.empty() && set_.promote != st_in().observed_promote;
  }
  const FleetState& st_in() const { return d_.state; }
  void event(const std::string& type, const std::string& reason, const std::string& note) {
    d_.actions.push_back(RecordEvent{type, reason, note});
  }
  void requeue(Millis m) {
    if (!d_.requeue_after || m < *d_.requeue_after) d_.requeue_after = m;
  }

  // ---- revisions ----
  void track_update_revision() {
    if (s_.template_hash.empty() || s_.template_hash == st().update_hash) return;
    if (!st().current_hash.empty() && s_.template_hash == st().current_hash) {
      st().update_hash = st().current_hash;
      st().update_revision = st().current_revision;
      return;
    }
    int64_t next = std::max({s_.max_revision, st().update_revision, st().current_revision});
    if (s_.rollout) next = std::max(next, s_.rollout->revision);
    st().update_revision = next + 1;
    st().update_hash = s_.template_hash;
  }

  // ---- no rollout running ----
  void idle() {
    const RolloutRecord* last = s_.rollout ? &*s_.rollout : nullptr;
    if (last) adopt_outcome(*last);
    const bool retry_new = !set_.retry.empty() && set_.retry != st().observed_retry;
    if (set_.undo_to) {
      d_.actions.push_back(RestoreTemplate{*set_.undo_to});
      d_.log = "undo to revision " + std::to_string(*set_.undo_to);
      requeue(Millis{0});
      return;
    }
    if (set_.abort) {
      steady();
      set_phase(api::phase::kAborted, "spec.abort is true: no rollout starts until it is false");
      if (retry_new) st().observed_retry = set_.retry;
      return;
    }
    const bool pending = st().update_hash != st().current_hash || st().current_revision == 0;
    if (!pending) {
      if (retry_new) {
        st().observed_retry = set_.retry;
        event(
            "Normal", "RetryIgnored",
            "nothing to retry: revision " + std::to_string(st().current_revision) + " is current");
      }
      steady();
      return;
    }
    const bool last_failed_same =
        last && last->hash == st().update_hash &&
        (last->phase == api::phase::kFailed || last->phase == api::phase::kAborted);
    if (last_failed_same && !retry_new) {
      steady();
      set_phase(last->phase == api::phase::kFailed ? "Degraded" : "Aborted",
                "the rollout of revision " + std::to_string(last->revision) + " ended " +
                    last->phase + ": " + last->message +
                    " (kubectl ingressx rollout retry, a template change or undo starts another)");
      return;
    }
    if (set_.paused) {
      steady();
      set_phase(api::phase::kPaused,
                "revision " + std::to_string(st().update_revision) + " waits: spec.paused is true");
      return;
    }
    std::string trigger = "TemplateChange";
    std::string reason = s_.change_reason.empty() ? "spec.template changed" : s_.change_reason;
    if (st().current_revision == 0) {
      trigger = "Initial";
      reason = "first revision of the fleet";
    } else if (retry_new && last_failed_same) {
      trigger = "Retry";
      reason = "retry requested (" + set_.retry + ")";
    } else if (s_.undo_revision) {
      trigger = "Undo";
      reason = "undo to revision " + std::to_string(*s_.undo_revision);
    } else if (!s_.template_part_changed) {
      trigger = "ConfigChange";
    }
    if (retry_new) st().observed_retry = set_.retry;
    start_rollout(trigger, reason);
  }

  // The rollout record is written before the fleet's status. When the fleet's status write
  // was lost after a rollout finished, the record holds an outcome the fleet's status does
  // not show yet: take it (what finish() would have written), so that the same rollout is
  // not started again and abort/pause act on the fleet as it is.
  void adopt_outcome(const RolloutRecord& last) {
    if (last.phase != api::phase::kSucceeded || last.revision <= st().current_revision) return;
    st().current_revision = last.revision;
    st().current_hash = last.hash;
    st().active_fleet =
        last.strategy == StrategyType::kTempFleet ? set_.name : fleet(last.new_colour);
    st().current_rollout = last.name;
    if (st().update_hash == st().current_hash) st().update_revision = st().current_revision;
    d_.log = "rollout " + last.name + " Succeeded: revision " + std::to_string(last.revision) +
             " serves from " + st().active_fleet + " (the fleet's status catches up)";
  }

  // The fleet without a rollout: its active fleet at the current revision, all traffic on it.
  void steady() {
    if (st().current_revision == 0 || st().active_fleet.empty()) {
      set_phase(api::phase::kPending, "no revision has been rolled out yet");
      return;
    }
    const std::string& active = st().active_fleet;
    const std::string role = role_of(active);
    const FleetObservation* o = obs(active);
    if (!o || !o->exists || o->hash != st().current_hash || o->replicas != set_.replicas)
      d_.actions.push_back(EnsureFleet{active, role, st().current_revision, st().current_hash});
    auto split = pair_split(role, 100);
    if (s_.traffic && !matches(split)) {
      if (in_backoff())
        requeue(s_.cutover_retry_in);
      else
        d_.actions.push_back(SetTraffic{split});
    }
    const bool ready = o && o->exists && o->ready_replicas >= set_.replicas;
    if (!s_.traffic) {
      set_phase(api::phase::kDegraded, "traffic split unknown: " + s_.traffic_error);
      requeue(Millis{5000});
    } else if (!ready) {
      set_phase(api::phase::kDegraded, "fleet " + active + ": " +
                                           std::to_string(o ? o->ready_replicas : 0) + "/" +
                                           std::to_string(set_.replicas) + " pods ready");
      requeue(Millis{5000});
    } else {
      set_phase(api::phase::kReady,
                "revision " + std::to_string(st().current_revision) + " serves from " + active);
    }
  }

  std::string role_of(const std::string& fleet_name_) const {
    for (const char* role : {"temp", "blue", "green"})
      if (fleet_name_ == fleet(role)) return role;
    return "primary";
  }

  // Both fleets of the pair the active role belongs to, `role` at `weight`.
  std::vector<TrafficEntry> pair_split(const std::string& role, int weight) const {
    std::string other;
    if (role == "primary") other = "temp";
    if (role == "temp") other = "primary";
    if (role == "blue") other = "green";
    if (role == "green") other = "blue";
    return {{fleet(role), weight}, {fleet(other), 100 - weight}};
  }

  bool matches(const std::vector<TrafficEntry>& split) const {
    if (!s_.traffic) return false;
    for (const auto& e : split) {
      auto it = s_.traffic->find(e.fleet);
      const int w = it == s_.traffic->end() ? 0 : it->second;
      if (w != e.weight) return false;
    }
    return true;
  }

  std::vector<TrafficEntry> observed_split(const std::vector<TrafficEntry>& like) const {
    std::vector<TrafficEntry> out;
    if (!s_.traffic) return out;
    for (const auto& e : like) {
      auto it = s_.traffic->find(e.fleet);
      out.push_back({e.fleet, it == s_.traffic->end() ? 0 : it->second});
    }
    return out;
  }

  void set_phase(std::string_view phase, const std::string& message) {
    st().phase = std::string(phase);
    st().message = message;
    if (d_.log.empty()) d_.log = std::string(phase) + ": " + message;
  }

  void start_rollout(const std::string& trigger, const std::string& reason) {
    RolloutRecord n;
    const bool initial = st().current_revision == 0;
    n.revision = st().update_revision;
    n.from_revision = st().current_revision;
    n.hash = st().update_hash;
    n.from_hash = st().current_hash;
    n.trigger = trigger;
    n.reason = reason;
    n.strategy = set_.strategy;
    n.steps = set_.steps;
    n.manual_promotion = set_.manual_promotion;
    if (n.strategy == StrategyType::kBlueGreen) {
      const std::string active_role = initial ? "green" : role_of(st().active_fleet);
      n.old_colour = active_role == "blue" ? "blue" : "green";
      n.new_colour = n.old_colour == "blue" ? "green" : "blue";
    }
    n.name = set_.name + "-r" + std::to_string(n.revision);
    if (trigger == "Retry") {
      // Deterministic per retry token, so a crash between create and status write finds it.
      uint32_t h = 2166136261u;
      for (unsigned char c : set_.retry) h = (h ^ c) * 16777619u;
      static const char* hex = "0123456789abcdef";
      std::string sfx;
      for (int i = 0; i < 5; ++i) sfx += hex[(h >> (i * 4)) & 0xf];
      n.name += "-retry-" + sfx;
    }
    for (const auto& step : plan_for(n, initial)) n.plan.push_back(pending_step(step));
    n.phase = "Progressing";
    n.current_step = n.plan.empty() ? "" : n.plan.front().name;
    n.started_at = s_.now;
    n.message = reason;
    st().current_rollout = n.name;
    d_.rollout = n;
    d_.new_rollout = true;
    event("Normal", "RolloutStarted",
          "revision " + std::to_string(n.revision) + " (" + trigger + "): " + reason);
    set_phase(api::phase::kProgressing,
              "rollout " + n.name + " to revision " + std::to_string(n.revision) + " started");
    requeue(Millis{0});
  }

  // ---- a rollout runs ----
  int current_index() const {
    for (size_t i = 0; i < r().plan.size(); ++i) {
      auto p = r().plan[i].phase;
      if (p == StepPhase::kPending || p == StepPhase::kRunning) return static_cast<int>(i);
    }
    return -1;
  }
  const RolloutRecord& r() const { return *d_.rollout; }

  bool begin_abort(const std::string& reason, bool failed) {
    int idx = current_index();
    if (idx < 0) return false;
    auto extra = abort_plan_for(r(), static_cast<size_t>(idx));
    const bool initial = r().from_revision == 0;
    if (extra.empty() && !initial) {
      r().message = "abort requested (" + reason +
                    ") but it is too late: the old fleet is being removed; the rollout completes";
      return false;
    }
    for (size_t i = static_cast<size_t>(idx); i < r().plan.size(); ++i) {
      auto& step = r().plan[i];
      if (step.phase == StepPhase::kRunning) {
        step.phase = failed ? StepPhase::kFailed : StepPhase::kAborted;
        step.finished_at = s_.now;
        if (step.message.empty() || step.message == "deleting") step.message = reason;
      } else if (step.phase == StepPhase::kPending) {
        step.phase = StepPhase::kSkipped;
      }
    }
    for (const auto& n : extra) r().plan.push_back(pending_step(n));
    r().abort_reason = reason;
    r().failed = failed;
    r().message = (failed ? "failed: " : "aborted: ") + reason;
    event("Warning", failed ? "RolloutFailed" : "RolloutAborted",
          r().name + ": " + reason +
              (extra.empty() ? "" : "; returning traffic to the known-good fleet"));
    return true;
  }

  void advance() {
    if (r().abort_reason.empty()) {
      if (set_.abort)
        begin_abort("spec.abort is true", false);
      else if (set_.undo_to)
        begin_abort("undo to revision " + std::to_string(*set_.undo_to) + " requested", false);
    }
    // The status write after the create may have been lost: the record then has its plan
    // (spec.plan) but no start time.
    if (!r().started_at) r().started_at = s_.now;
    if (r().plan.empty()) {
      // Never "finished" for want of steps: a record without a plan is damaged.
      r().abort_reason = "the rollout record has no steps; nothing was done";
      r().failed = true;
      finish();
      return;
    }
    const bool aborting = !r().abort_reason.empty();
    if (set_.paused && !aborting) {
      r().phase = "Paused";
      set_phase(api::phase::kPaused, "rollout " + r().name + " paused at " + r().current_step +
                                         " (spec.paused); traffic stays where it is");
      return;
    }
    const int idx = current_index();
    if (idx < 0) {
      finish();
      return;
    }
    auto& step = r().plan[static_cast<size_t>(idx)];
    if (step.phase == StepPhase::kPending) {
      step.phase = StepPhase::kRunning;
      step.started_at = s_.now;
    }
    r().current_step = step.name;
    r().phase = "Progressing";
    auto def = step_of(step.name, r());
    StepResult res;
    if (!def) {
      res = fail("unknown step " + step.name);
    } else if (auto restore = restore_split(*def)) {
      res = *restore;
    } else {
      res = run_step(step, *def);
    }
    if (!s_.traffic) {
      // keep the last known split
    } else {
      r().traffic = observed_split(pair_split(r().strategy == StrategyType::kTempFleet ? "primary"
                                              : r().new_colour.empty()                 ? "blue"
                                                                       : r().new_colour,
                                              0));
      r().traffic.erase(std::remove_if(r().traffic.begin(), r().traffic.end(),
                                       [&](const TrafficEntry& e) {
                                         const auto* o = obs(e.fleet);
                                         return e.weight == 0 && (!o || !o->exists);
                                       }),
                        r().traffic.end());
    }
    switch (res.kind) {
      case StepResult::kDone:
      case StepResult::kSkip:
        step.phase = res.kind == StepResult::kSkip ? StepPhase::kSkipped : StepPhase::kSucceeded;
        step.finished_at = s_.now;
        step.message = res.message;
        step.traffic = r().traffic;
        d_.log = "step " + step.name + " " + to_string(step.phase) +
                 (res.message.empty() ? "" : ": " + res.message);
        if (current_index() < 0) {
          finish();
          return;
        }
        requeue(Millis{0});
        break;
      case StepResult::kWait:
        if (step.message != "deleting" || res.message == "deleting") step.message = res.message;
        requeue(res.requeue);
        break;
      case StepResult::kFail:
        step.message = res.message;
        if (aborting) {
          // A failure while returning traffic: keep trying, never abort the abort.
          requeue(Millis{5000});
        } else {
          const std::string why = "step " + step.name + ": " + res.message;
          begin_abort(why, true);  // invalidates `step`
          requeue(Millis{0});
        }
        break;
    }
    // begin_abort() may have grown the plan: `step` is not valid any more.
    const std::string& msg = r().plan[static_cast<size_t>(idx)].message;
    if (r().phase == api::phase::kPaused)
      set_phase(api::phase::kPaused, msg);
    else
      set_phase(api::phase::kProgressing, "rollout " + r().name + " step " + r().current_step +
                                              (msg.empty() ? "" : ": " + msg));
  }

  void finish() {
    r().current_step.clear();
    r().finished_at = s_.now;
    if (r().abort_reason.empty()) {
      r().phase = "Succeeded";
      r().message = "revision " + std::to_string(r().revision) + " serves";
      st().current_revision = r().revision;
      st().current_hash = r().hash;
      st().active_fleet =
          r().strategy == StrategyType::kTempFleet ? set_.name : fleet(r().new_colour);
      event("Normal", "RolloutSucceeded",
            r().name + ": revision " + std::to_string(r().revision) + " serves from " +
                st().active_fleet);
      if (st().update_hash == st().current_hash) st().update_revision = st().current_revision;
      set_phase(api::phase::kReady,
                "revision " + std::to_string(r().revision) + " serves from " + st().active_fleet);
    } else {
      r().phase = r().failed ? "Failed" : "Aborted";
      const bool initial = r().from_revision == 0;
      if (!initial)
        st().active_fleet =
            r().strategy == StrategyType::kTempFleet ? set_.name : fleet(r().old_colour);
      set_phase(r().failed ? "Degraded" : "Aborted",
                r().name + " " + r().phase + ": " + r().abort_reason);
    }
    requeue(Millis{0});
  }

  // The split the rollout has reached: that of the last traffic step that succeeded, else
  // all on the known-good fleet. nullopt while nothing serves yet (a fleet's first rollout).
  std::optional<std::vector<TrafficEntry>> reached_split() const {
    std::optional<std::vector<TrafficEntry>> out;
    for (const auto& step : r().plan) {
      if (step.phase != StepPhase::kSucceeded) continue;
      auto def = step_of(step.name, r());
      if (!def) continue;
      if (def->kind == StepKind::kActivate) out = pair_split(def->role, 100);
      if (def->kind == StepKind::kShift)
        out = pair_split(def->role, r().steps[static_cast<size_t>(def->index)].weight);
    }
    if (out || r().from_revision == 0) return out;
    return pair_split(r().strategy == StrategyType::kTempFleet ? "primary" : r().old_colour, 100);
  }

  // Level-triggered traffic: a step that does not move traffic itself (provision, drain,
  // upgrade, verify, promote, remove) runs only while the provider holds the split the
  // rollout has reached. A front door reloaded from its config file, or a record changed
  // by hand, is put back first, and the step waits until it reads back right.
  std::optional<StepResult> restore_split(const StepDef& def) {
    if (def.kind == StepKind::kShift || def.kind == StepKind::kActivate) return std::nullopt;
    auto want = reached_split();
    if (!want) return std::nullopt;  // nothing serves yet: nothing to keep
    // Unknown (the provider does not answer, e.g. a front door restarting): no step goes on
    // blind; a drain or an upgrade could otherwise act on a fleet that has traffic again.
    if (!s_.traffic)
      return wait("traffic split unknown, retrying: " + s_.traffic_error, Millis{1000});
    if (matches(*want)) return std::nullopt;
    std::string summary;
    for (const auto& e : *want)
      summary += (summary.empty() ? "" : " ") + e.fleet + "=" + std::to_string(e.weight);
    if (in_backoff()) return backoff_wait();
    d_.actions.push_back(SetTraffic{*want});
    return wait("traffic differs from the rollout's split (" + summary + "); setting it again",
                Millis{500});
  }

  // Revision and hash a provision/upgrade step moves a fleet to.
  std::pair<int64_t, std::string> target_of(const StepDef& def) const {
    if (def.to_known_good) return {r().from_revision, r().from_hash};
    return {r().revision, r().hash};
  }

  StepResult run_step(StepRecord& step, const StepDef& def) {
    switch (def.kind) {
      case StepKind::kProvision:
      case StepKind::kUpgrade:
        return ensure(step, def);
      case StepKind::kActivate: {
        return shift(step, pair_split(def.role, 100), Millis{0}, false, fleet(def.role));
      }
      case StepKind::kShift: {
        const auto& cs = r().steps[static_cast<size_t>(def.index)];
        auto split = pair_split(def.role, cs.weight);
        return shift(step, split, cs.pause, cs.analysis && set_.has_analysis, fleet(def.role));
      }
      case StepKind::kDrain:
        return drain(step, fleet(def.role));
      case StepKind::kVerify: {
        const auto* o = obs(fleet(def.role));
        if (!o || !o->exists || o->ready_replicas < set_.replicas)
          return wait("waiting for " + fleet(def.role) + " to be ready", Millis{2000});
        if (!set_.has_analysis) return done("no analysis configured");
        return analyze(step, fleet(def.role));
      }
      case StepKind::kPromote: {
        if (!r().manual_promotion) return {StepResult::kSkip, "automatic promotion", Millis{0}};
        if (promote_new()) {
          st().observed_promote = set_.promote;
          promote_consumed_ = true;
          event("Normal", "Promoted", r().name + ": promoted (" + set_.promote + ")");
          return done("promoted (" + set_.promote + ")");
        }
        r().phase = "Paused";
        return wait("waiting for promotion (kubectl ingressx rollout promote " + set_.name + ")",
                    Millis{30000});
      }
      case StepKind::kRemove:
        return remove(step, def);
    }
    return fail("unhandled step");
  }

  StepResult ensure(StepRecord& step, const StepDef& def) {
    const std::string f = fleet(def.role);
    auto [rev, hash] = target_of(def);
    const FleetObservation* o = obs(f);
    if (!o || !o->exists || o->deleting || o->hash != hash || o->replicas != set_.replicas) {
      if (o && o->deleting) return wait(f + " is still being deleted", Millis{2000});
      d_.actions.push_back(EnsureFleet{f, def.role, rev, hash});
    }
    const bool rolled = o && o->exists && !o->deleting && o->hash == hash &&
                        o->generation_observed && o->updated_replicas >= set_.replicas &&
                        o->ready_replicas >= set_.replicas && o->status_replicas == set_.replicas;
    if (rolled && !o->address.empty())
      return done(f + ": " + std::to_string(o->ready_replicas) + "/" +
                  std::to_string(set_.replicas) + " ready at revision " + std::to_string(rev));
    if (step.started_at && since(s_.now, *step.started_at) > set_.progress_deadline)
      return fail(f + ": " + std::to_string(o ? o->ready_replicas : 0) + "/" +
                  std::to_string(set_.replicas) + " pods ready at revision " + std::to_string(rev) +
                  " after progressDeadline " + secs(set_.progress_deadline));
    std::string msg = f + ": " + std::to_string(o ? o->updated_replicas : 0) + " updated, " +
                      std::to_string(o ? o->ready_replicas : 0) + "/" +
                      std::to_string(set_.replicas) + " ready";
    if (rolled) msg = f + ": waiting for its Service address";
    return wait(msg, Millis{2000});
  }

  // The provider failed and its backoff has not run out: no apply() now.
  bool in_backoff() const { return !s_.cutover_error.empty() && s_.cutover_retry_in > Millis{0}; }
  StepResult backoff_wait() const {
    return wait("cutover provider failed " + std::to_string(s_.cutover_failures) +
                    (s_.cutover_failures == 1 ? " time" : " times") +
                    ", traffic stays where it is, retrying with backoff: " + s_.cutover_error,
                s_.cutover_retry_in);
  }

  StepResult shift(StepRecord& step, const std::vector<TrafficEntry>& split, Millis pause,
                   bool analysis, const std::string& to_fleet) {
    if (!s_.traffic)
      return wait("traffic split unknown, retrying: " + s_.traffic_error, Millis{5000});
    if (!step.waiting_since) {
      if (!matches(split)) {
        // The fleet traffic moves to must be able to take it.
        const auto* o = obs(to_fleet);
        if (!o || !o->exists || o->address.empty() || o->ready_replicas < 1)
          return wait(to_fleet + " has no ready pods or no address; traffic stays", Millis{2000});
        if (in_backoff()) return backoff_wait();
        d_.actions.push_back(SetTraffic{split});
        return wait("moving traffic", Millis{0});
      }
      step.waiting_since = s_.now;
    } else if (!matches(split)) {
      // Someone moved it after we did: put it back (same direction, same target).
      if (in_backoff()) return backoff_wait();
      d_.actions.push_back(SetTraffic{split});
      return wait("traffic differs from the step's split; setting it again", Millis{0});
    }
    const Millis held = since(s_.now, *step.waiting_since);
    if (held < pause) {
      if (promote_new()) {
        st().observed_promote = set_.promote;
        promote_consumed_ = true;
      } else {
        return wait("holding for pause " + secs(pause), pause - held);
      }
    }
    if (analysis) return analyze(step, to_fleet);
    return done();
  }

  StepResult analyze(StepRecord& step, const std::string& f) {
    const std::string key = r().name + "/" + step.name;
    d_.actions.push_back(Analyze{f, key});
    if (!s_.analysis || s_.analysis->key != key || !s_.analysis->window_complete)
      return wait("analysis of " + f + " running", Millis{1000});
    const auto& a = *s_.analysis;
    const std::string figures =
        std::to_string(a.successes) + "/" + std::to_string(a.probes) + " probes passed";
    if (a.passed) return done("analysis of " + f + ": " + figures);
    return fail("analysis of " + f + ": " + figures +
                (a.last_failure.empty() ? "" : "; last failure: " + a.last_failure));
  }

  StepResult drain(StepRecord& step, const std::string& f) {
    const FleetObservation* o = obs(f);
    if (!step.waiting_since) {
      step.waiting_since = s_.now;
      DrainRecord dr;
      dr.fleet = f;
      dr.started_at = s_.now;
      r().drains.push_back(dr);
    }
    DrainRecord* rec = nullptr;
    for (auto& dr : r().drains)
      if (dr.fleet == f && dr.started_at == step.waiting_since) rec = &dr;
    if (!rec) {
      r().drains.push_back(DrainRecord{f, std::nullopt, step.waiting_since, std::nullopt, ""});
      rec = &r().drains.back();
    }
    std::optional<int64_t> conns;
    if (!o || !o->exists)
      conns = 0;
    else
      conns = o->active_connections;
    if (conns) rec->active_connections = conns;
    const Millis elapsed = since(s_.now, *step.waiting_since);
    Millis min = set_.drain.min_drain;
    if (set_.dns_cutover) min = std::max(min, set_.dns_ttl);
    auto finish_drain = [&](const std::string& by) {
      rec->finished_at = s_.now;
      rec->decided_by = by;
      return done(f + " drained (" + by + ", " +
                  (conns ? std::to_string(*conns) + " connections" : "connections unknown") +
                  ", after " + secs(elapsed) + ")");
    };
    if (elapsed >= set_.drain.max_drain) return finish_drain("maxDrain");
    if (elapsed >= min && conns && *conns <= set_.drain.drained_at)
      return finish_drain("connections");
    const Millis left = (elapsed < min ? min : set_.drain.max_drain) - elapsed;
    // No elapsed time in the message: status is written only when something changed.
    return wait(f + ": " + (conns ? std::to_string(*conns) : std::string("unknown")) +
                    " active connections, draining (minDrain " + secs(min) + ", maxDrain " +
                    secs(set_.drain.max_drain) + ")",
                std::min(left, Millis{1000}));
  }

  StepResult remove(StepRecord& step, const StepDef& def) {
    const std::string f = fleet(def.role);
    const FleetObservation* o = obs(f);
    if (!o || !o->exists) return done(f + " removed");
    const Millis delay = def.abort_step || r().strategy == StrategyType::kTempFleet
                             ? Millis{0}
                             : set_.scale_down_delay;
    if (!step.waiting_since) step.waiting_since = s_.now;
    const Millis held = since(s_.now, *step.waiting_since);
    if (held < delay && step.message != "deleting")
      return wait("keeping " + f + " for scaleDownDelay " + secs(delay), delay - held);
    if (!o->deleting) d_.actions.push_back(DeleteFleet{f, def.role});
    step.message = "deleting";
    return wait("deleting", Millis{2000});
  }

  // A promote token that nothing waited for is recorded and ignored.
  void consume_stray_promote() {
    if (promote_consumed_ || !promote_new()) return;
    bool waits = false;
    if (d_.rollout && !d_.rollout->finished()) {
      const int idx = current_index();
      if (idx >= 0) {
        const auto& step = r().plan[static_cast<size_t>(idx)];
        auto def = step_of(step.name, r());
        waits = def && (def->kind == StepKind::kPromote ||
                        (def->kind == StepKind::kShift && step.waiting_since));
      }
    }
    if (waits) return;
    st().observed_promote = set_.promote;
    event("Normal", "PromoteIgnored", "promote " + set_.promote + ": nothing waits for promotion");
  }
};

}  // namespace

Millis cutover_backoff(int failures) {
  if (failures <= 0) return Millis{0};
  const int doublings = std::min(failures - 1, 5);
  return std::min(Millis{2000} * (1 << doublings), Millis{60000});
}

Decision decide(const Snapshot& s) {
  return Engine(s).run();
}

}  // namespace ingressx::op
