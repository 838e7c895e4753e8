#pragma once
// The simulated world of the engine tests (the only fake here): Deployments become ready
// one tick after they change, traffic moves when SetTraffic says so, connections on a
// fleet that lost its traffic fall to zero one tick later. The rollout record goes through
// its JSON form (FleetRollout object and status) between reconciles, as it does through
// the apiserver. Shared by engine_test.cpp and engine_faults_test.cpp.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"
#include "ingressx/operator/engine.h"
#include "ingressx/operator/fleet_spec.h"

namespace engine_world {

using namespace ingressx::op;
using nlohmann::json;
using namespace std::chrono_literals;

inline json fleet_json(const std::string& strategy, bool manual = false, bool analysis = false) {
  json spec = {
      {"replicas", 3},
      {"template", {{"spec", {{"containers", {{{"name", "nginx"}, {"image", "nginx:1"}}}}}}}},
      {"proxy", {{"kind", "nginx"}, {"drain", {{"minDrain", "2s"}, {"maxDrain", "30s"}}}}},
      {"cutover",
       {{"type", "weight"}, {"steps", {{{"weight", 50}, {"pause", "10s"}}, {{"weight", 100}}}}}},
      {"strategy", {{"type", strategy}, {"promotion", manual ? "Manual" : "Automatic"}}}};
  if (strategy == "BlueGreen") spec["strategy"]["scaleDownDelay"] = "5s";
  if (analysis) spec["strategy"]["analysis"] = {{"http", {{{"name", "ok"}, {"path", "/"}}}}};
  return {{"apiVersion", "ingressx.io/v1alpha1"},
          {"kind", "ProxyFleet"},
          {"metadata", {{"name", "edge"}, {"namespace", "ns"}, {"uid", "u1"}, {"generation", 1}}},
          {"spec", spec}};
}

struct Fleet {
  std::string hash;
  bool ready = false;
  bool deleting = false;
  int64_t conns = 0;
};

struct World {
  json fleet;
  FleetState state;             // persisted ProxyFleet status (engine part)
  std::optional<json> rollout;  // persisted FleetRollout (object + status)
  std::map<std::string, Fleet> fleets;
  std::map<std::string, int> traffic;
  std::string hash = "h1";
  WallTime now = WallTime{} + std::chrono::hours(24 * 365 * 50);
  bool analysis_passes = true;
  bool traffic_down = false;
  // The provider reads fine but refuses every move (e.g. a DNS UPDATE with a wrong TSIG
  // key); the world keeps what the operator would: the error, the count, the backoff.
  bool apply_fails = false;
  int cutover_failures = 0;
  WallTime cutover_next{};
  std::vector<WallTime> apply_attempts;
  int64_t max_revision = 0;
  Millis max_step = 1000ms;  // time never jumps further per reconcile
  // what happened
  std::vector<std::map<std::string, int>> moves;  // every split after a SetTraffic
  std::vector<std::string> steps_seen;
  int reconciles = 0;
  std::map<std::string, std::string> hash_of_fleet_at_move;

  Snapshot snapshot() const {
    Snapshot s;
    s.now = now;
    s.settings = settings_from(fleet);
    s.state = state;
    s.template_hash = hash;
    s.max_revision = max_revision;
    if (rollout) s.rollout = rollout_from(*rollout);
    for (const auto& [name, f] : fleets) {
      FleetObservation o;
      o.exists = true;
      o.deleting = f.deleting;
      o.hash = f.hash;
      o.replicas = 3;
      o.status_replicas = 3;
      o.ready_replicas = f.ready ? 3 : 0;
      o.updated_replicas = f.ready ? 3 : 0;
      o.generation_observed = true;
      o.address = "10.96.0." + std::to_string(name.size());
      o.active_connections = f.conns;
      o.pods = 3;
      s.fleets[name] = o;
    }
    if (traffic_down)
      s.traffic_error = "haproxy 127.0.0.1:9999: connection refused";
    else
      s.traffic = traffic;
    if (cutover_failures > 0) {
      s.cutover_error = "rfc2136 127.0.0.1:53: UPDATE refused: NOTAUTH";
      s.cutover_failures = cutover_failures;
      s.cutover_retry_in =
          std::max(Millis{0}, std::chrono::duration_cast<Millis>(cutover_next - now));
    }
    return s;
  }

  // The world moves one tick: pods become ready, deleted fleets go, idle fleets drain.
  void tick() {
    for (auto it = fleets.begin(); it != fleets.end();) {
      if (it->second.deleting) {
        it = fleets.erase(it);
        continue;
      }
      it->second.ready = true;
      auto t = traffic.find(it->first);
      it->second.conns = (t == traffic.end() || t->second == 0) ? 0 : 40;
      ++it;
    }
  }

