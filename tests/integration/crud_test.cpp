// CRUD, patches, server-side apply conflicts, the status subresource, paging and discovery
// against the real kube-apiserver started by dev/cluster.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "api_fixtures.h"
#include "controlplane.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"
#include "ingressx/core/kubeconfig.h"

using namespace ingressx;
using testing::admin;
using testing::make_namespace;
using namespace std::chrono_literals;

namespace {

json configmap(const std::string& name, json data) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}}},
          {"data", std::move(data)}};
}

const ResourceRef kWidgets{"test.ingressx.io", "v1", "widgets", true, "Widget"};

void ensure_widget_crd() {
  json crd = {
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata", {{"name", "widgets.test.ingressx.io"}}},
      {"spec",
       {{"group", "test.ingressx.io"},
        {"scope", "Namespaced"},
        {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}}},
        {"versions",
         json::array(
             {{{"name", "v1"},
               {"served", true},
               {"storage", true},
               {"subresources", {{"status", json::object()}}},
               {"schema",
                {{"openAPIV3Schema",
                  {{"type", "object"},
                   {"properties",
                    {{"spec",
                      {{"type", "object"}, {"properties", {{"size", {{"type", "integer"}}}}}}},
                     {"status",
                      {{"type", "object"},
                       {"properties", {{"phase", {{"type", "string"}}}}}}}}}}}}}}})}}}};
  admin().apply(refs::kCRDs, "", crd, "ingressx-test", true);
  for (int i = 0; i < 100; ++i) {
    json got = admin().get(refs::kCRDs, "", "widgets.test.ingressx.io");
    for (auto& c : got["status"].value("conditions", json::array()))
      if (c["type"] == "Established" && c["status"] == "True") return;
    std::this_thread::sleep_for(100ms);
  }
  FAIL("CRD widgets.test.ingressx.io did not become Established");
}

}  // namespace

TEST_CASE("configmap create, get, update, patch, delete", "[integration][crud]") {
  auto ns = make_namespace("crud");
  auto& c = admin();
  json created = c.create(refs::kConfigMaps, ns, configmap("a", {{"k", "v1"}}));
  CHECK(created["metadata"]["uid"].is_string());

  json got = c.get(refs::kConfigMaps, ns, "a");
  CHECK(got["data"]["k"] == "v1");

  got["data"]["k"] = "v2";
  json updated = c.update(refs::kConfigMaps, ns, got);
  CHECK(updated["data"]["k"] == "v2");

  // A stale resourceVersion is a conflict.
  got["data"]["k"] = "stale";
  try {
    c.update(refs::kConfigMaps, ns, got);
    FAIL("update with a stale resourceVersion succeeded");
  } catch (const Error& e) {
    CHECK(e.is_conflict());
    CHECK(e.reason() == "Conflict");
  }

  json merged = c.patch(refs::kConfigMaps, ns, "a", PatchType::kMerge, {{"data", {{"m", "x"}}}});
  CHECK(merged["data"]["m"] == "x");
  json jp = c.patch(refs::kConfigMaps, ns, "a", PatchType::kJson,
                    json::array({{{"op", "replace"}, {"path", "/data/k"}, {"value", "v3"}}}));
  CHECK(jp["data"]["k"] == "v3");
  json sm = c.patch(refs::kConfigMaps, ns, "a", PatchType::kStrategicMerge,
                    {{"metadata", {{"labels", {{"tier", "edge"}}}}}});
  CHECK(sm["metadata"]["labels"]["tier"] == "edge");

  CHECK(c.remove(refs::kConfigMaps, ns, "a"));
  CHECK_FALSE(c.try_get(refs::kConfigMaps, ns, "a").has_value());
  CHECK_FALSE(c.remove(refs::kConfigMaps, ns, "a"));

  try {
    c.get(refs::kConfigMaps, ns, "missing");
    FAIL("get of a missing object succeeded");
  } catch (const Error& e) {
    CHECK(e.is_not_found());
    CHECK(e.http_status() == 404);
    CHECK_THAT(e.what(), Catch::Contains("missing"));
  }
  c.remove(refs::kNamespaces, "", ns);
}

