// The rollout engine's decision tables: every step of both strategies, abort from every
// step, and resume after a crash in every reconcile. A small simulated world (the only
// fake here) applies the engine's actions: Deployments become ready one tick after they
// change, traffic moves when SetTraffic says so, connections on a fleet that lost its
// traffic fall to zero one tick later. The rollout record goes through its JSON form
// (FleetRollout object and status) between reconciles, as it does through the apiserver.
#include "ingressx/operator/engine.h"

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine_world.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"
#include "ingressx/operator/fleet_spec.h"

using namespace ingressx::op;
using nlohmann::json;
using namespace std::chrono_literals;

using namespace engine_world;

TEST_CASE("initial rollout creates the first fleet and sends it all traffic", "[engine]") {
  for (const std::string strategy : {"TempFleet", "BlueGreen"}) {
    World w = initial_world(strategy);
    const std::string active = strategy == "TempFleet" ? "edge" : "edge-blue";
    CHECK(w.state.phase == "Ready");
    CHECK(w.state.current_revision == 1);
    CHECK(w.state.active_fleet == active);
    CHECK(w.rollout_phase() == "Succeeded");
    CHECK(w.rollout->at("spec").at("trigger") == "Initial");
    CHECK(w.traffic[active] == 100);
    CHECK(w.fleets.size() == 1);
  }
}

TEST_CASE("TempFleet walks every step in order and ends on the upgraded primary", "[engine]") {
  World w = initial_world("TempFleet");
  w.steps_seen.clear();
  w.moves.clear();
  w.change_template("h2");
  w.settle();
  CHECK(w.rollout_phase() == "Succeeded");
  CHECK(steps_of(w) == kTempPlan);
  // Every step ran and was recorded in order (promote is skipped: automatic promotion).
  std::vector<std::string> expect = kTempPlan;
  CHECK(w.steps_seen == expect);
  for (const auto& s : w.rollout->at("status").at("steps")) {
    const std::string want = s.at("name") == "promote" ? "Skipped" : "Succeeded";
    CHECK(s.at("phase") == want);
    CHECK(s.contains("startedAt"));
    CHECK(s.contains("finishedAt"));
  }
  // Traffic: to temp in two steps, back to the primary in two steps.
  using M = std::map<std::string, int>;
  std::vector<M> want = {{{"edge", 50}, {"edge-temp", 50}},
                         {{"edge", 0}, {"edge-temp", 100}},
                         {{"edge", 50}, {"edge-temp", 50}},
                         {{"edge", 100}, {"edge-temp", 0}}};
  CHECK(w.moves == want);
  // The temp fleet ran the old revision, the primary gets traffic back only when upgraded.
  CHECK(w.hash_of_fleet_at_move["edge-temp"] == "h1");
  CHECK(w.hash_of_fleet_at_move["edge"] == "h2");
  CHECK(w.fleets.size() == 1);
  CHECK(w.fleets["edge"].hash == "h2");
  CHECK(w.state.current_revision == 2);
  CHECK(w.state.current_hash == "h2");
  CHECK(w.state.phase == "Ready");
  // Both drains were decided by observed connections, not by the timer.
  const auto& drains = w.rollout->at("status").at("drains");
  REQUIRE(drains.size() == 2);
  CHECK(drains[0].at("fleet") == "edge");
  CHECK(drains[1].at("fleet") == "edge-temp");
  for (const auto& d : drains) CHECK(d.at("decidedBy") == "connections");
}

TEST_CASE("BlueGreen walks every step and keeps the old colour for scaleDownDelay", "[engine]") {
  World w = initial_world("BlueGreen");
  w.steps_seen.clear();
  w.moves.clear();
  w.change_template("h2");
  w.settle();
  CHECK(w.rollout_phase() == "Succeeded");
  CHECK(steps_of(w) == kBluePlan);
  CHECK(w.steps_seen == kBluePlan);
  using M = std::map<std::string, int>;
  std::vector<M> want = {{{"edge-blue", 50}, {"edge-green", 50}},
                         {{"edge-blue", 0}, {"edge-green", 100}}};
  CHECK(w.moves == want);
  CHECK(w.hash_of_fleet_at_move["edge-green"] == "h2");
  CHECK(w.state.active_fleet == "edge-green");
  CHECK(w.fleets.size() == 1);
  CHECK(w.fleets.count("edge-green"));
  // scale-down waited at least scaleDownDelay (5s) before deleting blue.
  const auto& steps = w.rollout->at("status").at("steps");
  const auto& sd = steps.back();
  CHECK(sd.at("name") == "scale-down-blue");
  auto started = ingressx::parse_time(sd.at("waitingSince"), "t");
  auto finished = ingressx::parse_time(sd.at("finishedAt"), "t");
  CHECK(finished - started >= 5s);

  // The next rollout goes back to blue.
  w.change_template("h3");
  w.settle();
  CHECK(w.rollout_phase() == "Succeeded");
  CHECK(w.state.active_fleet == "edge-blue");
  CHECK(w.fleets.count("edge-blue"));
  CHECK(w.fleets.size() == 1);
}

