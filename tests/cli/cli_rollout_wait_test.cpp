// `rollout start --wait` and `rollout status`: the exit code says how the rollout ended.
// There is no operator here: a FakeOperator thread plays its part by writing the fleet's
// and the FleetRollout's /status the way the operator would (observedGeneration first lags
// behind, then the rollout runs its steps and ends Succeeded, Failed or Paused at promote).
#include <catch2/catch.hpp>

#include "api_fixtures.h"
#include "cli_support.h"

using namespace ingressx;
using namespace ingressx::testing;
using namespace std::chrono_literals;

namespace {

json fleet_status(int64_t observed, const std::string& phase, int64_t current, int64_t update,
                  const std::string& rollout, const json& split) {
  return {{"observedGeneration", observed},
          {"phase", phase},
          {"activeFleet", "edge"},
          {"currentRevision", current},
          {"updateRevision", update},
          {"currentRollout", rollout},
          {"trafficSplit", split},
          {"fleets",
           {{{"name", "edge"},
             {"role", "primary"},
             {"revision", current},
             {"replicas", 3},
             {"readyReplicas", 3},
             {"activeConnections", 5}}}}};
}

json step(const std::string& name, const std::string& phase, const json& traffic = nullptr) {
  json s = {{"name", name}, {"phase", phase}, {"startedAt", now_time()}};
  if (phase != "Running" && phase != "Pending") s["finishedAt"] = now_time();
  if (!traffic.is_null()) s["traffic"] = traffic;
  return s;
}

const json kSplitTemp = {{{"fleet", "edge"}, {"weight", 0}},
                         {{"fleet", "edge-temp"}, {"weight", 100}}};
const json kSplitEdge = {{{"fleet", "edge"}, {"weight", 100}}};

// The operator's part up to a running rollout of revision 2: waits for the spec change
// (generation 2), keeps the old status a moment longer (the CLI must not take that stale
// "Ready" for done), then creates edge-r2 and reports it Progressing.
void observe_and_start(const std::string& ns) {
  wait_for_generation(ns, "edge", 2);
  std::this_thread::sleep_for(1500ms);
  make_rollout(ns, "edge", 2, 1,
               {{"phase", "Progressing"},
                {"currentStep", "provision-temp"},
                {"startedAt", now_time()},
                {"steps", {step("provision-temp", "Running")}}});
  write_fleet_status(ns, "edge", fleet_status(2, "Progressing", 1, 2, "edge-r2", kSplitEdge));
  std::this_thread::sleep_for(400ms);
  write_rollout_status(
      ns, "edge-r2",
      {{"phase", "Progressing"},
       {"currentStep", "drain-primary"},
       {"steps",
        {step("provision-temp", "Succeeded"), step("shift-to-temp/1", "Succeeded", kSplitTemp),
         step("drain-primary", "Running")}},
       {"traffic", kSplitTemp},
       {"drains", {{{"fleet", "edge"}, {"activeConnections", 7}}}}});
  std::this_thread::sleep_for(400ms);
}

std::vector<std::string> start_args(const std::string& ns, const std::string& timeout = "60s") {
  return {"rollout",
          "start",
          "edge",
          "-n",
          ns,
          "--image",
          "nginx=ingressx/nginx:1.28",
          "--wait",
          "--timeout",
          timeout,
          "--poll-interval",
          "200ms"};
}

}  // namespace

TEST_CASE("rollout start --wait exits 0 once the new revision is rolled out",
          "[integration][cli]") {
  auto ns = make_namespace("cli-wait-ok");
  make_ready_fleet(ns, "edge");
  std::atomic<bool> final_written{false};
  FakeOperator op([&] {
    observe_and_start(ns);
    write_rollout_status(
        ns, "edge-r2",
        {{"phase", "Succeeded"},
         {"finishedAt", now_time()},
         {"steps",
          {step("provision-temp", "Succeeded"), step("shift-to-temp/1", "Succeeded", kSplitTemp),
           step("drain-primary", "Succeeded"), step("upgrade-primary", "Succeeded"),
           step("shift-back/2", "Succeeded", kSplitEdge), step("drain-temp", "Succeeded"),
           step("delete-temp", "Succeeded")}}});
    final_written = true;
    write_fleet_status(ns, "edge", fleet_status(2, "Ready", 2, 2, "edge-r2", kSplitEdge));
  });
  auto r = run_cli(start_args(ns));
  INFO(describe(r));
  CHECK(op.join().empty());
  CHECK(r.exit_code == 0);
  CHECK(final_written);
  // Not a terminal: one line per step.
  CHECK_THAT(r.out, Catch::Contains("proxyfleet.ingressx.io/edge template updated (generation 2)"));
  CHECK_THAT(r.out, Catch::Contains("waiting for the operator to observe generation 2"));
  CHECK_THAT(r.out,
             Catch::Contains("step shift-to-temp/1 Succeeded  traffic edge=0 edge-temp=100"));
  CHECK_THAT(r.out, Catch::Contains("revision 2 of edge is rolled out"));
  json f = admin().get(kProxyFleets, ns, "edge");
  CHECK(f["spec"]["template"]["spec"]["containers"][0]["image"] == "ingressx/nginx:1.28");
  CHECK(f["spec"]["template"]["spec"]["containers"][0]["name"] == "nginx");
  CHECK(f["metadata"]["generation"] == 2);
  admin().remove(refs::kNamespaces, "", ns);
}

