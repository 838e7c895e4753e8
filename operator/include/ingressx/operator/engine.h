#pragma once
// The rollout engine: pure decision logic. A Snapshot (the fleet's settings, its persisted
// status, the running rollout's record, and what the executor observed: Deployments,
// connections, the traffic split read back from the cutover provider, analysis results)
// goes in; a Decision (actions for the executor, the new status of the fleet and of the
// rollout, when to look again) comes out. No I/O, no clock: `now` is in the snapshot.
//
// The plan of a rollout is its list of step names, persisted in FleetRollout.status.steps
// when the rollout starts (and extended by the abort steps when it aborts). Each name says
// what the step does (see step_of()), so a restarted operator continues from the first
// step that is not finished, and a step is done only when the observed world says so:
// a crash at any point re-derives the same next action.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ingressx/api/names.h"

namespace ingressx::op {

using Millis = std::chrono::milliseconds;
using WallTime = std::chrono::system_clock::time_point;

enum class StrategyType { kTempFleet, kBlueGreen };

struct CutoverStepSpec {
  int weight = 100;  // % on the fleet traffic moves to
  Millis pause{0};
  bool analysis = true;
};

struct DrainSpec {
  Millis propagation_delay{5000};
  Millis min_drain{10000};
  Millis max_drain{300000};
  int64_t drained_at = 0;
};

// What the engine needs from ProxyFleet.spec (parsed and validated by fleet_spec.h).
struct FleetSettings {
  std::string ns, name;
  int64_t generation = 0;
  int replicas = 2;
  StrategyType strategy = StrategyType::kTempFleet;
  bool manual_promotion = false;
  Millis progress_deadline{600000};
  Millis scale_down_delay{30000};
  bool has_analysis = false;
  bool dns_cutover = false;
  Millis dns_ttl{0};  // the record TTL for DNS cutover (drain waits at least this)
  std::vector<CutoverStepSpec> steps{CutoverStepSpec{}};
  DrainSpec drain;
  // controls
  bool paused = false;
  std::string promote;  // token
  bool abort = false;
  std::string retry;  // token
  std::optional<int64_t> undo_to;
};

// ProxyFleet.status fields the engine owns (persisted; the source of truth after a crash,
// together with the rollout record and the owned objects).
struct FleetState {
  int64_t current_revision = 0;  // known-good; 0 before the first rollout succeeded
  std::string current_hash;
  int64_t update_revision = 0;
  std::string update_hash;
  std::string active_fleet;  // fleet name serving when no rollout runs
  std::string current_rollout;
  std::string observed_promote;
  std::string observed_retry;
  std::string phase;  // Pending, Ready, Progressing, Paused, Degraded, Aborted
  std::string message;
};

enum class StepPhase { kPending, kRunning, kSucceeded, kFailed, kSkipped, kAborted };
const char* to_string(StepPhase p);
StepPhase step_phase_from(const std::string& s);

struct TrafficEntry {
  std::string fleet;
  int weight = 0;
  bool operator==(const TrafficEntry&) const = default;
};

struct StepRecord {
  std::string name;
  StepPhase phase = StepPhase::kPending;
  std::optional<WallTime> started_at, finished_at;
  std::optional<WallTime> waiting_since;  // when the step's action was done and its wait began
  std::string message;
  std::vector<TrafficEntry> traffic;  // the split when the step finished
};

struct DrainRecord {
  std::string fleet;
  std::optional<int64_t> active_connections;
  std::optional<WallTime> started_at, finished_at;
  std::string decided_by;  // connections | maxDrain
};

// One FleetRollout (spec identity + status).
struct RolloutRecord {
  std::string name;
  int64_t revision = 0;
  int64_t from_revision = 0;
  std::string hash;       // template hash of `revision`
  std::string from_hash;  // template hash of `from_revision` (the known-good one)
  std::string trigger;    // Initial, TemplateChange, ConfigChange, Undo, Retry
  std::string reason;
  StrategyType strategy = StrategyType::kTempFleet;
  std::vector<CutoverStepSpec> steps;  // the cutover steps copied at start
  bool manual_promotion = false;
  std::string old_colour, new_colour;  // BlueGreen: blue/green; TempFleet: empty
  // status
  std::string phase = "Pending";  // Pending, Progressing, Paused, Succeeded, Failed, Aborted
  std::string current_step;
  std::vector<StepRecord> plan;
  std::vector<TrafficEntry> traffic;
  std::vector<DrainRecord> drains;
  std::optional<WallTime> started_at, finished_at;
  std::string message;
  std::string abort_reason;  // set when the abort steps were appended
  bool failed = false;       // the abort was caused by a failure (gate, deadline)

