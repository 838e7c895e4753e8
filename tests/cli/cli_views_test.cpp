// What people read: fleet list/get/describe, traffic, rollout get/list/history, in tables
// and as -o json|yaml|name|jsonpath parsed back; kubeconfig contexts; bad flags.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api_fixtures.h"
#include "cli_support.h"
#include "controlplane.h"
#include "ingressx/core/yaml.h"

using namespace ingressx;
using namespace ingressx::testing;

namespace {

// A rollout half way: traffic on the temp fleet, the primary draining.
void rollout_in_progress(const std::string& ns) {
  admin().patch(kProxyFleets, ns, "edge", PatchType::kMerge,
                {{"spec", {{"template", {{"metadata", {{"labels", {{"v", "2"}}}}}}}}}});
  json split = {{{"fleet", "edge"}, {"weight", 0}}, {{"fleet", "edge-temp"}, {"weight", 100}}};
  make_rollout(
      ns, "edge", 2, 1,
      {{"phase", "Progressing"},
       {"currentStep", "drain-primary"},
       {"startedAt", "2026-01-01T00:00:00Z"},
       {"steps",
        {{{"name", "provision-temp"},
          {"phase", "Succeeded"},
          {"startedAt", "2026-01-01T00:00:00Z"},
          {"finishedAt", "2026-01-01T00:00:20Z"}},
         {{"name", "shift-to-temp/1"},
          {"phase", "Succeeded"},
          {"traffic", split},
          {"message", "analysis healthz passed (100% of 30 probes)"}},
         {{"name", "drain-primary"}, {"phase", "Running"}, {"startedAt", "2026-01-01T00:00:40Z"}},
         {{"name", "upgrade-primary"}, {"phase", "Pending"}}}},
       {"traffic", split},
       {"drains",
        {{{"fleet", "edge"}, {"activeConnections", 7}, {"startedAt", "2026-01-01T00:00:40Z"}}}},
       {"conditions",
        {{{"type", "AnalysisPassed"},
          {"status", "True"},
          {"reason", "ProbesPassed"},
          {"message", "healthz 100%"},
          {"lastTransitionTime", "2026-01-01T00:00:35Z"}}}}});
  json st = admin().get(kProxyFleets, ns, "edge")["status"];
  st["observedGeneration"] = 2;
  st["phase"] = "Progressing";
  st["updateRevision"] = 2;
  st["currentRollout"] = "edge-r2";
  st["trafficSplit"] = split;
  st["trafficSummary"] = "edge=0 edge-temp=100";
  st["fleets"] = {{{"name", "edge"},
                   {"role", "primary"},
                   {"revision", 1},
                   {"replicas", 3},
                   {"readyReplicas", 3},
                   {"activeConnections", 7}},
                  {{"name", "edge-temp"},
                   {"role", "temp"},
                   {"revision", 1},
                   {"replicas", 3},
                   {"readyReplicas", 3},
                   {"activeConnections", 812}}};
  write_fleet_status(ns, "edge", st);
}

}  // namespace