  void apply(const Decision& d) {
    for (const auto& a : d.actions) {
      if (auto* e = std::get_if<EnsureFleet>(&a)) {
        auto& f = fleets[e->fleet];
        if (f.hash != e->hash) f.ready = false;
        f.hash = e->hash;
        f.deleting = false;
      } else if (auto* del = std::get_if<DeleteFleet>(&a)) {
        if (fleets.count(del->fleet)) fleets[del->fleet].deleting = true;
      } else if (auto* t = std::get_if<SetTraffic>(&a)) {
        if (traffic_down) continue;
        apply_attempts.push_back(now);
        if (apply_fails) {
          ++cutover_failures;
          cutover_next = now + cutover_backoff(cutover_failures);
          continue;
        }
        cutover_failures = 0;
        for (const auto& e : t->split) {
          traffic[e.fleet] = e.weight;
          if (e.weight > 0) {
            REQUIRE(fleets.count(e.fleet));  // never send traffic to a fleet that is not there
            hash_of_fleet_at_move[e.fleet] = fleets[e.fleet].hash;
          }
        }
        moves.push_back(traffic);
      }
    }
  }

  void persist(const Decision& d) {
    state = d.state;
    if (d.rollout) {
      json obj = rollout ? *rollout : rollout_object(*d.rollout, fleet, fleet["spec"]["template"]);
      if (d.new_rollout || !rollout || obj["metadata"]["name"] != d.rollout->name)
        obj = rollout_object(*d.rollout, fleet, fleet["spec"]["template"]);
      obj["status"] = rollout_status(*d.rollout, 1);
      rollout = obj;
      max_revision = std::max(max_revision, d.rollout->revision);
    }
  }

  Snapshot analysis_for(Snapshot s, const Decision* prev) const {
    if (!prev) return s;
    for (const auto& a : prev->actions)
      if (auto* an = std::get_if<Analyze>(&a)) {
        AnalysisObservation o;
        o.key = an->key;
        o.probes = 10;
        o.successes = analysis_passes ? 10 : 4;
        o.window_complete = true;
        o.passed = analysis_passes;
        if (!analysis_passes) o.last_failure = "GET / answered 503";
        s.analysis = o;
      }
    return s;
  }

  std::string current_step() const {
    if (!rollout) return "";
    return rollout->value("/status/currentStep"_json_pointer, std::string());
  }
  std::string rollout_phase() const {
    if (!rollout) return "";
    return rollout->value("/status/phase"_json_pointer, std::string());
  }

  Decision last;
  bool has_last = false;

  // One reconcile: snapshot -> decide -> act -> persist -> time passes.
  Decision step_once() {
    Snapshot s = analysis_for(snapshot(), has_last ? &last : nullptr);
    Decision d = decide(s);
    apply(d);
    persist(d);
    ++reconciles;
    const std::string cs = current_step();
    if (!cs.empty() && (steps_seen.empty() || steps_seen.back() != cs)) steps_seen.push_back(cs);
    last = d;
    has_last = true;
    tick();
    now +=
        std::min(max_step, d.requeue_after ? std::max<Millis>(*d.requeue_after, 10ms) : max_step);
    return d;
  }

  // Runs until no rollout is in progress (or a limit).
  void settle(int limit = 500) {
    for (int i = 0; i < limit; ++i) {
      step_once();
      const bool running = rollout && !rollout_from(*rollout).finished();
      if (!running && state.update_hash == state.current_hash && state.current_revision > 0 &&
          state.phase != "Progressing")
        return;
      if (!running && (state.phase == "Aborted" || state.phase == "Degraded")) return;
    }
    FAIL("did not settle in " << limit << " reconciles; phase " << state.phase << ": "
                              << state.message);
  }

  void change_template(const std::string& h) { hash = h; }
};

inline World initial_world(const std::string& strategy, bool manual = false,
                           bool analysis = false) {
  World w;
  w.fleet = fleet_json(strategy, manual, analysis);
  w.settle();
  return w;
}

inline std::vector<std::string> steps_of(const World& w) {
  std::vector<std::string> out;
  for (const auto& s : w.rollout->at("status").at("steps")) out.push_back(s.at("name"));
  return out;
}

inline const std::vector<std::string> kTempPlan = {
    "provision-temp",  "shift-to-temp/1", "shift-to-temp/2", "drain-primary",
    "upgrade-primary", "verify-primary",  "promote",         "shift-back/1",
    "shift-back/2",    "drain-temp",      "delete-temp"};
inline const std::vector<std::string> kBluePlan = {"provision-green", "verify-green", "promote",
                                                   "shift/1",         "shift/2",      "drain-blue",
                                                   "scale-down-blue"};

}  // namespace engine_world