TEST_CASE("rollout start --wait exits 1 when the rollout fails and is rolled back",
          "[integration][cli]") {
  auto ns = make_namespace("cli-wait-fail");
  make_ready_fleet(ns, "edge");
  FakeOperator op([&] {
    observe_and_start(ns);
    write_rollout_status(
        ns, "edge-r2",
        {{"phase", "Failed"},
         {"message", "analysis healthz failed: 12% of probes answered 503"},
         {"steps", {step("provision-temp", "Succeeded"), step("verify-primary", "Failed")}}});
    write_fleet_status(ns, "edge", fleet_status(2, "Degraded", 1, 2, "edge-r2", kSplitEdge));
  });
  auto r = run_cli(start_args(ns));
  INFO(describe(r));
  CHECK(op.join().empty());
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("rollout edge-r2 (revision 2) failed and was rolled back"));
  CHECK_THAT(r.err, Catch::Contains("analysis healthz failed"));
  admin().remove(refs::kNamespaces, "", ns);
}

TEST_CASE("rollout start --wait exits 3 when the operator does not finish in time",
          "[integration][cli]") {
  auto ns = make_namespace("cli-wait-timeout");
  make_ready_fleet(ns, "edge");
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_cli(start_args(ns, "2s"));
  auto took = std::chrono::steady_clock::now() - t0;
  INFO(describe(r));
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains("timed out after 2s waiting for proxyfleet edge"));
  // Nobody observed generation 2: the old Ready status was not taken for done.
  CHECK_THAT(r.err, Catch::Contains("waiting for the operator to observe generation 2"));
  CHECK(took >= 2s);
  CHECK(took < 20s);
  admin().remove(refs::kNamespaces, "", ns);
}

TEST_CASE("rollout start --wait exits 4 when the rollout waits for promotion",
          "[integration][cli]") {
  auto ns = make_namespace("cli-wait-promote");
  make_ready_fleet(ns, "edge", {{"strategy", {{"promotion", "Manual"}}}});
  FakeOperator op([&] {
    observe_and_start(ns);
    write_rollout_status(ns, "edge-r2",
                         {{"phase", "Paused"},
                          {"currentStep", "promote"},
                          {"steps",
                           {step("provision-temp", "Succeeded"),
                            step("verify-primary", "Succeeded"), step("promote", "Running")}}});
    write_fleet_status(ns, "edge", fleet_status(2, "Paused", 1, 2, "edge-r2", kSplitTemp));
  });
  auto r = run_cli(start_args(ns));
  INFO(describe(r));
  CHECK(op.join().empty());
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.out, Catch::Contains("waiting for promotion at step promote"));
  CHECK_THAT(r.out, Catch::Contains("kubectl ingressx rollout promote edge"));

  SECTION("rollout status says the same without waiting, and with --until paused it is done") {
    auto s = run_cli({"rollout", "status", "edge", "-n", ns, "--watch=false"});
    INFO(describe(s));
    CHECK(s.exit_code == 4);
    auto p = run_cli({"rollout", "status", "edge", "-n", ns, "--until", "paused"});
    INFO(describe(p));
    CHECK(p.exit_code == 0);
    CHECK_THAT(p.out, Catch::Contains("edge is paused at step promote"));
  }
  SECTION("promote sets a new unique token each time") {
    auto p1 = run_cli({"rollout", "promote", "edge", "-n", ns});
    INFO(describe(p1));
    CHECK(p1.exit_code == 0);
    std::string t1 = admin().get(kProxyFleets, ns, "edge")["spec"].value("promote", "");
    CHECK_FALSE(t1.empty());
    CHECK_THAT(p1.out, Catch::Contains("spec.promote=" + t1));
    auto p2 = run_cli({"rollout", "promote", "edge", "-n", ns});
    CHECK(p2.exit_code == 0);
    std::string t2 = admin().get(kProxyFleets, ns, "edge")["spec"].value("promote", "");
    CHECK_FALSE(t2.empty());
    CHECK(t2 != t1);
  }
  admin().remove(refs::kNamespaces, "", ns);
}

