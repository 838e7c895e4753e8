// ingressx-operator (the real binary) against the real kube-apiserver of the controlplane
// fixture. There is no kubelet or controller-manager here, so pods never start: these
// tests check what the operator writes - the fleet's objects with the hook injected, the
// FleetRollout record, status, Events, the revision of a ConfigMap change, a restart after
// SIGKILL that does not act twice, undo to a revision that is not in history, metrics.
// Rollouts that move real traffic are end-to-end tests (tests/e2e/operator_*.sh).
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api_fixtures.h"
#include "child.h"
#include "controlplane.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"
#include "ingressx/core/http.h"
#include "ingressx/core/kubeconfig.h"

using namespace ingressx;
using namespace std::chrono_literals;
using testing::admin;
using testing::install_crds;
using testing::make_namespace;

namespace {

const ResourceRef kFleets{"ingressx.io", "v1alpha1", "proxyfleets", true, "ProxyFleet"};
const ResourceRef kRollouts{"ingressx.io", "v1alpha1", "fleetrollouts", true, "FleetRollout"};
const char* kHookImage = "localhost/ingressx/ingressx:test";

// Polls `pred` every 100 ms for up to `timeout`; the last error message goes into the failure.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    try {
      if (pred()) return true;
    } catch (const Error&) {
    }
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

struct Operator {
  std::string log_path;
  int metrics_port = hooktest::free_port();
  int health_port = hooktest::free_port();
  std::unique_ptr<hooktest::Child> child;

  bool leader_elect = true;
  std::string dir;
  int starts = 0;
  Operator(const std::string& ns, const std::string& d, bool elect = true)
      : leader_elect(elect), dir(d) {
    start(ns);
  }
  // Each process logs to its own file: operator-1.log, operator-2.log, ...
  void start(const std::string& ns) {
    log_path = dir + "/operator-" + std::to_string(++starts) + ".log";
    child = std::make_unique<hooktest::Child>(
        std::vector<std::string>{
            INGRESSX_OPERATOR, "--kubeconfig", testing::control_plane().kubeconfig, "--namespace",
            ns, "--leader-election-namespace", ns, "--hook-image", kHookImage,
            "--metrics-bind-address", "127.0.0.1:" + std::to_string(metrics_port),
            "--health-probe-bind-address", "127.0.0.1:" + std::to_string(health_port),
            "--log-format", "json", leader_elect ? "--leader-elect=true" : "--leader-elect=false"},
        log_path);
    REQUIRE(hooktest::wait_listening(health_port, 20s));
  }
  std::string log() const { return hooktest::read_text(log_path); }
};

json fleet_manifest(const std::string& ns) {
  return {{"apiVersion", "ingressx.io/v1alpha1"},
          {"kind", "ProxyFleet"},
          {"metadata", {{"name", "edge"}, {"namespace", ns}}},
          {"spec",
           {{"replicas", 2},
            {"template",
             {{"metadata", {{"labels", {{"app", "edge"}}}}},
              {"spec",
               {{"containers",
                 {{{"name", "nginx"},
                   {"image", "localhost/ingressx/nginx:dev"},
                   {"volumeMounts", {{{"name", "conf"}, {"mountPath", "/etc/nginx/conf.d"}}}}}}},
                {"volumes", {{{"name", "conf"}, {"configMap", {{"name", "edge-nginx"}}}}}}}}}},
            {"service", {{"ports", {{{"name", "http"}, {"port", 80}, {"targetPort", 8080}}}}}},
            {"proxy",
             {{"kind", "nginx"},
              {"adminURL", "http://127.0.0.1:8081/nginx_status"},
              {"drain", {{"propagationDelay", "3s"}, {"minDrain", "2s"}, {"maxDrain", "60s"}}}}},
            {"cutover",
             {{"type", "weight"},
              {"weight",
               {{"provider", "haproxy"},
                {"haproxy",
                 {{"runtimeAPI", "127.0.0.1:1"},
                  {"backend", "edge"},
                  {"servers", {{"primary", "edge-primary"}, {"temp", "edge-temp"}}}}}}}}}}}};
}

json config_map(const std::string& ns, const std::string& body) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", "edge-nginx"}, {"namespace", ns}}},
          {"data", {{"default.conf", body}}}};
}

// One namespace with the ConfigMap, the ProxyFleet and a running operator.
struct Setup {
  std::string ns = make_namespace("opx");
  std::string dir = hooktest::make_temp_dir("opx-integration");
  std::unique_ptr<Operator> op;
  explicit Setup(bool leader_elect = true) {
    install_crds();
    admin().create(refs::kConfigMaps, ns, config_map(ns, "server { listen 8080; }"));
    admin().create(kFleets, ns, fleet_manifest(ns));
    op = std::make_unique<Operator>(ns, dir, leader_elect);
  }
  ~Setup() {
    op.reset();
    hooktest::remove_tree(dir);
    try {
      admin().remove(refs::kNamespaces, "", ns);
    } catch (...) {
    }
  }
  json fleet() { return admin().get(kFleets, ns, "edge"); }
  std::string status(const std::string& field) {
    return fleet().value("status", json::object()).value(field, json()).dump();
  }
};

}  // namespace

