// The ProxyFleet and FleetRollout CRDs (crds/) on the real kube-apiserver: they install,
// defaults are filled in, invalid objects are rejected with HTTP 422 naming the field and
// what was expected (the cases live in tests/data/crds/invalid-*.yaml), a rejected update
// leaves the stored object alone, and the status subresource is separate from spec.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api_fixtures.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"
#include "ingressx/core/yaml.h"

using namespace ingressx;
using testing::admin;
using testing::install_crds;
using testing::make_namespace;
using testing::read_text;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const ResourceRef kProxyFleets{"ingressx.io", "v1alpha1", "proxyfleets", true, "ProxyFleet"};
const ResourceRef kFleetRollouts{"ingressx.io", "v1alpha1", "fleetrollouts", true, "FleetRollout"};

const fs::path kCrdsDir = fs::path(INGRESSX_SOURCE_DIR) / "crds";
const fs::path kDataDir = fs::path(INGRESSX_SOURCE_DIR) / "tests" / "data" / "crds";

json read_yaml(const fs::path& p) {
  return yaml_to_json(read_text(p.string()), p.string());
}

// An invalid example: the manifest and the "# expect-path:" / "# expect-message:" header.
struct InvalidCase {
  std::string file;
  json object;
  std::string path;
  std::string message;
};

std::string header_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  const std::string prefix = "# " + key + ": ";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  return "";
}

std::vector<InvalidCase> invalid_cases() {
  std::vector<InvalidCase> out;
  for (const auto& entry : fs::directory_iterator(kDataDir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("invalid-", 0) != 0 || entry.path().extension() != ".yaml") continue;
    std::string text = read_text(entry.path().string());
    out.push_back({name, yaml_to_json(text, entry.path().string()),
                   header_value(text, "expect-path"), header_value(text, "expect-message")});
  }
  std::sort(out.begin(), out.end(),
            [](const InvalidCase& a, const InvalidCase& b) { return a.file < b.file; });
  return out;
}

// Runs `fn` and returns the API error it throws; fails the test if it does not throw one.
template <typename Fn>
Error api_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  FAIL("the request was accepted");
  return Error(Error::Kind::kInternal, "unreachable");
}

json valid_fleet(const std::string& name) {
  json f = read_yaml(kDataDir / "proxyfleet-valid.yaml");
  f["metadata"]["name"] = name;
  return f;
}

}  // namespace

TEST_CASE("ingressx CRDs install with short names, status subresource and printer columns",
          "[integration][crd]") {
  auto stored = testing::install_crds();

  const json& pf = stored.at("proxyfleets.ingressx.io");
  CHECK(pf["spec"]["group"] == "ingressx.io");
  CHECK(pf["spec"]["scope"] == "Namespaced");
  CHECK(pf["spec"]["names"]["kind"] == "ProxyFleet");
  CHECK(pf["spec"]["names"]["shortNames"] == json::array({"pf", "fleet"}));
  REQUIRE(pf["spec"]["versions"].size() == 1);
  const json& pv = pf["spec"]["versions"][0];
  CHECK(pv["name"] == "v1alpha1");
  CHECK(pv["served"] == true);
  CHECK(pv["storage"] == true);
  CHECK(pv["subresources"].contains("status"));
  std::vector<std::string> columns;
  for (const auto& c : pv["additionalPrinterColumns"])
    columns.push_back(c["name"].get<std::string>());
  CHECK(columns == std::vector<std::string>{"Phase", "Active", "Traffic", "Revision", "Update",
                                            "Replicas", "Age"});
  for (const auto& c : pv["additionalPrinterColumns"]) {
    if (c["name"] == "Traffic") CHECK(c["jsonPath"] == ".status.trafficSummary");
    if (c["name"] == "Age") CHECK(c["type"] == "date");
  }

  const json& fr = stored.at("fleetrollouts.ingressx.io");
  CHECK(fr["spec"]["names"]["kind"] == "FleetRollout");
  CHECK(fr["spec"]["names"]["shortNames"] == json::array({"fr"}));
  const json& fv = fr["spec"]["versions"][0];
  CHECK(fv["subresources"].contains("status"));
  columns.clear();
  for (const auto& c : fv["additionalPrinterColumns"])
    columns.push_back(c["name"].get<std::string>());
  CHECK(columns ==
        std::vector<std::string>{"Fleet", "Revision", "Phase", "Step", "Trigger", "Age"});

  // Discovery serves them.
  ResourceRef r = admin().resolve("ingressx.io/v1alpha1", "ProxyFleet");
  CHECK(r.resource == "proxyfleets");
  CHECK(r.namespaced);
  CHECK(admin().resolve("ingressx.io/v1alpha1", "FleetRollout").resource == "fleetrollouts");
}

