// The engine under lost, failed and repeated writes, and under a provider whose split is
// reset behind its back (a front door reloaded from its config file). Each case is one of
// the faults of the rollout protocol (docs/architecture.md, "The rollout protocol").
#include <catch2/catch.hpp>

#include "engine_world.h"

using namespace engine_world;

namespace {

// Every planned step of the record is Succeeded or Skipped, in plan order.
void check_all_steps_done(const World& w, const std::vector<std::string>& plan) {
  REQUIRE(w.rollout);
  const auto& steps = w.rollout->at("status").at("steps");
  REQUIRE(steps.size() == plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    INFO("step " << i << " " << plan[i]);
    CHECK(steps[i].at("name") == plan[i]);
    const std::string phase = steps[i].at("phase");
    CHECK((phase == "Succeeded" || (plan[i] == "promote" && phase == "Skipped")));
  }
}

// Runs reconciles until the rollout of revision 2 exists, persisting the FleetRollout as
// its create would (spec, plan) but losing the status write after it and the fleet status.
void lose_first_status_write(World& w) {
  for (int i = 0; i < 50; ++i) {
    Snapshot s = w.snapshot();
    Decision d = decide(s);
    w.apply(d);
    if (d.new_rollout) {
      w.rollout = rollout_object(*d.rollout, w.fleet, w.fleet["spec"]["template"]);  // no status
      w.max_revision = std::max(w.max_revision, d.rollout->revision);
      w.tick();
      w.now += 1s;
      return;
    }
    w.persist(d);
    w.tick();
    w.now += 1s;
  }
  FAIL("no rollout started");
}

}  // namespace

TEST_CASE("a FleetRollout whose first status write was lost reads as not started",
          "[engine][faults]") {
  for (const std::string strategy : {"TempFleet", "BlueGreen"}) {
    INFO(strategy);
    World w = initial_world(strategy);
    const FleetState before = w.state;
    w.change_template("h2");
    lose_first_status_write(w);
    w.state = before;  // the fleet's status write never happened either
    // Read back as the operator reads it: the fixed plan, every step pending.
    const RolloutRecord r = rollout_from(*w.rollout);
    CHECK_FALSE(r.finished());
    const auto& plan = strategy == "TempFleet" ? kTempPlan : kBluePlan;
    REQUIRE(r.plan.size() == plan.size());
    for (const auto& step : r.plan) CHECK(step.phase == StepPhase::kPending);
    w.moves.clear();
    w.settle();
    CHECK(w.rollout_phase() == "Succeeded");
    check_all_steps_done(w, plan);
    // Traffic went to the other fleet and came back (TempFleet) or moved to the new colour.
    REQUIRE_FALSE(w.moves.empty());
    if (strategy == "TempFleet") {
      CHECK(w.moves.front().at("edge-temp") > 0);
      CHECK(w.traffic["edge"] == 100);
    } else {
      CHECK(w.traffic["edge-green"] == 100);
    }
    CHECK(w.state.current_revision == 2);
  }
}

TEST_CASE("a record without steps never reads as Succeeded", "[engine][faults]") {
  World w = initial_world("TempFleet");
  w.change_template("h2");
  lose_first_status_write(w);
  (*w.rollout)["spec"].erase("plan");  // a record from before spec.plan: the plan is derived
  CHECK(rollout_from(*w.rollout).plan.size() == kTempPlan.size());
}

