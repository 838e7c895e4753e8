// Cutover providers that go through the Kubernetes API, against the real kube-apiserver of
// the `controlplane` fixture (label: integration): the Gateway API HTTPRoute weights (with
// the standard-channel CRDs, and TCPRoute from the experimental channel, from
// dev/lib/gateway-api-crds.sh), the Service annotations, and
// the rfc2136 provider built by make_cutover with its TSIG key read from a real Secret
// (against the BIND9 lab of bind_lab.h), and external-dns annotations with the REAL
// external-dns (dev/lib/build-external-dns.sh; $INGRESSX_EXTERNAL_DNS or that script's
// cache, else the test fails naming the script) started by the test as a child process
// (--source=service --provider=rfc2136 against the lab) and killed by its PID at the end,
// also when an assertion fails: the provider only writes Service annotations, external-dns
// moves the record, the assertions read BIND9 directly with dig. Every provider is built by
// make_cutover from a ProxyFleet spec, as the operator does.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "api_fixtures.h"
#include "bind_lab.h"
#include "controlplane.h"
#include "cutover/cutover_factory.h"
#include "cutover/cutover_kube.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"
#include "ingressx/core/yaml.h"
#include "ingressx/operator/cutover.h"
#include "reconciler/fleet_objects.h"
#include "reconciler/traffic_move.h"

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
const ResourceRef kTCPRoutes{"gateway.networking.k8s.io", "v1alpha2", "tcproutes", true,
                             "TCPRoute"};

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