TEST_CASE("rollout status waits until completed, shifted or drained and reports failures",
          "[integration][cli]") {
  auto ns = make_namespace("cli-status");
  make_ready_fleet(ns, "edge");

  SECTION("a Ready fleet is done at once, with or without --watch") {
    auto r = run_cli({"rollout", "status", "edge", "-n", ns, "--watch=false"});
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out,
               Catch::Contains("revision 1 of edge is rolled out (rollout edge-r1 succeeded)"));
    auto w = run_cli({"rollout", "status", "edge", "-n", ns, "--timeout", "10s"});
    CHECK(w.exit_code == 0);
  }
  SECTION("--until shifted and --until drained follow the steps") {
    admin().patch(kProxyFleets, ns, "edge", PatchType::kMerge,
                  {{"spec", {{"template", {{"metadata", {{"labels", {{"v", "2"}}}}}}}}}});
    make_rollout(ns, "edge", 2, 1,
                 {{"phase", "Progressing"},
                  {"currentStep", "shift-back/1"},
                  {"steps",
                   {step("provision-temp", "Succeeded"), step("shift-to-temp/1", "Succeeded"),
                    step("shift-to-temp/2", "Succeeded"), step("drain-primary", "Succeeded"),
                    step("upgrade-primary", "Succeeded"), step("shift-back/1", "Running")}}});
    write_fleet_status(ns, "edge", fleet_status(2, "Progressing", 1, 2, "edge-r2", kSplitTemp));
    auto still = run_cli({"rollout", "status", "edge", "-n", ns, "--watch=false"});
    INFO(describe(still));
    CHECK(still.exit_code == 3);  // not done yet, no waiting
    CHECK_THAT(still.out,
               Catch::Contains("rollout edge-r2 (revision 2) Progressing, step shift-back/1"));
    auto t = run_cli({"rollout", "status", "edge", "-n", ns, "--until", "shifted", "--timeout",
                      "1s", "--poll-interval", "200ms"});
    CHECK(t.exit_code == 3);

    FakeOperator op([&] {
      std::this_thread::sleep_for(1s);
      write_rollout_status(
          ns, "edge-r2",
          {{"phase", "Progressing"},
           {"currentStep", "drain-temp"},
           {"steps",
            {step("provision-temp", "Succeeded"), step("shift-to-temp/1", "Succeeded"),
             step("shift-to-temp/2", "Succeeded"), step("drain-primary", "Succeeded"),
             step("upgrade-primary", "Succeeded"), step("shift-back/1", "Succeeded"),
             step("shift-back/2", "Succeeded", kSplitEdge), step("drain-temp", "Running")}}});
      std::this_thread::sleep_for(1500ms);
      write_rollout_status(ns, "edge-r2",
                           {{"phase", "Progressing"},
                            {"currentStep", "delete-temp"},
                            {"steps",
                             {step("shift-back/2", "Succeeded", kSplitEdge),
                              step("drain-temp", "Succeeded"), step("delete-temp", "Running")}}});
    });
    auto shifted = run_cli({"rollout", "status", "edge", "-n", ns, "--until", "shifted",
                            "--timeout", "30s", "--poll-interval", "200ms"});
    INFO(describe(shifted));
    CHECK(shifted.exit_code == 0);
    CHECK_THAT(shifted.out, Catch::Contains("traffic is shifted (step shift-back/2 succeeded)"));
    auto drained = run_cli({"rollout", "status", "edge", "-n", ns, "--until", "drained",
                            "--timeout", "30s", "--poll-interval", "200ms"});
    INFO(describe(drained));
    CHECK(op.join().empty());
    CHECK(drained.exit_code == 0);
    CHECK_THAT(drained.out, Catch::Contains("drained (step drain-temp succeeded)"));
  }
  SECTION("rollout get --watch shows the tree until the rollout ends") {
    auto r = run_cli({"rollout", "get", "edge", "-n", ns, "--watch", "--timeout", "10s"});
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("Rollout:    edge-r1 revision 1 from 0, trigger Initial"));
    CHECK_THAT(r.out, Catch::Contains("revision 1 of edge is rolled out"));
  }
  SECTION("an aborted rollout is exit 1") {
    admin().patch(kProxyFleets, ns, "edge", PatchType::kMerge,
                  {{"spec", {{"template", {{"metadata", {{"labels", {{"v", "2"}}}}}}}}}});
    make_rollout(ns, "edge", 2, 1, {{"phase", "Aborted"}, {"message", "spec.abort"}});
    write_fleet_status(ns, "edge", fleet_status(2, "Aborted", 1, 2, "edge-r2", kSplitEdge));
    auto r = run_cli({"rollout", "status", "edge", "-n", ns, "--timeout", "10s"});
    INFO(describe(r));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("rollout edge-r2 (revision 2) was aborted"));
  }
  admin().remove(refs::kNamespaces, "", ns);
}