TEST_CASE("a shift step holds its pause, and promote ends the pause early", "[engine]") {
  World w = initial_world("TempFleet");
  w.change_template("h2");
  while (w.current_step() != "shift-to-temp/1" || w.traffic["edge-temp"] != 50) w.step_once();
  const WallTime moved = w.now;
  for (int i = 0; i < 5; ++i) w.step_once();
  CHECK(w.current_step() == "shift-to-temp/1");  // 10s pause not over
  CHECK(w.now - moved < 10s);
  w.fleet["spec"]["promote"] = "p1";
  w.step_once();
  CHECK(w.state.observed_promote == "p1");
  w.step_once();
  CHECK(w.current_step() != "shift-to-temp/1");
}

TEST_CASE("manual promotion stops before traffic moves onto the new revision", "[engine]") {
  for (const std::string strategy : {"TempFleet", "BlueGreen"}) {
    World w = initial_world(strategy, true);
    w.change_template("h2");
    for (int i = 0; i < 300 && w.current_step() != "promote"; ++i) w.step_once();
    REQUIRE(w.current_step() == "promote");
    for (int i = 0; i < 10; ++i) w.step_once();
    CHECK(w.current_step() == "promote");
    CHECK(w.rollout_phase() == "Paused");
    CHECK(w.state.phase == "Paused");
    // No traffic on a fleet running the new revision yet.
    for (const auto& [fleet, weight] : w.traffic)
      if (weight > 0) CHECK(w.fleets[fleet].hash == "h1");
    w.fleet["spec"]["promote"] = "go";
    w.settle();
    CHECK(w.rollout_phase() == "Succeeded");
    CHECK(w.state.observed_promote == "go");
  }
}

TEST_CASE("a promote token that nothing waits for is recorded and ignored", "[engine]") {
  World w = initial_world("TempFleet", true);
  w.fleet["spec"]["promote"] = "early";
  w.step_once();
  CHECK(w.state.observed_promote == "early");
  w.change_template("h2");
  for (int i = 0; i < 300 && w.current_step() != "promote"; ++i) w.step_once();
  for (int i = 0; i < 5; ++i) w.step_once();
  CHECK(w.current_step() == "promote");  // the old token did not pass the promotion point
}

TEST_CASE("pause stops at the current step with traffic where it is; resume goes on", "[engine]") {
  World w = initial_world("TempFleet");
  w.change_template("h2");
  while (w.current_step() != "drain-primary") w.step_once();
  w.fleet["spec"]["paused"] = true;
  const auto traffic = w.traffic;
  const size_t moves = w.moves.size();
  for (int i = 0; i < 50; ++i) {
    auto d = w.step_once();
    CHECK(d.actions.empty());
  }
  CHECK(w.current_step() == "drain-primary");
  CHECK(w.rollout_phase() == "Paused");
  CHECK(w.state.phase == "Paused");
  CHECK(w.traffic == traffic);
  CHECK(w.moves.size() == moves);
  w.fleet["spec"]["paused"] = false;
  w.settle();
  CHECK(w.rollout_phase() == "Succeeded");
}