TEST_CASE("fleet list, get, describe and traffic", "[integration][cli]") {
  auto ns = make_namespace("cli-fleets");
  make_ready_fleet(ns, "edge");
  make_ready_fleet(ns, "edge2");
  rollout_in_progress(ns);

  auto r = run_cli({"fleet", "list", "-n", ns});
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith(
                        "NAME    PHASE         ACTIVE   TRAFFIC                REVISION   AGE\n"));
  CHECK_THAT(r.out, Catch::Contains("edge    Progressing   edge     edge=0 edge-temp=100   1"));

  r = run_cli({"fleet", "list", "-n", ns, "-o", "json"});
  json list = json::parse(r.out);
  CHECK(list["kind"] == "List");
  REQUIRE(list["items"].size() == 2);
  CHECK(list["items"][0]["metadata"]["name"] == "edge");

  r = run_cli({"fleet", "list", "-n", ns, "-o", "yaml"});
  json ylist = yaml_to_json(r.out, "stdout");
  CHECK(ylist["items"][1]["metadata"]["name"] == "edge2");
  CHECK(ylist["items"][1]["status"]["phase"] == "Ready");

  r = run_cli({"fleet", "list", "-n", ns, "-o", "name"});
  CHECK(r.out == "proxyfleet.ingressx.io/edge\nproxyfleet.ingressx.io/edge2\n");

  r = run_cli({"fleet", "list", "-n", ns, "-o", "wide"});
  CHECK_THAT(r.out, Catch::Contains("UPDATE   REPLICAS   ROLLOUT"));
  CHECK_THAT(r.out, Catch::Contains("edge-r2"));

  r = run_cli({"fleet", "list", "-A", "-o", "json"});
  bool found = false;
  json all = json::parse(r.out);
  for (const auto& i : all["items"])
    found = found || (i["metadata"]["namespace"] == ns && i["metadata"]["name"] == "edge2");
  CHECK(found);

  r = run_cli({"fleet", "get", "edge", "-n", ns, "-o", "json"});
  json one = json::parse(r.out);
  CHECK(one["kind"] == "ProxyFleet");
  CHECK(one["status"]["currentRollout"] == "edge-r2");
  r = run_cli(
      {"fleet", "get", "edge", "-n", ns, "-o", "jsonpath={.status.trafficSplit[*].weight}"});
  CHECK(r.out == "0 100\n");
  r = run_cli({"fleet", "get", "edge", "-n", ns, "-o", "jsonpath=rev {.status.currentRevision}"});
  CHECK(r.out == "rev 1\n");

  r = run_cli({"fleet", "describe", "edge", "-n", ns});
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("Proxy:        nginx"));
  CHECK_THAT(r.out,
             Catch::Contains("Cutover:      weight via haproxy; steps 20% (pause 30s), 100%"));
  CHECK_THAT(r.out, Catch::Contains("History:      1 Succeeded, 2 Progressing"));

  r = run_cli({"traffic", "edge", "-n", ns});
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out,
             Catch::Contains("FLEET       WEIGHT   ROLE      REVISION   READY   CONNECTIONS"));
  CHECK_THAT(r.out, Catch::Contains("edge-temp   100%     temp      1          3/3     812"));
  r = run_cli({"traffic", "edge", "-n", ns, "-o", "json"});
  json t = json::parse(r.out);
  CHECK(t["trafficSplit"][1]["weight"] == 100);
  admin().remove(refs::kNamespaces, "", ns);
}

