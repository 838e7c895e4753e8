#include <catch2/catch.hpp>

#include "ingressx/core/error.h"
#include "ingressx/proxy/adapter.h"

using namespace ingressx;
using namespace ingressx::proxy;
using nlohmann::json;

namespace {

json controller(json args) {
  return {{"name", "controller"},
          {"image", "registry.k8s.io/ingress-nginx/controller:v1.10.1"},
          {"args", std::move(args)}};
}

}  // namespace

TEST_CASE("clone ingress-nginx: own election id, no status fight, same class") {
  auto in = controller(
      {"/nginx-ingress-controller", "--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller",
       "--election-id=ingress-nginx-leader", "--controller-class=k8s.io/ingress-nginx",
       "--ingress-class=nginx", "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller"});
  auto r = adapter_info("ingress-nginx").clone(in, {"temp", std::nullopt});
  json want = {"/nginx-ingress-controller",
               "--election-id=ingress-nginx-leader-temp",
               "--controller-class=k8s.io/ingress-nginx",
               "--ingress-class=nginx",
               "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller",
               "--update-status=false"};
  CHECK(r.container["args"] == want);
  CHECK(r.container["image"] == in["image"]);
  CHECK(r.changes.size() == 2);
  CHECK(in["args"][2] == "--election-id=ingress-nginx-leader");  // input untouched
}

TEST_CASE("clone ingress-nginx: own publish service, two-word flags, default election id") {
  auto in = controller(
      {"--ingress-class", "nginx", "--publish-service", "ingress/primary", "--update-status"});
  auto r = clone_ingress_nginx(in, {"green", std::string("ingress/green")});
  json want = {"--ingress-class", "nginx", "--publish-service=ingress/green", "--update-status",
               "--election-id=ingress-controller-leader-green"};
  CHECK(r.container["args"] == want);
}

TEST_CASE("clone ingress-nginx: flags in command, repeated runs stay distinct") {
  json in = {{"name", "c"}, {"command", {"/nginx-ingress-controller", "--election-id", "lead"}}};
  auto r = clone_ingress_nginx(in, {"temp", std::nullopt});
  CHECK(r.container["command"] ==
        json({"/nginx-ingress-controller", "--election-id=lead-temp", "--update-status=false"}));
  CHECK_FALSE(r.container.contains("args"));
}

TEST_CASE("clone: bad specs are clear errors") {
  CHECK_THROWS_WITH(clone_ingress_nginx(json::array(), {"t", {}}),
                    Catch::Contains("container: expected an object"));
  CHECK_THROWS_WITH(clone_ingress_nginx(controller({"--x", 3}), {"t", {}}),
                    Catch::Contains("container.args[1]: expected a string"));
  CHECK_THROWS_WITH(clone_ingress_nginx(json{{"args", "x"}}, {"t", {}}),
                    Catch::Contains("container.args: expected an array"));
  CHECK_THROWS_WITH(clone_ingress_nginx(controller({}), {"", {}}), Catch::Contains("suffix"));
}

TEST_CASE("adapter table: every kind, unchanged clones for proxies without election") {
  std::vector<std::string> kinds;
  for (const auto& a : adapters()) kinds.emplace_back(a.kind);
  CHECK(kinds == std::vector<std::string>{"nginx", "openresty", "ingress-nginx", "apisix",
                                          "haproxy", "envoy", "generic"});
  auto in = controller({"-c", "/etc/haproxy/haproxy.cfg"});
  CHECK(adapter_info("haproxy").clone(in, {"temp", {}}).container == in);
  CHECK_THROWS_WITH(adapter_info("traefik"), Catch::Contains("expected one of nginx, openresty"));
  for (const auto& a : adapters()) CHECK(a.make(AdapterOptions{})->kind() == a.kind);
}

TEST_CASE("signals: names and numbers") {
  CHECK(parse_signal("SIGQUIT") == 3);
  CHECK(parse_signal("USR1") == 10);
  CHECK(parse_signal("15") == 15);
  CHECK(signal_name(10) == "SIGUSR1");
  CHECK_THROWS_WITH(parse_signal("SIGNOPE"), Catch::Contains("expected a name such as SIGTERM"));
}