TEST_CASE("list pages with limit and continue", "[integration][crud]") {
  auto ns = make_namespace("page");
  auto& c = admin();
  for (int i = 0; i < 25; ++i)
    c.create(refs::kConfigMaps, ns,
             configmap("cm-" + std::to_string(i), {{"i", std::to_string(i)}}));
  ListOptions o;
  o.limit = 10;
  json page = c.list(refs::kConfigMaps, ns, o);
  CHECK(page["items"].size() == 10);
  CHECK_FALSE(page["metadata"].value("continue", "").empty());

  json all = c.list_all(refs::kConfigMaps, ns, o);
  // kube-root-ca.crt is created in every namespace by the controller-manager, which the
  // control-plane-only setup does not run; count only ours.
  int ours = 0;
  for (auto& item : all["items"])
    if (item["metadata"]["name"].get<std::string>().rfind("cm-", 0) == 0) ++ours;
  CHECK(ours == 25);
  CHECK(c.stats().requests > 0);
  c.remove(refs::kNamespaces, "", ns);
}

TEST_CASE("server-side apply: conflict between two field managers", "[integration][apply]") {
  auto ns = make_namespace("ssa");
  auto& c = admin();
  json obj = configmap("shared", {{"owner", "alice"}});
  obj["metadata"]["namespace"] = ns;
  json a = c.apply(refs::kConfigMaps, ns, obj, "alice");
  CHECK(a["data"]["owner"] == "alice");

  json theirs = configmap("shared", {{"owner", "bob"}});
  try {
    c.apply(refs::kConfigMaps, ns, theirs, "bob");
    FAIL("apply of a field owned by another manager did not conflict");
  } catch (const Error& e) {
    CHECK(e.is_conflict());
    CHECK_THAT(e.what(), Catch::Contains("alice"));
  }
  json forced = c.apply(refs::kConfigMaps, ns, theirs, "bob", /*force=*/true);
  CHECK(forced["data"]["owner"] == "bob");
  bool bob_owns = false;
  for (auto& mf : forced["metadata"]["managedFields"])
    if (mf["manager"] == "bob") bob_owns = true;
  CHECK(bob_owns);

  try {
    c.apply(refs::kConfigMaps, ns, theirs, "");
    FAIL("apply without a field manager was accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == Error::Kind::kInvalidInput);
  }
  c.remove(refs::kNamespaces, "", ns);
}

TEST_CASE("status subresource on a custom resource", "[integration][status]") {
  ensure_widget_crd();
  auto ns = make_namespace("status");
  auto& c = admin();
  ResourceRef r = c.resolve("test.ingressx.io/v1", "Widget");
  CHECK(r.resource == "widgets");
  CHECK(r.namespaced);

  json w = {{"apiVersion", "test.ingressx.io/v1"},
            {"kind", "Widget"},
            {"metadata", {{"name", "w1"}}},
            {"spec", {{"size", 3}}}};
  json created = c.create(kWidgets, ns, w);

  // The main resource ignores status; /status ignores spec.
  created["status"] = {{"phase", "Ignored"}};
  json after_update = c.update(kWidgets, ns, created);
  CHECK_FALSE(after_update.contains("status"));

  after_update["status"] = {{"phase", "Ready"}};
  after_update["spec"]["size"] = 99;
  json after_status = c.update_status(kWidgets, ns, after_update);
  CHECK(after_status["status"]["phase"] == "Ready");
  CHECK(after_status["spec"]["size"] == 3);

  json applied = c.apply(kWidgets, ns,
                         {{"apiVersion", "test.ingressx.io/v1"},
                          {"kind", "Widget"},
                          {"metadata", {{"name", "w1"}}},
                          {"status", {{"phase", "Applied"}}}},
                         "ingressx-status", true, "status");
  CHECK(applied["status"]["phase"] == "Applied");
  c.remove(refs::kNamespaces, "", ns);
}

TEST_CASE("discovery maps kinds to resources and rejects unknown kinds",
          "[integration][discovery]") {
  auto& c = admin();
  CHECK(c.resolve("v1", "ConfigMap").resource == "configmaps");
  CHECK(c.resolve("apps/v1", "Deployment").resource == "deployments");
  CHECK_FALSE(c.resolve("v1", "Namespace").namespaced);
  CHECK(c.resolve("coordination.k8s.io/v1", "Lease").resource == "leases");
  CHECK_THROWS_AS(c.resolve("v1", "NoSuchKind"), Error);
}