// The Gateway API HTTPRoute (standard channel) and TCPRoute (experimental) CRDs, fetched and
// cached by the script, applied once.
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
  for (const char* kind : {"httproutes", "tcproutes"}) {
    const std::string path = crds + "/gateway.networking.k8s.io_" + kind + ".yaml";
    json crd = ingressx::yaml_to_json(ingressx::testing::read_text(path), path);
    admin().apply(ingressx::refs::kCRDs, "", crd, "ingressx-test", true);
  }
  for (int i = 0; i < 200; ++i) {
    try {
      admin().list(kHTTPRoutes, "default");
      admin().list(kTCPRoutes, "default");
      done = true;
      return;
    } catch (const Error&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  FAIL("the HTTPRoute and TCPRoute CRDs from " << crds << " are not served");
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

json tcp_route(const std::string& name, json rules) {
  return {{"apiVersion", "gateway.networking.k8s.io/v1alpha2"},
          {"kind", "TCPRoute"},
          {"metadata", {{"name", name}}},
          {"spec", {{"parentRefs", json::array({{{"name", "edge-gateway"}}})}, {"rules", rules}}}};
}

TEST_CASE("gateway-api cutover: an HTTPRoute and a TCPRoute move together",
          "[integration][cutover]") {
  install_gateway_api_crds();
  const std::string ns = make_namespace("cutover-tcp");
  auto rules = [] {
    return json::array({{{"backendRefs", json::array({backend("edge", 443, 100),
                                                      backend("edge-temp", 443, 0)})}}});
  };
  admin().create(kHTTPRoutes, ns, http_route("edge-http", rules()));
  admin().create(kTCPRoutes, ns, tcp_route("edge-tls", rules()));
  json cutover = {
      {"type", "weight"},
      {"weight",
       {{"provider", "gateway-api"},
        {"gatewayAPI",
         {{"httpRouteRef", {{"name", "edge-http"}}}, {"tcpRouteRef", {{"name", "edge-tls"}}}}}}}};
  auto weights = [&](const ResourceRef& ref, const std::string& name) {
    const json r = admin().get(ref, ns, name)["spec"]["rules"][0]["backendRefs"];
    return std::pair{r[0].value("weight", -1), r[1].value("weight", -1)};
  };
  auto p = provider_for(proxy_fleet(ns, cutover));
  CHECK(p->name() == "gateway-api HTTPRoute " + ns + "/edge-http and TCPRoute " + ns + "/edge-tls");
  CHECK(p->read() == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});

  for (auto [edge, temp] : {std::pair{50, 50}, std::pair{0, 100}, std::pair{100, 0}}) {
    CAPTURE(edge, temp);
    CHECK(p->apply(split(edge, temp)) == TrafficSplit{{"edge", edge}, {"edge-temp", temp}});
    CHECK(weights(kHTTPRoutes, "edge-http") == std::pair{edge, temp});
    CHECK(weights(kTCPRoutes, "edge-tls") == std::pair{edge, temp});
  }

  SECTION("routes that disagree read as each fleet's largest share, and apply() mends them") {
    admin().patch(
        kTCPRoutes, ns, "edge-tls", ingressx::PatchType::kJson,
        json::array(
            {{{"op", "replace"}, {"path", "/spec/rules/0/backendRefs/1/weight"}, {"value", 100}},
             {{"op", "replace"}, {"path", "/spec/rules/0/backendRefs/0/weight"}, {"value", 0}}}));
    // HTTPRoute: edge 100; TCPRoute: edge-temp 100. Neither fleet counts as drained.
    CHECK(p->read() == TrafficSplit{{"edge", 100}, {"edge-temp", 100}});
    CHECK(p->apply(split(100, 0)) == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
    CHECK(weights(kTCPRoutes, "edge-tls") == std::pair{100, 0});
  }

  SECTION("TCPRoute alone") {
    json c = cutover;
    c["weight"]["gatewayAPI"].erase("httpRouteRef");
    auto q = provider_for(proxy_fleet(ns, c));
    CHECK(q->name() == "gateway-api TCPRoute " + ns + "/edge-tls");
    CHECK(q->apply(split(30, 70)) == TrafficSplit{{"edge", 30}, {"edge-temp", 70}});
    CHECK(weights(kTCPRoutes, "edge-tls") == std::pair{30, 70});
    CHECK(weights(kHTTPRoutes, "edge-http") == std::pair{100, 0});  // not this provider's
  }

  SECTION("a missing TCPRoute is an error naming it, and the HTTPRoute is left as it was") {
    json c = cutover;
    c["weight"]["gatewayAPI"]["tcpRouteRef"]["name"] = "no-such-tcproute";
    auto q = provider_for(proxy_fleet(ns, c));
    auto msg = what_of([&] { q->apply(split(0, 100)); });
    INFO(msg);
    CHECK(msg.find("TCPRoute " + ns + "/no-such-tcproute") != std::string::npos);
    CHECK(msg.find("gatewayAPI.tcpRouteRef") != std::string::npos);
    CHECK(msg.find("does not exist") != std::string::npos);
    CHECK(weights(kHTTPRoutes, "edge-http") == std::pair{100, 0});
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

// A service-annotations cutover block with these annotation templates.
json annotations_cutover(const json& annotations) {
  return {{"type", "weight"},
          {"weight",
           {{"provider", "service-annotations"},
            {"serviceAnnotations", {{"annotations", annotations}}}}}};
}

// The annotation `key` of Service ns/svc, or "(absent)".
std::string annotation(const std::string& ns, const std::string& svc, const std::string& key) {
  auto a = admin().get(ingressx::refs::kServices, ns, svc)["metadata"].value("annotations",
                                                                             json::object());
  return a.value(key, "(absent)");
}

TEST_CASE("service-annotations cutover: weights on the fleet Services", "[integration][cutover]") {
  const std::string ns = make_namespace("cutover-svc");
  admin().create(ingressx::refs::kServices, ns, service("edge"));
  admin().create(ingressx::refs::kServices, ns, service("edge-temp"));
  const json cutover = annotations_cutover({{"lb.example.com/weight", "{{weight}}"},
                                            {"lb.example.com/pool", "pool-{{weight}}pct"},
                                            {"lb.example.com/static", "yes"}});
  auto p = provider_for(proxy_fleet(ns, cutover));
  auto ann = [&](const std::string& svc, const std::string& key) {
    return annotation(ns, svc, key);
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

TEST_CASE(
    "service-annotations cutover: {{fleet}} gives each fleet its own value (external-dns "
    "weighted records)",
    "[integration][cutover]") {
  const std::string ns = make_namespace("cutover-svc-fleet");
  admin().create(ingressx::refs::kServices, ns, service("edge"));
  admin().create(ingressx::refs::kServices, ns, service("edge-temp"));
  // Route 53 weighted records through external-dns: one hostname, a set-identifier per
  // fleet, the step's weight.
  const json cutover =
      annotations_cutover({{"external-dns.kubernetes.io/hostname", "www.example.test"},
                           {"external-dns.kubernetes.io/set-identifier", "{{fleet}}"},
                           {"external-dns.kubernetes.io/aws-weight", "{{weight}}"},
                           {"lb.example.com/pool", "{{fleet}}-{{weight}}"}});
  auto p = provider_for(proxy_fleet(ns, cutover));
  auto ann = [&](const std::string& svc, const std::string& key) {
    return annotation(ns, svc, key);
  };
  CHECK(p->apply(split(90, 10)) == TrafficSplit{{"edge", 90}, {"edge-temp", 10}});
  CHECK(ann("edge", "external-dns.kubernetes.io/set-identifier") == "edge");
  CHECK(ann("edge-temp", "external-dns.kubernetes.io/set-identifier") == "edge-temp");
  CHECK(ann("edge", "external-dns.kubernetes.io/aws-weight") == "90");
  CHECK(ann("edge-temp", "external-dns.kubernetes.io/aws-weight") == "10");
  CHECK(ann("edge-temp", "external-dns.kubernetes.io/hostname") == "www.example.test");
  CHECK(ann("edge-temp", "lb.example.com/pool") == "edge-temp-10");

  CHECK(p->apply(split(0, 100)) == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
  CHECK(ann("edge", "external-dns.kubernetes.io/aws-weight") == "0");
  CHECK(p->read() == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});

  // The weight is read back through the fleet's own rendering of the template: another
  // fleet's value does not parse.
  json c = cutover;
  c["weight"]["serviceAnnotations"]["annotations"] = {
      {"lb.example.com/pool", "{{fleet}}-{{weight}}"}};
  auto q = provider_for(proxy_fleet(ns, c));
  CHECK(q->read() == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
  admin().patch(ingressx::refs::kServices, ns, "edge", ingressx::PatchType::kMerge,
                {{"metadata", {{"annotations", {{"lb.example.com/pool", "edge-temp-0"}}}}}});
  auto msg = what_of([&] { q->read(); });
  INFO(msg);
  CHECK(msg.find("'edge-temp-0', not of the form 'edge-{{weight}}'") != std::string::npos);
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

// ---- external-dns (the real one moves the record in BIND9; see the top of the file) ----

// make_cutover's result; `why_not` says why there is none.
std::unique_ptr<ingressx::op::CutoverProvider> try_provider(
    const json& pf, std::map<std::string, std::string> addresses, std::string& why_not) {
  ingressx::op::CutoverContext ctx;
  ctx.client = &admin();
  ctx.ns = pf["metadata"]["namespace"].get<std::string>();
  ctx.fleet_addresses = std::move(addresses);
  return ingressx::op::make_cutover(pf, ctx, why_not);
}

json annotations_of(const std::string& ns, const std::string& svc) {
  return admin().get(ingressx::refs::kServices, ns, svc)["metadata"].value("annotations",
                                                                           json::object());
}

std::string resource_version(const std::string& ns, const std::string& svc) {
  return admin().get(ingressx::refs::kServices, ns, svc)["metadata"]["resourceVersion"];
}

json external_dns_cutover(const bindlab::Lab& lab, const std::string& hostname) {
  return {{"type", "dns"},
          {"dns",
           {{"provider", "external-dns"},
            {"externalDNS",
             {{"hostname", hostname},
              {"ttl", 45},
              {"nameservers", json::array({lab.server(), lab.server2()})}}}}}};
}

// The external-dns binary: $INGRESSX_EXTERNAL_DNS (scripts/test.sh sets it), else the
// build script's cache. Missing: the test fails (never skips), naming the script.
std::string external_dns_binary() {
  if (const char* env = std::getenv("INGRESSX_EXTERNAL_DNS"); env && *env) {
    if (access(env, X_OK) != 0)
      FAIL("INGRESSX_EXTERNAL_DNS=" << env << " is not an executable; build external-dns with "
                                    << INGRESSX_EXTERNAL_DNS_SCRIPT);
    return env;
  }
  const std::string dir = hooktest::make_temp_dir("ingressx-edns-lookup-");
  std::string out;
  int code = -1;
  {
    hooktest::Child script({INGRESSX_EXTERNAL_DNS_SCRIPT, "--if-built"}, dir + "/out");
    script.wait(60s);
    out = script.log();
    code = script.exit_code();
  }
  hooktest::remove_tree(dir);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const std::string bin =
      out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  if (code != 0 || access((bin + "/external-dns").c_str(), X_OK) != 0)
    FAIL("external-dns is not built (INGRESSX_EXTERNAL_DNS is unset and the cache has none): run "
         << INGRESSX_EXTERNAL_DNS_SCRIPT << " (scripts/test.sh does), then set "
         << "INGRESSX_EXTERNAL_DNS=<its bin dir>/external-dns. " << out);
  return bin + "/external-dns";
}

// external-dns for the lab's zone, watching the Services of `ns`; killed by PID when the
// object goes away.
struct ExternalDns {
  std::unique_ptr<hooktest::Child> child;
  std::string log_path;

  ExternalDns(const std::string& binary, const bindlab::Lab& lab, const std::string& ns,
              const std::string& owner) {
    log_path = lab.dir + "/external-dns.log";
    const int metrics = hooktest::free_port();
    child = std::make_unique<hooktest::Child>(
        bindlab::guarded({binary,
                          "--kubeconfig=" + ingressx::testing::control_plane().kubeconfig,
                          "--source=service",
                          "--namespace=" + ns,
                          "--provider=rfc2136",
                          "--rfc2136-host=127.0.0.1",
                          "--rfc2136-port=" + std::to_string(lab.port),
                          "--rfc2136-zone=" + lab.zone,
                          "--rfc2136-tsig-keyname=" + lab.key_name,
                          "--rfc2136-tsig-secret=" + lab.secret,
                          "--rfc2136-tsig-secret-alg=hmac-sha256",
                          "--rfc2136-axfr",
                          "--registry=txt",
                          "--txt-owner-id=" + owner,
                          "--domain-filter=" + lab.zone,
                          "--policy=sync",
                          "--events",
                          "--min-event-sync-interval=1s",
                          "--interval=2s",
                          "--metrics-address=127.0.0.1:" + std::to_string(metrics),
                          "--log-level=debug"}),
        log_path);
    // Ready when its health endpoint answers (it serves metrics before syncing); a quick
    // exit (bad flag) is reported with its log.
    if (!hooktest::wait_listening(metrics, 20s) || child->exited())
      FAIL("external-dns did not start: " << child->log());
  }
  std::string log() const { return child->log(); }
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void record_figure(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  std::ofstream(INGRESSX_CUTOVER_FIGURES, std::ios::app) << line << "\n";
}

TEST_CASE("external-dns cutover: the real external-dns moves the record between fleets",
          "[integration][cutover]") {
  const std::string binary = external_dns_binary();
  bindlab::Lab lab;  // primary + secondary: the provider waits for both
  const std::string ns = make_namespace("cutover-edns");
  admin().create(ingressx::refs::kServices, ns, service("edge"));
  admin().create(ingressx::refs::kServices, ns, service("edge-temp"));
  // ClusterIP Services: the address the operator considers each fleet's is the ClusterIP,
  // which external-dns publishes only through the target annotation.
  const std::string edge_ip =
      admin().get(ingressx::refs::kServices, ns, "edge")["spec"]["clusterIP"];
  const std::string temp_ip =
      admin().get(ingressx::refs::kServices, ns, "edge-temp")["spec"]["clusterIP"];
  REQUIRE(!edge_ip.empty());
  REQUIRE(edge_ip != temp_ip);
  const std::map<std::string, std::string> addresses{{"edge", edge_ip}, {"edge-temp", temp_ip}};
  const std::string host = "www." + lab.zone;

  auto p = provider_for(proxy_fleet(ns, external_dns_cutover(lab, host)), addresses);
  CHECK(p->name() == "external-dns " + host + " (Services in " + ns + ")");
  CHECK(p->read() == TrafficSplit{{"edge", 0}, {"edge-temp", 0}});  // no record yet

  ExternalDns edns(binary, lab, ns, "ingressx-test-" + ns);

  // apply(), with external-dns's log when it fails.
  auto apply = [&](const std::vector<TrafficTarget>& targets) {
    try {
      return p->apply(targets);
    } catch (const Error& e) {
      FAIL(e.what() << "\nexternal-dns log:\n" << edns.log());
    }
    return TrafficSplit{};
  };
  const std::vector<TrafficTarget> to_edge{{"edge", "primary", 100, edge_ip, 80},
                                           {"edge-temp", "temp", 0, temp_ip, 80}};
  // The temp fleet's address comes from fleet_addresses when the target has none.
  const std::vector<TrafficTarget> to_temp{{"edge", "primary", 0, edge_ip, 80},
                                           {"edge-temp", "temp", 100, "", 80}};

  auto t0 = std::chrono::steady_clock::now();
  CHECK(apply(to_edge) == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  const double first = seconds_since(t0);
  CHECK(lab.answer(lab.port, host, "A") == edge_ip);
  CHECK(lab.answer(lab.port2, host, "A") == edge_ip);
  CHECK(lab.dig(lab.port, {host, "A", "+noall", "+answer"}).find("\t45\tIN\tA") !=
        std::string::npos);
  json ann = annotations_of(ns, "edge");
  CHECK(ann.value("external-dns.kubernetes.io/hostname", "") == host);
  CHECK(ann.value("external-dns.kubernetes.io/ttl", "") == "45");
  CHECK(ann.value("external-dns.kubernetes.io/target", "") == edge_ip);
  CHECK_FALSE(annotations_of(ns, "edge-temp").contains("external-dns.kubernetes.io/hostname"));

  t0 = std::chrono::steady_clock::now();
  CHECK(apply(to_temp) == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
  const double moved = seconds_since(t0);
  // dig, not only the provider: both servers answer the temp fleet's address, only it.
  CHECK(lab.answer(lab.port, host, "A") == temp_ip);
  CHECK(lab.answer(lab.port2, host, "A") == temp_ip);
  ann = annotations_of(ns, "edge");
  CHECK_FALSE(ann.contains("external-dns.kubernetes.io/hostname"));
  CHECK_FALSE(ann.contains("external-dns.kubernetes.io/ttl"));
  CHECK_FALSE(ann.contains("external-dns.kubernetes.io/target"));
  CHECK(annotations_of(ns, "edge-temp").value("external-dns.kubernetes.io/target", "") == temp_ip);
  CHECK(p->read() == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});

  // Idempotent: a re-apply writes nothing and DNS stays as it is.
  const std::string rv_edge = resource_version(ns, "edge");
  const std::string rv_temp = resource_version(ns, "edge-temp");
  const std::string serial = lab.serial();
  t0 = std::chrono::steady_clock::now();
  CHECK(apply(to_temp) == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
  const double again = seconds_since(t0);
  CHECK(resource_version(ns, "edge") == rv_edge);
  CHECK(resource_version(ns, "edge-temp") == rv_temp);
  CHECK(lab.answer(lab.port, host, "A") == temp_ip);
  std::this_thread::sleep_for(3s);  // more than one external-dns interval
  CHECK(lab.serial() == serial);    // external-dns changed nothing either

  // And back.
  t0 = std::chrono::steady_clock::now();
  CHECK(apply(to_edge) == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  const double back = seconds_since(t0);
  CHECK(lab.answer(lab.port, host, "A") == edge_ip);
  CHECK(lab.answer(lab.port2, host, "A") == edge_ip);

  char line[256];
  std::snprintf(line, sizeof line,
                "external-dns v0.23.0 (rfc2136, --events --interval=2s) apply() until the "
                "primary and secondary answer: create %.2f s, move %.2f s, move back %.2f s, "
                "idempotent re-apply %.2f s",
                first, moved, back, again);
  record_figure(line);
  admin().remove(ingressx::refs::kNamespaces, "", ns);
}

TEST_CASE("external-dns cutover: errors name the Service, the server and the name",
          "[integration][cutover]") {
  bindlab::Lab lab(false);
  const std::string ns = make_namespace("cutover-edns-err");
  const std::string host = "api." + lab.zone;
  const std::map<std::string, std::string> addresses{{"edge", "192.0.2.10"},
                                                     {"edge-temp", "192.0.2.20"}};
  const std::vector<TrafficTarget> to_edge{{"edge", "primary", 100, "192.0.2.10", 80},
                                           {"edge-temp", "temp", 0, "192.0.2.20", 80}};

  SECTION("the serving fleet's Service does not exist") {
    auto p = provider_for(proxy_fleet(ns, external_dns_cutover(lab, host)), addresses);
    auto msg = what_of([&] { p->apply(to_edge); });
    INFO(msg);
    CHECK(msg.find("Service " + ns + "/edge ") != std::string::npos);
    CHECK(msg.find("does not exist") != std::string::npos);
    CHECK(msg.find("external-dns.kubernetes.io/hostname") != std::string::npos);
  }

  SECTION("nothing publishes the annotations: the wait ends naming each server and the name") {
    admin().create(ingressx::refs::kServices, ns, service("edge"));
    ingressx::op::ExternalDnsCutoverConfig cfg;
    cfg.client = &admin();
    cfg.ns = ns;
    cfg.fleets = {"edge", "edge-temp"};
    cfg.hostname = host;
    cfg.nameservers = {lab.server()};
    cfg.fleet_addresses = addresses;
    cfg.converge_timeout_ms = 1500;
    cfg.annotation_prefix = "external-dns.alpha.kubernetes.io/";  // external-dns < v0.22
    auto p = ingressx::op::make_external_dns_cutover(cfg);
    auto msg = what_of([&] { p->apply(to_edge); });
    INFO(msg);
    CHECK(msg.find(lab.server() + " answers no A/AAAA/CNAME record for " + host + ".") !=
          std::string::npos);
    CHECK(msg.find("after 1500 ms") != std::string::npos);
    CHECK(msg.find("--source=service") != std::string::npos);
    // The annotations are there (the step failed on DNS, not on the API).
    CHECK(annotations_of(ns, "edge").value("external-dns.alpha.kubernetes.io/target", "") ==
          "192.0.2.10");
    CHECK(msg.find("--annotation-prefix=external-dns.alpha.kubernetes.io/") != std::string::npos);
    // A name server that does not answer: read() names it and the name.
    cfg.nameservers = {"127.0.0.1:" + std::to_string(hooktest::free_port())};
    auto q = ingressx::op::make_external_dns_cutover(cfg);
    auto down = what_of([&] { q->read(); });
    INFO(down);
    CHECK(down.find(cfg.nameservers[0]) != std::string::npos);
    CHECK(down.find("reading " + host) != std::string::npos);
  }

  SECTION("the servers disagree: read() says which answers what") {
    // Two zone servers that answer differently: this lab's primary and another lab's, whose
    // zone also has ns2 (it runs a secondary).
    bindlab::Lab other;
    ingressx::op::ExternalDnsCutoverConfig cfg;
    cfg.client = &admin();
    cfg.ns = ns;
    cfg.fleets = {"edge", "edge-temp"};
    cfg.hostname = "ns1." + lab.zone;  // in both zone files: 127.0.0.1
    cfg.nameservers = {lab.server(), other.server()};
    cfg.fleet_addresses = {{"edge", "127.0.0.1"}, {"edge-temp", "127.0.0.2"}};
    CHECK(ingressx::op::make_external_dns_cutover(cfg)->read() ==
          TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
    cfg.hostname = "ns2." + lab.zone;  // only the other lab has it
    auto msg = what_of([&] { ingressx::op::make_external_dns_cutover(cfg)->read(); });
    INFO(msg);
    CHECK(msg.find("disagree on ns2." + lab.zone) != std::string::npos);
    CHECK(msg.find(lab.server() + " answers no A/AAAA/CNAME record") != std::string::npos);
    CHECK(msg.find(other.server() + " answers A 127.0.0.2") != std::string::npos);
  }
  admin().remove(ingressx::refs::kNamespaces, "", ns);
}

TEST_CASE("external-dns cutover: make_cutover builds it from the ProxyFleet",
          "[integration][cutover]") {
  const std::string ns = "cutover-edns-factory";
  const json cutover = {{"type", "dns"},
                        {"dns",
                         {{"provider", "external-dns"},
                          {"externalDNS",
                           {{"hostname", "www.example.test"},
                            {"setIdentifier", "cluster-a"},
                            {"zone", "example.test"},
                            {"nameservers", json::array({"127.0.0.1:5353"})}}}}}};
  std::string why_not;
  auto p = try_provider(proxy_fleet(ns, cutover), {}, why_not);
  INFO(why_not);
  REQUIRE(p);
  CHECK(p->name() == "external-dns www.example.test (Services in " + ns + ")");
  CHECK(why_not.empty());

  json c = cutover;
  c["dns"]["externalDNS"].erase("nameservers");
  CHECK_FALSE(try_provider(proxy_fleet(ns, c), {}, why_not));
  CHECK(why_not.find("cutover dns provider external-dns") != std::string::npos);
  CHECK(why_not.find("externalDNS.nameservers") != std::string::npos);

  c = cutover;
  c["dns"]["externalDNS"]["hostname"] = "www.other.test";
  CHECK_FALSE(try_provider(proxy_fleet(ns, c), {}, why_not));
  CHECK(why_not.find("is not in externalDNS.zone example.test") != std::string::npos);

  c = cutover;
  c["dns"]["externalDNS"]["annotationPrefix"] = "external-dns.alpha.kubernetes.io";  // no '/'
  CHECK_FALSE(try_provider(proxy_fleet(ns, c), {}, why_not));
  CHECK(why_not.find("externalDNS.annotationPrefix") != std::string::npos);

  c = cutover;
  c["dns"]["provider"] = "route53";
  CHECK_FALSE(try_provider(proxy_fleet(ns, c), {}, why_not));
  CHECK(why_not.find("dns/external-dns") != std::string::npos);  // in the supported list
}

}  // namespace