TEST_CASE("rollout get, list and history", "[integration][cli]") {
  auto ns = make_namespace("cli-rollouts");
  make_ready_fleet(ns, "edge");
  rollout_in_progress(ns);

  auto r = run_cli({"rollout", "get", "edge", "-n", ns});
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out,
             Catch::Contains("Rollout:    edge-r2 revision 2 from 1, trigger TemplateChange"));
  CHECK_THAT(r.out, Catch::Contains("Traffic:    edge=0 edge-temp=100"));
  CHECK_THAT(r.out, Catch::Contains("✔ provision-temp"));
  CHECK_THAT(r.out, Catch::Contains("00:00:00   20s"));
  CHECK_THAT(r.out, Catch::Contains("● drain-primary"));
  CHECK_THAT(r.out, Catch::Contains("○ upgrade-primary"));
  CHECK_THAT(r.out, Catch::Contains("edge-temp   temp      1          3/3     812"));
  CHECK_THAT(r.out, Catch::Contains("edge    7             00:00:40"));
  CHECK_THAT(r.out, Catch::Contains("AnalysisPassed   True"));

  r = run_cli({"rollout", "get", "edge", "-n", ns, "-o", "json"});
  json both = json::parse(r.out);
  REQUIRE(both["items"].size() == 2);
  CHECK(both["items"][1]["status"]["drains"][0]["activeConnections"] == 7);

  r = run_cli({"rollout", "list", "-n", ns});
  INFO(describe(r));
  CHECK_THAT(r.out, Catch::StartsWith("NAME      FLEET   REVISION   PHASE         STEP"));
  CHECK_THAT(r.out, Catch::Contains("edge-r2   edge    2          Progressing   drain-primary"));
  r = run_cli({"rollout", "list", "-A", "-o", "yaml"});
  bool found = false;
  json all = yaml_to_json(r.out, "stdout");
  for (const auto& i : all["items"])
    found = found || (i["metadata"]["namespace"] == ns && i["metadata"]["name"] == "edge-r2");
  CHECK(found);

  r = run_cli({"rollout", "history", "edge", "-n", ns});
  INFO(describe(r));
  CHECK_THAT(r.out, Catch::Contains("1 (current)   edge-r1   Initial"));
  CHECK_THAT(r.out, Catch::Contains("2             edge-r2   TemplateChange   Progressing"));
  r = run_cli({"rollout", "history", "edge", "-n", ns, "--revision", "1"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("image: ingressx/nginx:1.27"));
  r = run_cli({"rollout", "history", "edge", "-n", ns, "--revision", "1", "-o", "json"});
  CHECK(json::parse(r.out)["spec"]["revision"] == 1);
  r = run_cli({"rollout", "history", "edge", "-n", ns, "--revision", "9"});
  CHECK(r.exit_code == 1);
  admin().remove(refs::kNamespaces, "", ns);
}

