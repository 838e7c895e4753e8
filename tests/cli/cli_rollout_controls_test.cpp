// The control verbs write the spec fields docs/api.md defines (the operator acts on them;
// here the test checks what was written): pause/resume (spec.paused), abort (spec.abort),
// retry (spec.retry token, abort false), undo (spec.undoTo from the fleet's history).
#include <catch2/catch.hpp>

#include "api_fixtures.h"
#include "cli_support.h"

using namespace ingressx;
using namespace ingressx::testing;

namespace {
json spec_of(const std::string& ns) {
  return admin().get(kProxyFleets, ns, "edge")["spec"];
}
}  // namespace

TEST_CASE("pause, resume, abort and retry set the control fields", "[integration][cli]") {
  auto ns = make_namespace("cli-controls");
  make_ready_fleet(ns, "edge");

  auto r = run_cli({"rollout", "pause", "edge", "-n", ns});
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "proxyfleet.ingressx.io/edge paused\n");
  CHECK(spec_of(ns)["paused"] == true);

  r = run_cli({"rollout", "resume", "edge", "-n", ns});
  CHECK(r.exit_code == 0);
  CHECK(spec_of(ns)["paused"] == false);

  r = run_cli({"rollout", "abort", "edge", "-n", ns});
  CHECK(r.exit_code == 0);
  CHECK(spec_of(ns)["abort"] == true);

  r = run_cli({"rollout", "retry", "edge", "-n", ns});
  CHECK(r.exit_code == 0);
  json s = spec_of(ns);
  CHECK(s["abort"] == false);
  std::string t1 = s.value("retry", "");
  CHECK_FALSE(t1.empty());
  r = run_cli({"rollout", "retry", "edge", "-n", ns});
  CHECK(r.exit_code == 0);
  CHECK(spec_of(ns).value("retry", "") != t1);

  // Nothing waits for promotion: the token is written and the user is told.
  r = run_cli({"rollout", "promote", "edge", "-n", ns});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("no rollout of edge is waiting for promotion"));
  admin().remove(refs::kNamespaces, "", ns);
}

TEST_CASE("undo sets spec.undoTo to the previous revision or the one asked for",
          "[integration][cli]") {
  auto ns = make_namespace("cli-undo");
  make_ready_fleet(ns, "edge");
  // History: revisions 1, 2 (Succeeded), 3 (Succeeded, current).
  make_rollout(ns, "edge", 2, 1, {{"phase", "Succeeded"}});
  make_rollout(ns, "edge", 3, 2, {{"phase", "Succeeded"}});
  json st = admin().get(kProxyFleets, ns, "edge")["status"];
  st["currentRevision"] = 3;
  st["updateRevision"] = 3;
  st["currentRollout"] = "edge-r3";
  write_fleet_status(ns, "edge", st);

  SECTION("default: the revision before the current one") {
    auto r = run_cli({"rollout", "undo", "edge", "-n", ns});
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK(spec_of(ns)["undoTo"] == 2);
    CHECK_THAT(r.out, Catch::Contains("rolling back to revision 2"));
  }
  SECTION("--to-revision") {
    auto r = run_cli({"rollout", "undo", "edge", "-n", ns, "--to-revision", "1"});
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK(spec_of(ns)["undoTo"] == 1);
  }
  SECTION("a revision not in history is refused and nothing is written") {
    auto r = run_cli({"rollout", "undo", "edge", "-n", ns, "--to-revision", "7"});
    INFO(describe(r));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("revision 7 of proxyfleet edge in namespace " + ns +
                                      " is not in its history (revisions: 1, 2, 3)"));
    CHECK_FALSE(spec_of(ns).contains("undoTo"));
  }
  SECTION("a FleetRollout found by spec.fleetRef.name only (no label) counts too") {
    json r4 = admin().get(kFleetRollouts, ns, "edge-r3");
    r4["metadata"] = {{"name", "other-name"}};
    r4["spec"]["revision"] = 4;
    r4.erase("status");
    admin().create(kFleetRollouts, ns, r4);
    auto r = run_cli({"rollout", "undo", "edge", "-n", ns, "--to-revision", "4"});
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK(spec_of(ns)["undoTo"] == 4);
  }
  admin().remove(refs::kNamespaces, "", ns);
}

TEST_CASE("control verbs on an unknown fleet name the fleet and the namespace",
          "[integration][cli]") {
  auto ns = make_namespace("cli-unknown");
  install_crds();
  for (std::vector<std::string> verb : {std::vector<std::string>{"rollout", "pause"},
                                        {"rollout", "resume"},
                                        {"rollout", "promote"},
                                        {"rollout", "abort"},
                                        {"rollout", "retry"},
                                        {"rollout", "undo"},
                                        {"rollout", "status"},
                                        {"rollout", "get"},
                                        {"rollout", "history"},
                                        {"fleet", "get"},
                                        {"fleet", "describe"},
                                        {"traffic"}}) {
    std::vector<std::string> args = verb;
    args.insert(args.end(), {"nosuch", "-n", ns});
    auto r = run_cli(args);
    INFO(verb[0] << " " << (verb.size() > 1 ? verb[1] : "") << ": " << describe(r));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err,
               Catch::Contains("proxyfleet \"nosuch\" not found in namespace \"" + ns + "\""));
  }
  auto r = run_cli({"rollout", "start", "nosuch", "-n", ns, "--image", "a=b", "--wait"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("proxyfleet \"nosuch\" not found in namespace \"" + ns + "\""));
  admin().remove(refs::kNamespaces, "", ns);
}