TEST_CASE("a valid ProxyFleet is accepted and its defaults are filled in", "[integration][crd]") {
  install_crds();
  auto ns = make_namespace("crd-valid");
  auto& c = admin();

  SECTION("the HAProxy weight example") {
    json got = c.create(kProxyFleets, ns, valid_fleet("edge"));
    const json& s = got["spec"];
    CHECK(s["replicas"] == 3);  // given
    CHECK(s["workload"] == "Deployment");
    CHECK(s["revisionHistoryLimit"] == 10);
    CHECK(s["paused"] == false);
    CHECK(s["abort"] == false);
    CHECK_FALSE(s.contains("undoTo"));
    CHECK(s["proxy"]["drain"]["maxDrain"] == "120s");  // given
    CHECK(s["proxy"]["drain"]["minDrain"] == "10s");
    CHECK(s["proxy"]["drain"]["propagationDelay"] == "5s");
    CHECK(s["proxy"]["drain"]["drainedAt"] == 0);
    CHECK(s["proxy"]["drain"]["connectionSource"] == "auto");
    CHECK(s["service"]["type"] == "ClusterIP");
    REQUIRE(s["service"]["ports"].size() == 1);
    CHECK(s["service"]["ports"][0]["protocol"] == "TCP");
    CHECK(s["service"]["ports"][0]["targetPort"] == "http");
    CHECK(s["strategy"]["type"] == "TempFleet");
    CHECK(s["strategy"]["promotion"] == "Automatic");
    CHECK(s["strategy"]["progressDeadline"] == "600s");
    const json& probe = s["strategy"]["analysis"]["http"][0];
    CHECK(probe["expectStatus"] == 200);
    CHECK(probe["window"] == "30s");
    CHECK(probe["successRatio"].get<double>() == Approx(0.99));
    CHECK(s["cutover"]["steps"][0]["analysis"] == true);
    CHECK(s["cutover"]["steps"][0]["pause"] == "30s");
    // The pod spec is kept as given (preserved, not pruned).
    CHECK(s["template"]["spec"]["terminationGracePeriodSeconds"] == 600);
    CHECK(s["template"]["spec"]["volumes"][0]["configMap"]["name"] == "edge-nginx");
    CHECK(s["template"]["metadata"]["labels"]["app"] == "edge");
  }

  SECTION("the RFC 2136 BlueGreen example") {
    json f = read_yaml(kDataDir / "proxyfleet-dns.yaml");
    json got = c.create(kProxyFleets, ns, f);
    const json& s = got["spec"];
    CHECK(s["replicas"] == 2);
    CHECK(s["strategy"]["type"] == "BlueGreen");
    CHECK(s["strategy"]["scaleDownDelay"] == "2m");
    CHECK(s["service"]["type"] == "LoadBalancer");
    CHECK(s["service"]["externalTrafficPolicy"] == "Local");
    CHECK(s["service"]["ports"].size() == 2);  // the default http + https
    CHECK(s["proxy"]["drain"]["maxDrain"] == "9m30s");
    const json& r = s["cutover"]["dns"]["rfc2136"];
    CHECK(r["tsigSecretRef"]["key"] == "secret");
    CHECK(r["algorithm"] == "hmac-sha512");
    CHECK(r["ttl"] == 30);
  }

  SECTION("the external-dns BlueGreen example") {
    json f = read_yaml(kDataDir / "proxyfleet-external-dns.yaml");
    json got = c.create(kProxyFleets, ns, f);
    const json& x = got["spec"]["cutover"]["dns"]["externalDNS"];
    CHECK(x["hostname"] == "www.example.test");
    CHECK(x["annotationPrefix"] == "external-dns.kubernetes.io/");  // external-dns >= v0.22
    CHECK(x["nameservers"] == json::array({"10.0.0.53:53", "[2001:db8::53]:53"}));
    CHECK(x["zone"] == "example.test");
  }

  SECTION("a minimal fleet gets every block's defaults") {
    json f = {{"apiVersion", "ingressx.io/v1alpha1"},
              {"kind", "ProxyFleet"},
              {"metadata", {{"name", "minimal"}}},
              {"spec",
               {{"template",
                 {{"spec", {{"containers", {{{"name", "haproxy"}, {"image", "haproxy:3.0"}}}}}}}},
                {"proxy", {{"kind", "haproxy"}}},
                {"cutover",
                 {{"type", "weight"},
                  {"weight",
                   {{"provider", "gateway-api"},
                    {"gatewayAPI", {{"httpRouteRef", {{"name", "front"}}}}}}}}}}}};
    json got = c.create(kProxyFleets, ns, f);
    const json& s = got["spec"];
    CHECK(s["replicas"] == 2);
    CHECK(s["service"]["type"] == "ClusterIP");
    CHECK(s["service"]["ports"].size() == 2);
    CHECK(s["proxy"]["drain"]["maxDrain"] == "300s");
    CHECK(s["proxy"]["drain"]["pollInterval"] == "200ms");
    CHECK(s["cutover"]["steps"] == json::array({{{"weight", 100}, {"analysis", true}}}));
    CHECK(s["strategy"]["type"] == "TempFleet");
  }
  c.remove(refs::kNamespaces, "", ns);
}