namespace {

// Runs a rollout to step `at`, aborts (spec.abort) there and checks the outcome.
void abort_at(const std::string& strategy, const std::string& at) {
  INFO(strategy << " abort at " << at);
  World w = initial_world(strategy);
  const std::string known_good = strategy == "TempFleet" ? "edge" : "edge-blue";
  w.change_template("h2");
  for (int i = 0; i < 500 && w.current_step() != at; ++i) w.step_once();
  REQUIRE(w.current_step() == at);
  w.step_once();  // be inside the step
  const size_t moves_before = w.moves.size();
  w.fleet["spec"]["abort"] = true;
  w.settle();
  const bool too_late = at == "delete-temp";
  if (too_late) {
    CHECK(w.rollout_phase() == "Succeeded");
    CHECK(w.state.current_revision == 2);
    return;
  }
  CHECK(w.rollout_phase() == "Aborted");
  CHECK(w.state.phase == "Aborted");
  CHECK(w.state.current_revision == 1);
  CHECK(w.state.active_fleet == known_good);
  // All traffic on the known-good fleet, which runs the known-good revision; nothing else.
  CHECK(w.traffic[known_good] == 100);
  REQUIRE(w.fleets.count(known_good));
  CHECK(w.fleets[known_good].hash == "h1");
  CHECK(w.fleets.size() == 1);
  // After the abort, traffic only ever moved onto fleets running the known-good revision.
  for (size_t i = moves_before; i < w.moves.size(); ++i)
    for (const auto& [fleet, weight] : w.moves[i])
      if (weight > 0) CHECK(w.hash_of_fleet_at_move[fleet] == "h1");
  const auto st = rollout_from(*w.rollout);
  CHECK(st.abort_reason == "spec.abort is true");
  // No rollout starts while abort is true.
  for (int i = 0; i < 5; ++i) w.step_once();
  CHECK(w.rollout_phase() == "Aborted");
  // Clearing abort does not restart the aborted revision; retry does.
  w.fleet["spec"]["abort"] = false;
  for (int i = 0; i < 5; ++i) w.step_once();
  CHECK(w.rollout_phase() == "Aborted");
  w.fleet["spec"]["retry"] = "r1";
  w.settle();
  CHECK(w.rollout_phase() == "Succeeded");
  CHECK(w.rollout->at("spec").at("trigger") == "Retry");
  CHECK(w.state.current_revision == 2);
}

}  // namespace

TEST_CASE("abort from every TempFleet step returns traffic to the known-good primary", "[engine]") {
  for (const auto& at : kTempPlan)
    if (at != "promote") abort_at("TempFleet", at);
}

TEST_CASE("abort from every BlueGreen step returns traffic to the old colour", "[engine]") {
  for (const auto& at : kBluePlan)
    if (at != "promote") abort_at("BlueGreen", at);
}

TEST_CASE("abort while waiting for manual promotion", "[engine]") {
  for (const std::string strategy : {"TempFleet", "BlueGreen"}) {
    World w = initial_world(strategy, true);
    w.change_template("h2");
    for (int i = 0; i < 300 && w.current_step() != "promote"; ++i) w.step_once();
    w.fleet["spec"]["abort"] = true;
    w.settle();
    CHECK(w.rollout_phase() == "Aborted");
    CHECK(w.state.current_revision == 1);
    CHECK(w.fleets.size() == 1);
  }
}

TEST_CASE("a failed analysis gate fails the rollout and returns traffic", "[engine]") {
  World w = initial_world("TempFleet", false, true);
  w.change_template("h2");
  w.analysis_passes = false;
  w.settle();
  CHECK(w.rollout_phase() == "Failed");
  CHECK(w.state.phase == "Degraded");
  CHECK(w.traffic["edge"] == 100);
  CHECK(w.fleets.size() == 1);
  CHECK(w.fleets["edge"].hash == "h1");
  const auto r = rollout_from(*w.rollout);
  CHECK(r.failed);
  CHECK_THAT(r.abort_reason, Catch::Contains("analysis of edge-temp"));
  // It does not start again by itself.
  for (int i = 0; i < 5; ++i) w.step_once();
  CHECK(w.rollout_phase() == "Failed");
}

TEST_CASE("the progress deadline fails a fleet that never becomes ready", "[engine]") {
  World w = initial_world("TempFleet");
  w.fleet["spec"]["strategy"]["progressDeadline"] = "20s";
  w.change_template("h2");
  while (w.current_step() != "upgrade-primary") w.step_once();
  // The new pods never become ready.
  for (int i = 0;
       i < 100 && w.rollout_phase() == "Progressing" && w.current_step() == "upgrade-primary";
       ++i) {
    if (w.fleets.count("edge") && w.fleets["edge"].hash == "h2") w.fleets["edge"].ready = false;
    w.step_once();
    if (w.fleets.count("edge") && w.fleets["edge"].hash == "h2") w.fleets["edge"].ready = false;
  }
  w.settle();
  CHECK(w.rollout_phase() == "Failed");
  CHECK(w.traffic["edge"] == 100);
  CHECK(w.fleets["edge"].hash == "h1");  // rolled back under no traffic
  CHECK(w.fleets.size() == 1);
}