  bool finished() const { return api::rollout_finished(phase); }
};

// What the executor saw of one fleet (Deployment + Service + pods).
struct FleetObservation {
  bool exists = false;    // the Deployment exists
  bool deleting = false;  // it has a deletionTimestamp
  std::string hash;       // its pod template's ingressx.io/template-hash
  int replicas = 0;       // spec.replicas
  int status_replicas = 0;
  int ready_replicas = 0;
  int updated_replicas = 0;
  bool generation_observed = false;           // status.observedGeneration >= metadata.generation
  std::string address;                        // the Service's ClusterIP (or LB address); "" unknown
  std::optional<int64_t> active_connections;  // sum over its pods, when countable
  int pods = 0;                               // pods (incl. terminating)
};

struct AnalysisObservation {
  std::string key;  // which analysis these figures belong to (see Analyze::key)
  int probes = 0;
  int successes = 0;
  bool window_complete = false;
  bool passed = false;  // with window_complete: the success ratio was met
  std::string last_failure;
};

struct Snapshot {
  WallTime now;
  FleetSettings settings;
  FleetState state;
  std::string template_hash;             // hash of spec.template + referenced ConfigMaps/Secrets
  bool template_part_changed = true;     // the template itself (not only config) differs from
                                         // the current revision's
  std::string change_reason;             // e.g. "ConfigMap edge-nginx changed"
  std::optional<int64_t> undo_revision;  // set when spec.template was just restored by undo
  int64_t max_revision = 0;              // highest revision among FleetRollouts
  std::optional<RolloutRecord> rollout;  // the running rollout, or the latest one
  std::map<std::string, FleetObservation> fleets;     // by fleet name
  std::optional<std::map<std::string, int>> traffic;  // read back from the provider
  std::string traffic_error;                          // why traffic is unknown
  // The cutover provider's last apply() failed (the operator's memory, cleared by the next
  // success): its error, how many apply() calls failed in a row, and how long until the
  // backoff lets the next one run. Traffic stays where the provider left it meanwhile.
  std::string cutover_error;
  int cutover_failures = 0;
  Millis cutover_retry_in{0};
  std::optional<AnalysisObservation> analysis;
};

// ---- actions ----
struct EnsureFleet {  // create or update a fleet's Deployment + Service at a revision
  std::string fleet;
  std::string role;  // primary, temp, blue, green
  int64_t revision = 0;
  std::string hash;
};
struct DeleteFleet {
  std::string fleet;
  std::string role;
};
struct SetTraffic {  // move traffic to this split in one provider call (all fleets)
  std::vector<TrafficEntry> split;
};
struct Analyze {  // run (or keep running) the analysis gate against a fleet's own address
  std::string fleet;
  std::string key;  // unique per rollout step; a new key restarts the window
};
struct RecordEvent {
  std::string type;  // Normal | Warning
  std::string reason;
  std::string note;
};
struct RestoreTemplate {  // undo: copy revision N's template into spec.template
  int64_t revision = 0;
};
using Action =
    std::variant<EnsureFleet, DeleteFleet, SetTraffic, Analyze, RecordEvent, RestoreTemplate>;

struct Decision {
  std::vector<Action> actions;
  FleetState state;                      // the fleet's new status (engine part)
  std::optional<RolloutRecord> rollout;  // new/updated rollout record (create if new name)
  bool new_rollout = false;
  bool clear_undo = false;  // clear spec.undoTo without restoring (revision not in history)
  std::optional<Millis> requeue_after;  // look again after this (0 = at once)
  std::string log;                      // one line: what was decided and why
};

// ---- step names ----
enum class StepKind { kProvision, kShift, kActivate, kDrain, kUpgrade, kVerify, kPromote, kRemove };
struct StepDef {
  StepKind kind;
  std::string role;            // the fleet the step acts on (provision/drain/upgrade/verify/remove;
                               // for shift/activate: the fleet traffic moves to)
  std::string from_role;       // shift: the fleet traffic moves from
  int index = -1;              // shift: which cutover step (0-based)
  bool to_known_good = false;  // provision/upgrade: the known-good revision, not the new one
  bool abort_step = false;
};
// Decodes a step name: provision-<role>, activate-<role>, shift-to-temp/N, shift-back/N,
// shift/N, drain-<role>, upgrade-primary, verify-<role>, promote, delete-temp,
// scale-down-<colour>, and the abort steps abort/return-to-<role>, abort/drain-<role>,
// abort/rollback-primary, abort/delete-<role>. nullopt for an unknown name.
std::optional<StepDef> step_of(const std::string& name, const RolloutRecord& r);

// The plan of a rollout (names), from its strategy, colours and cutover steps.
std::vector<std::string> plan_for(const RolloutRecord& r, bool initial);
// The steps appended when a rollout aborts at step `at` (index into r.plan); empty when it
// is too late to abort (the old fleet is already being removed).
std::vector<std::string> abort_plan_for(const RolloutRecord& r, size_t at);

std::string fleet_name(const std::string& fleet, const std::string& role);

Decision decide(const Snapshot& s);

// The wait before apply() runs again after `failures` failed calls in a row:
// 2 s, 4 s, 8 s, ... at most 60 s.
Millis cutover_backoff(int failures);

}  // namespace ingressx::op
