// Cutover providers that go through the Kubernetes API, against the real kube-apiserver of
// the `controlplane` fixture (label: integration): the Gateway API HTTPRoute weights (with
// the standard-channel CRDs from dev/lib/gateway-api-crds.sh), the Service annotations, and
// the rfc2136 provider built by make_cutover with its TSIG key read from a real Secret
// (against the BIND9 lab of bind_lab.h). Every provider is built by make_cutover from a
// ProxyFleet spec, as the operator does.
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "api_fixtures.h"
#include "bind_lab.h"
#include "controlplane.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"
#include "ingressx/core/yaml.h"
#include "ingressx/operator/cutover.h"
#include "internal.h"

namespace {

using namespace std::chrono_literals;
using ingressx::Error;
using ingressx::json;
using ingressx::ResourceRef;
using ingressx::op::TrafficSplit;
using ingressx::op::TrafficTarget;
using ingressx::testing::admin;
using ingressx::testing::make_namespace;

const ResourceRef kHTTPRoutes{"gateway.networking.k8s.io", "v1", "httproutes", true, "HTTPRoute"};

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no ingressx::Error thrown)";
}

json proxy_fleet(const std::string& ns, const json& cutover) {
  return {{"apiVersion", "ingressx.io/v1alpha1"},
          {"kind", "ProxyFleet"},
          {"metadata", {{"name", "edge"}, {"namespace", ns}}},
          {"spec", {{"cutover", cutover}}}};
}

std::unique_ptr<ingressx::op::CutoverProvider> provider_for(
    const json& pf, std::map<std::string, std::string> addresses = {}) {
  ingressx::op::CutoverContext ctx;
  ctx.client = &admin();
  ctx.ns = pf["metadata"]["namespace"].get<std::string>();
  ctx.fleet_addresses = std::move(addresses);
  std::string why_not;
  auto p = ingressx::op::make_cutover(pf, ctx, why_not);
  INFO(why_not);
  REQUIRE(p);
  return p;
}

std::vector<TrafficTarget> split(int edge, int temp) {
  return {{"edge", "primary", edge, "10.96.0.10", 80},
          {"edge-temp", "temp", temp, "10.96.0.20", 80}};
}