TEST_CASE("kubeconfig contexts, KUBECONFIG and the namespace of the context",
          "[integration][cli]") {
  auto ns_a = make_namespace("cli-ctx-a");
  auto ns_b = make_namespace("cli-ctx-b");
  make_ready_fleet(ns_a, "alpha");
  make_ready_fleet(ns_b, "bravo");
  // Two contexts on the same cluster and user, each with its own namespace.
  json kc = yaml_to_json(
      [] {
        std::ifstream in(control_plane().kubeconfig);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
      }(),
      "kubeconfig");
  json admin_ctx;
  for (const auto& c : kc["contexts"])
    if (c["name"] == "admin") admin_ctx = c;
  REQUIRE_FALSE(admin_ctx.is_null());
  json a = admin_ctx, b = admin_ctx;
  a["name"] = "ctx-a";
  a["context"]["namespace"] = ns_a;
  b["name"] = "ctx-b";
  b["context"]["namespace"] = ns_b;
  kc["contexts"] = {a, b};
  kc["current-context"] = "ctx-a";
  // Relative paths in the kubeconfig resolve against its directory: keep it there.
  std::string path = (std::filesystem::path(control_plane().kubeconfig).parent_path() /
                      ("cli-two-contexts-" + std::to_string(::getpid()) + ".yaml"))
                         .string();
  std::ofstream(path) << json_to_yaml(kc);

  auto r = run_cli_raw({"--kubeconfig", path, "fleet", "list", "-o", "name"});
  INFO(describe(r));
  CHECK(r.out == "proxyfleet.ingressx.io/alpha\n");
  r = run_cli_raw({"--kubeconfig", path, "--context", "ctx-b", "fleet", "list", "-o", "name"});
  CHECK(r.out == "proxyfleet.ingressx.io/bravo\n");
  // Flags after the verb work as well; -n overrides the context's namespace.
  r = run_cli_raw(
      {"fleet", "list", "--context", "ctx-b", "-n", ns_a, "--kubeconfig", path, "-o", "name"});
  CHECK(r.out == "proxyfleet.ingressx.io/alpha\n");
  // KUBECONFIG (a list; a missing file is ignored).
  r = run_cli_raw({"--context", "ctx-b", "rollout", "status", "bravo", "--watch=false"},
                  std::chrono::seconds(60), {{"KUBECONFIG", "/nonexistent/config:" + path}});
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  r = run_cli_raw({"--kubeconfig", path, "--context", "nosuch", "fleet", "list"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("nosuch"));
  std::filesystem::remove(path);
  admin().remove(refs::kNamespaces, "", ns_a);
  admin().remove(refs::kNamespaces, "", ns_b);
}

TEST_CASE("bad flags and bad input exit 2 with a message", "[integration][cli]") {
  auto ns = make_namespace("cli-usage");
  make_ready_fleet(ns, "edge");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const auto& c : std::vector<Case>{
           {{"rollout", "start", "edge", "--bogus"}, "--bogus"},
           {{"rollout", "start", "edge"}, "give --image CONTAINER=IMAGE or -f PATCH"},
           {{"rollout", "start", "edge", "--image", "nginx"}, "expected CONTAINER=IMAGE"},
           {{"rollout", "start", "edge", "--image", "envoy=x:1"},
            "has no container \"envoy\" (containers: nginx)"},
           {{"rollout", "start", "edge", "--image", "nginx=x:1", "--strategy", "Canary"},
            "expected TempFleet or BlueGreen"},
           {{"rollout", "start", "edge", "-f", "/nonexistent.yaml"}, "cannot read"},
           {{"rollout", "status", "edge", "--until", "later"}, "--until"},
           {{"rollout", "status", "edge", "--timeout", "ten"}, "invalid duration"},
           {{"rollout", "status"}, "fleet is required"},
           {{"rollout"}, "subcommand is required"},
           {{"fleet", "list", "-o", "xml"}, "unknown output format \"xml\""},
           {{"completion", "tcsh"}, "tcsh"},
           {{"lint"}, "--filename is required"},
       }) {
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"-n", ns});
    auto r = run_cli(args);
    INFO(describe(r));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(c.message));
  }
  // Nothing was written by the refused starts.
  CHECK(admin().get(kProxyFleets, ns, "edge")["metadata"]["generation"] == 1);
  auto help = run_cli_raw({"rollout", "start", "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("Usage: kubectl ingressx rollout start"));
  admin().remove(refs::kNamespaces, "", ns);
}

TEST_CASE("rollout start -f merges a template patch", "[integration][cli]") {
  auto ns = make_namespace("cli-start-file");
  make_ready_fleet(ns, "edge");
  std::string patch = "/tmp/cli-patch-" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(patch) << "metadata:\n  annotations:\n    ingressx.io/reason: test\n"
                          "spec:\n  terminationGracePeriodSeconds: 700\n";
  // The apiserver's refusal (BlueGreen needs the blue and green HAProxy servers) is exit 1
  // with its message, and nothing changes.
  auto bad =
      run_cli({"rollout", "start", "edge", "-n", ns, "-f", patch, "--strategy", "BlueGreen"});
  INFO(describe(bad));
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, Catch::Contains("spec.cutover.weight.haproxy.servers: Required value"));
  CHECK(admin().get(kProxyFleets, ns, "edge")["metadata"]["generation"] == 1);

  auto r = run_cli({"rollout", "start", "edge", "-n", ns, "-f", patch, "--image",
                    "nginx=ingressx/nginx:1.29", "--strategy", "TempFleet"});
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  json f = admin().get(kProxyFleets, ns, "edge");
  const json& t = f["spec"]["template"];
  CHECK(t["metadata"]["annotations"]["ingressx.io/reason"] == "test");
  CHECK(t["metadata"]["labels"]["app"] == "edge");  // kept
  CHECK(t["spec"]["terminationGracePeriodSeconds"] == 700);
  CHECK(t["spec"]["volumes"][0]["configMap"]["name"] == "edge-nginx");  // kept
  CHECK(t["spec"]["containers"][0]["image"] == "ingressx/nginx:1.29");
  CHECK(f["spec"]["strategy"]["type"] == "TempFleet");
  CHECK(f["metadata"]["generation"] == 2);
  std::filesystem::remove(patch);
  admin().remove(refs::kNamespaces, "", ns);
}