TEST_CASE("the operator creates the first fleet with the preStop hook injected",
          "[integration][operator]") {
  Setup s;
  json fr;
  REQUIRE(eventually(
      [&] {
        fr = admin().get(kRollouts, s.ns, "edge-r1");
        return fr.value("status", json::object()).value("phase", "") == "Progressing";
      },
      20s));
  CHECK(fr["spec"]["trigger"] == "Initial");
  CHECK(fr["spec"]["revision"] == 1);
  CHECK(fr["spec"]["fromRevision"] == 0);
  CHECK(fr["spec"]["template"] == s.fleet()["spec"]["template"]);
  CHECK(fr["metadata"]["labels"]["ingressx.io/fleet"] == "edge");
  CHECK(fr["metadata"]["ownerReferences"][0]["kind"] == "ProxyFleet");
  CHECK(fr["status"]["currentStep"] == "provision-primary");

  json dep;
  REQUIRE(eventually(
      [&] {
        dep = admin().get(refs::kDeployments, s.ns, "edge");
        return true;
      },
      20s));
  const json pf = s.fleet();
  CHECK(dep["metadata"]["ownerReferences"][0]["uid"] == pf["metadata"]["uid"]);
  CHECK(dep["metadata"]["ownerReferences"][0]["controller"] == true);
  CHECK(dep["spec"]["replicas"] == 2);
  const json& pod = dep["spec"]["template"];
  CHECK(pod["metadata"]["annotations"]["ingressx.io/template-hash"] == fr["spec"]["templateHash"]);
  CHECK(pod["metadata"]["labels"]["app"] == "edge");
  CHECK(pod["metadata"]["labels"]["ingressx.io/fleet-name"] == "edge");
  // preStop grace: propagationDelay 3s + maxDrain 60s, and a margin.
  CHECK(pod["spec"]["terminationGracePeriodSeconds"].get<int>() > 63);
  REQUIRE(pod["spec"]["initContainers"].size() == 1);
  CHECK(pod["spec"]["initContainers"][0]["image"] == kHookImage);
  const json& c = pod["spec"]["containers"][0];
  const json cmd = c["lifecycle"]["preStop"]["exec"]["command"];
  CHECK(cmd[0] == "/ingressx/ingressx-hook");
  CHECK(cmd[1] == "prestop");
  const std::string args = cmd.dump();
  CHECK_THAT(args, Catch::Contains("\"--max-drain\",\"60s\""));
  CHECK_THAT(args, Catch::Contains("\"--admin-url\",\"http://127.0.0.1:8081/nginx_status\""));
  bool mounted = false;
  for (const auto& m : c["volumeMounts"]) mounted |= m["mountPath"] == "/ingressx";
  CHECK(mounted);

  const ResourceRef pdbs{"policy", "v1", "poddisruptionbudgets", true, "PodDisruptionBudget"};
  json pdb = admin().get(pdbs, s.ns, "edge");
  CHECK(pdb["spec"]["maxUnavailable"] == 1);
  CHECK(pdb["spec"]["selector"]["matchLabels"]["ingressx.io/fleet-name"] == "edge");
  json svc = admin().get(refs::kServices, s.ns, "edge");
  CHECK(svc["spec"]["selector"]["ingressx.io/fleet-name"] == "edge");
  CHECK(svc["spec"]["ports"][0]["targetPort"] == 8080);

  // Status: the rollout runs; the traffic is unknown (nothing listens on the runtime API).
  REQUIRE(eventually(
      [&] { return s.fleet().value("status", json::object()).value("updateRevision", 0) == 1; },
      10s));
  const json st = s.fleet()["status"];
  CHECK(st["phase"] == "Progressing");
  CHECK(st["currentRollout"] == "edge-r1");
  CHECK(st["observedGeneration"] == pf["metadata"]["generation"]);
  bool progressing = false;
  json cutover;
  for (const auto& cond : st["conditions"]) {
    if (cond["type"] == "Progressing") progressing = cond["status"] == "True";
    if (cond["type"] == "CutoverReady") cutover = cond;
  }
  CHECK(progressing);
  // The provider cannot be read: a condition says so, naming the runtime API.
  REQUIRE(cutover.is_object());
  CHECK(cutover["status"] == "False");
  CHECK(cutover["reason"] == "ReadFailed");
  CHECK_THAT(cutover["message"].get<std::string>(), Catch::Contains("127.0.0.1:1"));

  // Events: the rollout start is recorded on the ProxyFleet.
  ListOptions o;
  o.field_selector = "regarding.name=edge";
  const ResourceRef events{"events.k8s.io", "v1", "events", true, "Event"};
  REQUIRE(eventually(
      [&] {
        const json list = admin().list(events, s.ns, o);
        for (const auto& e : list["items"])
          if (e.value("reason", "") == "RolloutStarted") return true;
        return false;
      },
      10s));

  // Metrics: controller-runtime's reconcile counter and the fleet's phase.
  RestConfig plain;
  plain.server = "http://127.0.0.1";
  auto http = make_curl_transport(plain);
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(s.op->metrics_port) + "/metrics";
  req.timeout = 5s;
  const std::string body = http->send(req).body;
  CHECK_THAT(body, Catch::Contains("controller_runtime_reconcile_total"));
  CHECK_THAT(body, Catch::Contains("ingressx_rollout_phase{fleet=\"edge\""));
}