TEST_CASE("invalid ProxyFleets are rejected with 422 naming the field and what was expected",
          "[integration][crd]") {
  install_crds();
  auto ns = make_namespace("crd-invalid");
  auto& c = admin();
  auto cases = invalid_cases();
  // minDrain > maxDrain, weight 150, dns with a weight block, missing provider block, bad
  // duration, unknown enum value, and more: see tests/data/crds/.
  REQUIRE(cases.size() >= 10);
  for (const auto& tc : cases) {
    DYNAMIC_SECTION(tc.file) {
      REQUIRE_FALSE(tc.path.empty());
      REQUIRE_FALSE(tc.message.empty());
      Error e = api_error_of([&] { c.create(kProxyFleets, ns, tc.object); });
      CHECK(e.http_status() == 422);
      CHECK(e.reason() == "Invalid");
      CHECK_THAT(e.what(), Catch::Contains(tc.path + ": "));
      CHECK_THAT(e.what(), Catch::Contains(tc.message));
      std::string name = tc.object["metadata"]["name"].get<std::string>();
      CHECK_FALSE(c.try_get(kProxyFleets, ns, name).has_value());
    }
  }
  c.remove(refs::kNamespaces, "", ns);
}

TEST_CASE("a rejected update leaves the stored ProxyFleet unchanged", "[integration][crd]") {
  install_crds();
  auto ns = make_namespace("crd-update");
  auto& c = admin();
  json before = c.create(kProxyFleets, ns, valid_fleet("edge"));

  SECTION("update (PUT) with minDrain above maxDrain") {
    json bad = before;
    bad["spec"]["proxy"]["drain"]["minDrain"] = "10m";
    bad["spec"]["replicas"] = 5;
    Error e = api_error_of([&] { c.update(kProxyFleets, ns, bad); });
    CHECK(e.http_status() == 422);
    CHECK_THAT(e.what(), Catch::Contains("spec.proxy.drain.minDrain: "));
    CHECK_THAT(e.what(), Catch::Contains("minDrain 10m > maxDrain 120s"));
  }
  SECTION("merge patch with a step weight of 150") {
    json patch = {{"spec", {{"cutover", {{"steps", {{{"weight", 150}}}}}}}}};
    Error e = api_error_of([&] { c.patch(kProxyFleets, ns, "edge", PatchType::kMerge, patch); });
    CHECK(e.http_status() == 422);
    CHECK_THAT(e.what(), Catch::Contains("spec.cutover.steps[0].weight: "));
  }
  SECTION("merge patch switching cutover to dns without a dns block") {
    json patch = {{"spec", {{"cutover", {{"type", "dns"}}}}}};
    Error e = api_error_of([&] { c.patch(kProxyFleets, ns, "edge", PatchType::kMerge, patch); });
    CHECK(e.http_status() == 422);
    CHECK_THAT(e.what(), Catch::Contains("spec.cutover.dns: Required value"));
  }

  json after = c.get(kProxyFleets, ns, "edge");
  CHECK(after["spec"] == before["spec"]);
  CHECK(after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]);
  CHECK(after["metadata"]["generation"] == before["metadata"]["generation"]);
  c.remove(refs::kNamespaces, "", ns);
}