// The Gateway API standard-channel CRDs (fetched and cached by the script), applied once.
void install_gateway_api_crds() {
  static bool done = false;
  if (done) return;
  const std::string dir = hooktest::make_temp_dir("ingressx-gwapi-");
  std::string crds;
  {
    hooktest::Child script({INGRESSX_GATEWAY_API_CRDS_SCRIPT}, dir + "/out");
    REQUIRE(script.wait(300s));
    // stdout and stderr share the log: the directory is the last line.
    std::string out = script.log();
    hooktest::remove_tree(dir);
    INFO(out);
    REQUIRE(script.exit_code() == 0);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    crds = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  }
  const std::string path = crds + "/gateway.networking.k8s.io_httproutes.yaml";
  json crd = ingressx::yaml_to_json(ingressx::testing::read_text(path), path);
  admin().apply(ingressx::refs::kCRDs, "", crd, "ingressx-test", true);
  for (int i = 0; i < 200; ++i) {
    try {
      admin().list(kHTTPRoutes, "default");
      done = true;
      return;
    } catch (const Error&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  FAIL("HTTPRoute CRD from " << path << " is not served");
}

json http_route(const std::string& name, json rules) {
  return {{"apiVersion", "gateway.networking.k8s.io/v1"},
          {"kind", "HTTPRoute"},
          {"metadata", {{"name", name}}},
          {"spec", {{"parentRefs", json::array({{{"name", "edge-gateway"}}})}, {"rules", rules}}}};
}

json backend(const std::string& name, int port, std::optional<int> weight = std::nullopt) {
  json b = {{"name", name}, {"port", port}};
  if (weight) b["weight"] = *weight;
  return b;
}

TEST_CASE("gateway-api cutover: HTTPRoute backendRef weights", "[integration][cutover]") {
  install_gateway_api_crds();
  const std::string ns = make_namespace("cutover-gw");
  const json rules = json::array(
      {{{"matches", json::array({{{"path", {{"type", "PathPrefix"}, {"value", "/"}}}}})},
        {"backendRefs", json::array({backend("edge", 80, 100), backend("edge-temp", 80, 0)})}},
       {{"backendRefs", json::array({backend("other", 8080, 5)})}}});
  admin().create(kHTTPRoutes, ns, http_route("edge-route", rules));
  const json cutover = {{"type", "weight"},
                        {"weight",
                         {{"provider", "gateway-api"},
                          {"gatewayAPI", {{"httpRouteRef", {{"name", "edge-route"}}}}}}}};
  auto p = provider_for(proxy_fleet(ns, cutover));
  CHECK(p->name() == "gateway-api HTTPRoute " + ns + "/edge-route");
  CHECK(p->read() == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});

  CHECK(p->apply(split(20, 80)) == TrafficSplit{{"edge", 20}, {"edge-temp", 80}});
  json got = admin().get(kHTTPRoutes, ns, "edge-route");
  CHECK(got["spec"]["rules"][0]["backendRefs"][0]["weight"] == 20);
  CHECK(got["spec"]["rules"][0]["backendRefs"][1]["weight"] == 80);
  CHECK(got["spec"]["rules"][0]["backendRefs"][1]["port"] == 80);
  CHECK(got["spec"]["rules"][1]["backendRefs"][0]["weight"] == 5);  // not a fleet: untouched
  CHECK(got["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/");

  CHECK(p->apply(split(100, 0)) == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  CHECK(p->read() == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});

  // Idempotent: no write when the weights are already there.
  const std::string rv = admin().get(kHTTPRoutes, ns, "edge-route")["metadata"]["resourceVersion"];
  CHECK(p->apply(split(100, 0)) == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  CHECK(admin().get(kHTTPRoutes, ns, "edge-route")["metadata"]["resourceVersion"] == rv);

  SECTION("a fleet the rule does not reference yet is added with the rule's port") {
    admin().create(
        kHTTPRoutes, ns,
        http_route("only-primary",
                   json::array({{{"backendRefs", json::array({backend("edge", 8080)})}}})));
    json c = cutover;
    c["weight"]["gatewayAPI"]["httpRouteRef"] = {{"name", "only-primary"}, {"namespace", ns}};
    auto q = provider_for(proxy_fleet(ns, c));
    CHECK(q->read() == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});  // unset weight is 1
    CHECK(q->apply(split(0, 100)) == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
    json r = admin().get(kHTTPRoutes, ns, "only-primary");
    REQUIRE(r["spec"]["rules"][0]["backendRefs"].size() == 2);
    CHECK(r["spec"]["rules"][0]["backendRefs"][1]["name"] == "edge-temp");
    CHECK(r["spec"]["rules"][0]["backendRefs"][1]["port"] == 8080);
  }

  SECTION("a missing HTTPRoute is an error naming it") {
    json c = cutover;
    c["weight"]["gatewayAPI"]["httpRouteRef"]["name"] = "no-such-route";
    auto q = provider_for(proxy_fleet(ns, c));
    auto msg = what_of([&] { q->apply(split(100, 0)); });
    INFO(msg);
    CHECK(msg.find("HTTPRoute " + ns + "/no-such-route") != std::string::npos);
    CHECK(msg.find("does not exist") != std::string::npos);
    CHECK(what_of([&] { q->read(); }).find("no-such-route") != std::string::npos);
  }

  SECTION("a route without fleet backendRefs is an error, and is not changed") {
    admin().create(
        kHTTPRoutes, ns,
        http_route("unrelated",
                   json::array({{{"backendRefs", json::array({backend("web", 80, 3)})}}})));
    json c = cutover;
    c["weight"]["gatewayAPI"]["httpRouteRef"]["name"] = "unrelated";
    auto q = provider_for(proxy_fleet(ns, c));
    auto msg = what_of([&] { q->apply(split(100, 0)); });
    CHECK(msg.find("no rule with a backendRef to a fleet Service") != std::string::npos);
    CHECK(admin().get(kHTTPRoutes, ns,
                      "unrelated")["spec"]["rules"][0]["backendRefs"][0]["weight"] == 3);
  }
  admin().remove(ingressx::refs::kNamespaces, "", ns);
}

json service(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"selector", {{"ingressx.io/fleet-name", name}}},
            {"ports", json::array({{{"name", "http"}, {"port", 80}}})}}}};
}