TEST_CASE("provider down: the step waits with the reason, then goes on", "[engine]") {
  World w = initial_world("TempFleet");
  w.change_template("h2");
  while (w.current_step() != "shift-to-temp/1") w.step_once();
  w.traffic_down = true;
  for (int i = 0; i < 10; ++i) w.step_once();
  CHECK(w.current_step() == "shift-to-temp/1");
  CHECK_THAT(w.state.message, Catch::Contains("connection refused"));
  w.traffic_down = false;
  w.settle();
  CHECK(w.rollout_phase() == "Succeeded");
}

TEST_CASE("cutover backoff: 2 s doubling to 60 s", "[engine]") {
  CHECK(cutover_backoff(0) == 0ms);
  CHECK(cutover_backoff(1) == 2s);
  CHECK(cutover_backoff(2) == 4s);
  CHECK(cutover_backoff(5) == 32s);
  CHECK(cutover_backoff(6) == 60s);
  CHECK(cutover_backoff(1000) == 60s);
}

TEST_CASE("provider refuses the move: the step waits with backoff, traffic stays, then goes on",
          "[engine]") {
  World w = initial_world("TempFleet");
  w.change_template("h2");
  w.apply_fails = true;
  w.apply_attempts.clear();
  for (int i = 0; i < 200 && w.current_step() != "shift-to-temp/1"; ++i) w.step_once();
  REQUIRE(w.current_step() == "shift-to-temp/1");
  const auto before = w.traffic;
  for (int i = 0; i < 200; ++i) w.step_once();
  CHECK(w.current_step() == "shift-to-temp/1");
  CHECK(w.traffic == before);  // nothing moved, nothing lost
  CHECK(w.rollout_phase() == "Progressing");
  CHECK_THAT(w.state.message, Catch::Contains("retrying with backoff") &&
                                  Catch::Contains("NOTAUTH") && Catch::Contains("traffic stays"));
  // The attempts are spaced by the backoff: 2 s, 4 s, ... never closer, at most 60 s apart.
  REQUIRE(w.apply_attempts.size() >= 5);
  for (size_t i = 1; i < w.apply_attempts.size(); ++i) {
    const auto gap =
        std::chrono::duration_cast<Millis>(w.apply_attempts[i] - w.apply_attempts[i - 1]);
    CHECK(gap >= cutover_backoff(static_cast<int>(i)));
    CHECK(gap <= 61s);
  }
  // The provider takes changes again: the rollout goes on to the end.
  w.apply_fails = false;
  w.settle();
  CHECK(w.rollout_phase() == "Succeeded");
  CHECK(w.traffic["edge"] == 100);
}

TEST_CASE("provider refuses the move: abort still works and traffic stays on the known-good fleet",
          "[engine]") {
  World w = initial_world("TempFleet");
  w.change_template("h2");
  w.apply_fails = true;
  for (int i = 0; i < 200 && w.current_step() != "shift-to-temp/1"; ++i) w.step_once();
  for (int i = 0; i < 20; ++i) w.step_once();
  w.fleet["spec"]["abort"] = true;
  w.settle();
  CHECK(w.rollout_phase() == "Aborted");
  CHECK(w.traffic["edge"] == 100);
  CHECK(w.fleets.count("edge-temp") == 0);
  CHECK(w.fleets["edge"].hash == "h1");
}

TEST_CASE("drain ends at maxDrain when connections stay up", "[engine]") {
  World w = initial_world("TempFleet");
  w.change_template("h2");
  while (w.current_step() != "drain-primary") w.step_once();
  for (int i = 0; i < 200 && w.current_step() == "drain-primary"; ++i) {
    w.fleets["edge"].conns = 7;
    w.step_once();
    w.fleets["edge"].conns = 7;
  }
  const auto& d = w.rollout->at("status").at("drains").at(0);
  CHECK(d.at("decidedBy") == "maxDrain");
  CHECK(d.at("activeConnections") == 7);
  auto took =
      ingressx::parse_time(d.at("finishedAt"), "t") - ingressx::parse_time(d.at("startedAt"), "t");
  CHECK(took >= 30s);
}