TEST_CASE("a change to a referenced ConfigMap is a new revision", "[integration][operator]") {
  Setup s;
  REQUIRE(eventually(
      [&] { return s.fleet().value("status", json::object()).value("updateRevision", 0) == 1; },
      20s));
  const std::string hash1 = s.fleet()["status"]["updateTemplateHash"];
  admin().update(refs::kConfigMaps, s.ns, [&] {
    json cm = admin().get(refs::kConfigMaps, s.ns, "edge-nginx");
    cm["data"]["default.conf"] = "server { listen 8080; return 204; }";
    return cm;
  }());
  REQUIRE(eventually(
      [&] { return s.fleet().value("status", json::object()).value("updateRevision", 0) == 2; },
      45s));
  const std::string hash2 = s.fleet()["status"]["updateTemplateHash"];
  CHECK(hash2 != hash1);
  // The template part of the hash is the same; the referenced-data part changed.
  CHECK(hash2.substr(0, 13) == hash1.substr(0, 13));
}

TEST_CASE("after SIGKILL a new operator continues without acting twice",
          "[integration][operator]") {
  Setup s(false);  // no Lease to wait for: the new process reconciles at once
  json dep;
  REQUIRE(eventually(
      [&] {
        dep = admin().get(refs::kDeployments, s.ns, "edge");
        return admin().get(kRollouts, s.ns, "edge-r1")["status"].value("currentStep", "") ==
               "provision-primary";
      },
      20s));
  std::this_thread::sleep_for(1s);
  dep = admin().get(refs::kDeployments, s.ns, "edge");
  const auto generation = dep["metadata"]["generation"].get<int64_t>();
  const auto started = admin().get(kRollouts, s.ns, "edge-r1")["status"]["steps"][0]["startedAt"];
  s.op->child->signal(SIGKILL);
  REQUIRE(s.op->child->wait(5s));
  s.op->start(s.ns);
  // The new process reconciled the fleet (several times: it requeues every 2 s while pods
  // are not ready) before we look.
  REQUIRE(
      eventually([&] { return s.op->log().find("informers synced") != std::string::npos; }, 10s));
  std::this_thread::sleep_for(5s);
  CHECK(s.op->child->exited() == false);
  // One rollout record, same step, same start time; the Deployment was not changed again.
  auto list = admin().list(kRollouts, s.ns)["items"];
  CHECK(list.size() == 1);
  const json fr = admin().get(kRollouts, s.ns, "edge-r1");
  CHECK(fr["status"]["currentStep"] == "provision-primary");
  CHECK(fr["status"]["steps"][0]["startedAt"] == started);
  CHECK(admin().get(refs::kDeployments, s.ns, "edge")["metadata"]["generation"] == generation);
}

TEST_CASE("undo to a revision that is not in history is refused and cleared",
          "[integration][operator]") {
  Setup s;
  REQUIRE(eventually(
      [&] { return s.fleet().value("status", json::object()).value("updateRevision", 0) == 1; },
      20s));
  admin().patch(kFleets, s.ns, "edge", PatchType::kMerge, {{"spec", {{"undoTo", 7}}}});
  REQUIRE(eventually([&] { return !s.fleet()["spec"].contains("undoTo"); }, 20s));
  ListOptions o;
  o.field_selector = "regarding.name=edge";
  const ResourceRef events{"events.k8s.io", "v1", "events", true, "Event"};
  bool found = false;
  REQUIRE(eventually(
      [&] {
        const json list = admin().list(events, s.ns, o);
        for (const auto& e : list["items"])
          if (e.value("reason", "") == "UndoRevisionNotFound") {
            found = true;
            CHECK_THAT(e.value("note", ""), Catch::Contains("revision 7"));
          }
        return found;
      },
      10s));
}