TEST_CASE("service-annotations cutover: weights on the fleet Services", "[integration][cutover]") {
  const std::string ns = make_namespace("cutover-svc");
  admin().create(ingressx::refs::kServices, ns, service("edge"));
  admin().create(ingressx::refs::kServices, ns, service("edge-temp"));
  const json cutover = {{"type", "weight"},
                        {"weight",
                         {{"provider", "service-annotations"},
                          {"serviceAnnotations",
                           {{"annotations",
                             {{"lb.example.com/weight", "{{weight}}"},
                              {"lb.example.com/pool", "pool-{{weight}}pct"},
                              {"lb.example.com/static", "yes"}}}}}}}};
  auto p = provider_for(proxy_fleet(ns, cutover));
  auto ann = [&](const std::string& svc, const std::string& key) -> std::string {
    auto a = admin().get(ingressx::refs::kServices, ns, svc)["metadata"].value("annotations",
                                                                               json::object());
    return a.value(key, "(absent)");
  };
  CHECK(p->read() == TrafficSplit{{"edge", 0}, {"edge-temp", 0}});  // never set

  CHECK(p->apply(split(20, 80)) == TrafficSplit{{"edge", 20}, {"edge-temp", 80}});
  CHECK(ann("edge", "lb.example.com/weight") == "20");
  CHECK(ann("edge", "lb.example.com/pool") == "pool-20pct");
  CHECK(ann("edge", "lb.example.com/static") == "yes");
  CHECK(ann("edge-temp", "lb.example.com/weight") == "80");

  CHECK(p->apply(split(100, 0)) == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  CHECK(ann("edge-temp", "lb.example.com/weight") == "0");
  CHECK(ann("edge-temp", "lb.example.com/pool") == "pool-0pct");
  CHECK(p->read() == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});

  // Someone else's value that is not of the template's form: read() says so. (The weight
  // is read back from the first annotation, by key order, whose template has {{weight}}.)
  admin().patch(ingressx::refs::kServices, ns, "edge-temp", ingressx::PatchType::kMerge,
                {{"metadata", {{"annotations", {{"lb.example.com/pool", "heavy"}}}}}});
  auto msg = what_of([&] { p->read(); });
  CHECK(msg.find("Service " + ns + "/edge-temp") != std::string::npos);
  CHECK(msg.find("'heavy'") != std::string::npos);

  // A fleet without a Service: weight 0 is fine (it gets nothing), weight > 0 an error.
  admin().remove(ingressx::refs::kServices, ns, "edge-temp");
  CHECK(p->apply(split(100, 0)) == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  auto missing = what_of([&] { p->apply(split(0, 100)); });
  INFO(missing);
  CHECK(missing.find("Service " + ns + "/edge-temp") != std::string::npos);
  CHECK(ann("edge", "lb.example.com/weight") == "100");  // raised-first order: nothing lowered

  // A template without {{weight}} cannot be read back: refused when building the provider.
  json no_weight = cutover;
  no_weight["weight"]["serviceAnnotations"]["annotations"] = {{"lb.example.com/static", "yes"}};
  ingressx::op::CutoverContext ctx;
  ctx.client = &admin();
  ctx.ns = ns;
  std::string why_not;
  CHECK_FALSE(ingressx::op::make_cutover(proxy_fleet(ns, no_weight), ctx, why_not));
  CHECK(why_not.find("{{weight}}") != std::string::npos);
  admin().remove(ingressx::refs::kNamespaces, "", ns);
}

std::string base64(const std::string& in) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += abc[(v >> 18) & 63];
    out += abc[(v >> 12) & 63];
    out += i + 1 < in.size() ? abc[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? abc[v & 63] : '=';
  }
  return out;
}