TEST_CASE("ProxyFleet status is written only through the status subresource",
          "[integration][crd]") {
  install_crds();
  auto ns = make_namespace("crd-status");
  auto& c = admin();
  json created = c.create(kProxyFleets, ns, valid_fleet("edge"));
  CHECK_FALSE(created.contains("status"));

  json st = created;
  st["status"] = {{"observedGeneration", created["metadata"]["generation"]},
                  {"phase", "Ready"},
                  {"activeFleet", "edge"},
                  {"currentRevision", 1},
                  {"updateRevision", 1},
                  {"trafficSummary", "edge=100"},
                  {"trafficSplit", {{{"fleet", "edge"}, {"weight", 100}}}},
                  {"fleets",
                   {{{"name", "edge"},
                     {"role", "primary"},
                     {"revision", 1},
                     {"replicas", 3},
                     {"readyReplicas", 3},
                     {"activeConnections", 42}}}},
                  {"conditions",
                   {{{"type", "Ready"},
                     {"status", "True"},
                     {"reason", "FleetReady"},
                     {"message", "3/3 replicas ready"},
                     {"observedGeneration", 1},
                     {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}}};
  st["spec"]["replicas"] = 9;  // ignored by /status
  json after_status = c.update_status(kProxyFleets, ns, st);
  CHECK(after_status["status"]["phase"] == "Ready");
  CHECK(after_status["status"]["fleets"][0]["activeConnections"] == 42);
  CHECK(after_status["spec"]["replicas"] == 3);

  // The main resource ignores status.
  json main = after_status;
  main["status"]["phase"] = "Degraded";
  main["spec"]["paused"] = true;
  json after_update = c.update(kProxyFleets, ns, main);
  CHECK(after_update["spec"]["paused"] == true);
  CHECK(after_update["status"]["phase"] == "Ready");

  // Status is validated too.
  json bad = after_update;
  bad["status"]["phase"] = "Exploded";
  Error e = api_error_of([&] { c.update_status(kProxyFleets, ns, bad); });
  CHECK(e.http_status() == 422);
  CHECK_THAT(e.what(), Catch::Contains("status.phase: Unsupported value"));
  c.remove(refs::kNamespaces, "", ns);
}

TEST_CASE("FleetRollout: spec identity is immutable, status through the subresource",
          "[integration][crd]") {
  install_crds();
  auto ns = make_namespace("crd-rollout");
  auto& c = admin();
  json created = c.create(kFleetRollouts, ns, read_yaml(kDataDir / "fleetrollout-valid.yaml"));
  CHECK(created["spec"]["revision"] == 2);
  CHECK(created["spec"]["template"]["spec"]["containers"][0]["name"] == "nginx");

  json bad = created;
  bad["spec"]["revision"] = 3;
  Error e = api_error_of([&] { c.update(kFleetRollouts, ns, bad); });
  CHECK(e.http_status() == 422);
  CHECK_THAT(e.what(), Catch::Contains("are immutable"));

  json st = created;
  st["status"] = {
      {"phase", "Progressing"},
      {"currentStep", "drain-primary"},
      {"startedAt", "2026-01-01T00:00:00Z"},
      {"steps",
       {{{"name", "provision-temp"},
         {"phase", "Succeeded"},
         {"startedAt", "2026-01-01T00:00:00Z"},
         {"finishedAt", "2026-01-01T00:00:20Z"}},
        {{"name", "shift-to-temp/1"},
         {"phase", "Succeeded"},
         {"traffic",
          {{{"fleet", "edge"}, {"weight", 0}}, {{"fleet", "edge-temp"}, {"weight", 100}}}}},
        {{"name", "drain-primary"}, {"phase", "Running"}}}},
      {"traffic", {{{"fleet", "edge"}, {"weight", 0}}, {{"fleet", "edge-temp"}, {"weight", 100}}}},
      {"drains",
       {{{"fleet", "edge"}, {"activeConnections", 7}, {"startedAt", "2026-01-01T00:00:40Z"}}}}};
  json after = c.update_status(kFleetRollouts, ns, st);
  CHECK(after["status"]["currentStep"] == "drain-primary");
  CHECK(after["status"]["steps"].size() == 3);
  CHECK(after["status"]["drains"][0]["activeConnections"] == 7);

  json bad_status = after;
  bad_status["status"]["drains"][0]["decidedBy"] = "timer";
  Error e2 = api_error_of([&] { c.update_status(kFleetRollouts, ns, bad_status); });
  CHECK(e2.http_status() == 422);
  CHECK_THAT(e2.what(), Catch::Contains("status.drains[0].decidedBy: Unsupported value"));
  c.remove(refs::kNamespaces, "", ns);
}