TEST_CASE("a lost fleet status write after the rollout finished: the fleet takes its outcome",
          "[engine][faults]") {
  for (const std::string strategy : {"TempFleet", "BlueGreen"}) {
    INFO(strategy);
    World w = initial_world(strategy);
    w.change_template("h2");
    FleetState stale = w.state;
    auto done = [&] {
      return w.rollout && w.rollout->at("metadata").at("name") == "edge-r2" &&
             w.rollout_phase() == "Succeeded";
    };
    for (int i = 0; i < 500 && !done(); ++i) {
      stale = w.state;
      w.step_once();
    }
    REQUIRE(done());
    REQUIRE(stale.current_revision == 1);
    const std::string name = w.rollout->at("metadata").at("name");
    w.state = stale;  // the record says Succeeded; the fleet's status write was lost
    for (int i = 0; i < 5; ++i) {
      Decision d = w.step_once();
      CHECK_FALSE(d.new_rollout);  // not the same rollout again (AlreadyExists forever)
    }
    CHECK(w.state.current_revision == 2);
    CHECK(w.state.current_hash == "h2");
    CHECK(w.state.phase == "Ready");
    CHECK(w.state.active_fleet == (strategy == "TempFleet" ? "edge" : "edge-green"));
    CHECK(w.rollout->at("metadata").at("name") == name);
    // Abort then acts on the fleet as it is: nothing runs, nothing moves.
    w.fleet["spec"]["abort"] = true;
    w.moves.clear();
    w.step_once();
    CHECK(w.moves.empty());
  }
}

TEST_CASE("a front door reloaded in any step gets the rollout's split back before the step goes on",
          "[engine][faults]") {
  for (const std::string strategy : {"TempFleet", "BlueGreen"}) {
    const auto& plan = strategy == "TempFleet" ? kTempPlan : kBluePlan;
    for (const auto& at : plan) {
      INFO(strategy << ": reloaded during " << at);
      World w = initial_world(strategy);
      w.change_template("h2");
      for (int i = 0; i < 500 && w.current_step() != at; ++i) w.step_once();
      REQUIRE(w.current_step() == at);
      const auto expected = w.traffic;
      // The reload: every server back to the config file's weight (here: none serves).
      for (auto& [f, weight] : w.traffic) weight = 0;
      const std::string running = w.current_step();
      Decision d = w.step_once();
      // The very next reconcile moves traffic again, in one move of the whole split: back
      // to what the rollout had reached, or on to the split of the shift step that runs.
      int moves = 0;
      for (const auto& a : d.actions)
        if (std::holds_alternative<SetTraffic>(a)) ++moves;
      CHECK(moves == 1);
      if (w.current_step() == running && running.rfind("shift", 0) != 0 &&
          running.rfind("abort", 0) != 0)
        CHECK(w.traffic == expected);
      int serving = 0;
      for (const auto& [f, weight] : w.traffic) serving += weight;
      CHECK(serving == 100);
      w.settle();
      CHECK(w.rollout_phase() == "Succeeded");
      check_all_steps_done(w, plan);
      // No step recorded a split with nothing serving.
      for (const auto& step : w.rollout->at("status").at("steps")) {
        if (!step.contains("traffic")) continue;
        int sum = 0;
        for (const auto& e : step.at("traffic")) sum += e.at("weight").get<int>();
        CHECK(sum == 100);
      }
    }
  }
}

TEST_CASE("a drain does not finish while the front door sends it no traffic by mistake",
          "[engine][faults]") {
  World w = initial_world("TempFleet");
  w.change_template("h2");
  while (w.current_step() != "drain-primary") w.step_once();
  // Reloaded: the config file has primary at 100 and temp at 0: traffic back on the primary.
  w.traffic["edge"] = 100;
  w.traffic["edge-temp"] = 0;
  w.step_once();
  CHECK(w.current_step() == "drain-primary");
  CHECK(w.traffic["edge-temp"] == 100);
  CHECK(w.traffic["edge"] == 0);
}

TEST_CASE("no step goes on blind while the provider does not answer", "[engine][faults]") {
  World w = initial_world("TempFleet");
  w.change_template("h2");
  while (w.current_step() != "drain-primary") w.step_once();
  w.traffic_down = true;
  for (int i = 0; i < 60; ++i) w.step_once();  // far past minDrain
  CHECK(w.current_step() == "drain-primary");
  CHECK_THAT(w.state.message, Catch::Contains("traffic split unknown"));
  w.traffic_down = false;
  w.settle();
  CHECK(w.rollout_phase() == "Succeeded");
}