TEST_CASE("rfc2136 cutover: the TSIG key from a Secret", "[integration][cutover]") {
  bindlab::Lab lab(false);
  const std::string ns = make_namespace("cutover-dns");
  const json cutover = {{"type", "dns"},
                        {"dns",
                         {{"provider", "rfc2136"},
                          {"rfc2136",
                           {{"server", lab.server()},
                            {"zone", lab.zone},
                            {"names", json::array({"www", "api"})},
                            {"ttl", 60},
                            {"tsigKeyName", lab.key_name},
                            {"tsigSecretRef", {{"name", "edge-tsig"}}}}}}}};
  const std::map<std::string, std::string> addresses{{"edge", "192.0.2.10"},
                                                     {"edge-temp", "192.0.2.20"}};
  auto p = provider_for(proxy_fleet(ns, cutover), addresses);
  const std::vector<TrafficTarget> to_temp{{"edge", "primary", 0, "192.0.2.10", 80},
                                           {"edge-temp", "temp", 100, "192.0.2.20", 80}};

  // No Secret yet: the error names it; read() needs no key.
  CHECK(p->read() == TrafficSplit{{"edge", 0}, {"edge-temp", 0}});
  auto msg = what_of([&] { p->apply(to_temp); });
  INFO(msg);
  CHECK(msg.find("Secret " + ns + "/edge-tsig") != std::string::npos);
  CHECK(msg.find("does not exist") != std::string::npos);

  // A Secret with a wrong key: NOTAUTH, and the value appears in no message.
  const std::string wrong = bindlab::random_secret();
  admin().create(ingressx::refs::kSecrets, ns,
                 {{"apiVersion", "v1"},
                  {"kind", "Secret"},
                  {"metadata", {{"name", "edge-tsig"}}},
                  {"data", {{"secret", base64(wrong + "\n")}}}});
  msg = what_of([&] { p->apply(to_temp); });
  CHECK(msg.find("NOTAUTH") != std::string::npos);
  CHECK(msg.find(wrong) == std::string::npos);
  CHECK(msg.find(base64(wrong + "\n")) == std::string::npos);
  CHECK(lab.answer(lab.port, "www.example.test", "A").empty());

  // The right key (as `kubectl create secret generic --from-file` would store it).
  admin().patch(ingressx::refs::kSecrets, ns, "edge-tsig", ingressx::PatchType::kMerge,
                {{"data", {{"secret", base64(lab.secret + "\n")}}}});
  CHECK(p->apply(to_temp) == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
  CHECK(lab.answer(lab.port, "www.example.test", "A") == "192.0.2.20");
  CHECK(lab.answer(lab.port, "api.example.test", "A") == "192.0.2.20");
  CHECK(lab.dig(lab.port, {"www.example.test", "A", "+noall", "+answer"}).find("\t60\tIN") !=
        std::string::npos);

  // The key under another data key.
  json c = cutover;
  c["dns"]["rfc2136"]["tsigSecretRef"]["key"] = "tsig";
  auto q = provider_for(proxy_fleet(ns, c), addresses);
  const std::vector<TrafficTarget> to_edge{{"edge", "primary", 100, "192.0.2.10", 80},
                                           {"edge-temp", "temp", 0, "192.0.2.20", 80}};
  auto other = what_of([&] { q->apply(to_edge); });
  CHECK(other.find("no data key 'tsig'") != std::string::npos);
  admin().remove(ingressx::refs::kNamespaces, "", ns);
}

}  // namespace