namespace {

// From every reconcile of a rollout: the operator crashes after performing the actions and
// before writing status. The restarted operator sees the old status and the new world; it
// must finish the same way, never move traffic in the wrong direction and never repeat a
// move it had already made.
void crash_everywhere(const std::string& strategy) {
  World base = initial_world(strategy);
  base.change_template("h2");
  World ref = base;
  ref.moves.clear();
  ref.settle();
  const auto ref_moves = ref.moves;
  const int n = ref.reconciles - base.reconciles;
  for (int k = 0; k < n; ++k) {
    World w = base;
    w.moves.clear();
    for (int i = 0; i < k; ++i) w.step_once();
    // Crash: act but do not persist.
    Snapshot s = w.analysis_for(w.snapshot(), w.has_last ? &w.last : nullptr);
    Decision d = decide(s);
    const FleetState before = w.state;
    const auto rollout_before = w.rollout;
    w.apply(d);
    w.state = before;
    w.rollout = rollout_before;
    w.has_last = false;  // analysis results were in memory: lost
    w.tick();
    w.now += 1s;
    INFO(strategy << ": crash after reconcile " << k << " at step " << w.current_step());
    // The restarted operator's first decision repeats no traffic move it already made.
    Snapshot s2 = w.snapshot();
    Decision d2 = decide(s2);
    for (const auto& a : d2.actions)
      if (auto* t = std::get_if<SetTraffic>(&a)) {
        bool same = true;
        for (const auto& e : t->split) same = same && w.traffic[e.fleet] == e.weight;
        CHECK_FALSE(same);
      }
    w.settle();
    CHECK(w.rollout_phase() == "Succeeded");
    CHECK(w.state.current_revision == 2);
    // The same sequence of splits as without the crash.
    CHECK(w.moves == ref_moves);
  }
}

}  // namespace

TEST_CASE("resume after a crash in every reconcile of a TempFleet rollout", "[engine]") {
  crash_everywhere("TempFleet");
}

TEST_CASE("resume after a crash in every reconcile of a BlueGreen rollout", "[engine]") {
  crash_everywhere("BlueGreen");
}

TEST_CASE("a template change during a rollout waits for it, then rolls out", "[engine]") {
  World w = initial_world("TempFleet");
  w.change_template("h2");
  while (w.current_step() != "drain-primary") w.step_once();
  w.change_template("h3");
  w.step_once();
  CHECK(w.state.update_revision == 3);
  CHECK(rollout_from(*w.rollout).revision == 2);
  w.settle();
  CHECK(w.state.current_revision == 3);
  CHECK(w.fleets["edge"].hash == "h3");
}

TEST_CASE("undo asks for the template of the revision, aborting a running rollout first",
          "[engine]") {
  World w = initial_world("TempFleet");
  w.change_template("h2");
  while (w.current_step() != "shift-to-temp/2") w.step_once();
  w.fleet["spec"]["undoTo"] = 1;
  bool restored = false;
  for (int i = 0; i < 300 && !restored; ++i) {
    auto d = w.step_once();
    for (const auto& a : d.actions)
      if (auto* r = std::get_if<RestoreTemplate>(&a)) {
        CHECK(r->revision == 1);
        CHECK(w.rollout_phase() == "Aborted");
        restored = true;
      }
  }
  CHECK(restored);
}

TEST_CASE("step names decode to what they do", "[engine]") {
  RolloutRecord r;
  r.strategy = StrategyType::kTempFleet;
  r.steps = {CutoverStepSpec{20}, CutoverStepSpec{100}};
  auto s = step_of("shift-back/2", r);
  REQUIRE(s);
  CHECK(s->kind == StepKind::kShift);
  CHECK(s->role == "primary");
  CHECK(s->index == 1);
  CHECK_FALSE(step_of("shift-back/3", r));
  CHECK_FALSE(step_of("shift-back/x", r));
  CHECK_FALSE(step_of("scale-down-blue", r));
  auto rb = step_of("abort/rollback-primary", r);
  REQUIRE(rb);
  CHECK(rb->to_known_good);
  r.strategy = StrategyType::kBlueGreen;
  r.old_colour = "green";
  r.new_colour = "blue";
  auto sd = step_of("scale-down-green", r);
  REQUIRE(sd);
  CHECK(sd->kind == StepKind::kRemove);
  CHECK_FALSE(step_of("scale-down-blue", r));
}
