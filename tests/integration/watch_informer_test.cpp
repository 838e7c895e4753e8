// Watches and informers against the real apiserver: a forced 410 Gone (etcd compaction),
// and convergence after the apiserver restarts mid-watch.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "api_fixtures.h"
#include "controlplane.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"
#include "ingressx/core/informer.h"
#include "ingressx/core/kubeconfig.h"

using namespace ingressx;
using testing::admin;
using testing::make_namespace;
using namespace std::chrono_literals;

namespace {

json configmap(const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}}},
          {"data", {{"v", value}}}};
}

// Records every delivery per object, to check nothing is lost or delivered twice.
struct Recorder {
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> seen;  // name -> "add:v", "update:v", "delete"
  InformerHandlers handlers() {
    InformerHandlers h;
    h.on_add = [this](const json& o) { note(o, "add:" + o["data"].value("v", "")); };
    h.on_update = [this](const json&, const json& o) {
      note(o, "update:" + o["data"].value("v", ""));
    };
    h.on_delete = [this](const json& o) { note(o, "delete"); };
    return h;
  }
  void note(const json& o, std::string what) {
    std::lock_guard l(mu);
    seen[o["metadata"]["name"].get<std::string>()].push_back(std::move(what));
  }
  std::vector<std::string> of(const std::string& name) {
    std::lock_guard l(mu);
    return seen[name];
  }
};

// Waits until the informer's cache holds exactly the server's objects (names and versions).
bool converged(Informer& inf, const std::string& ns, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::map<std::string, std::string> server, cache;
    json list = admin().list_all(refs::kConfigMaps, ns);
    for (auto& o : list["items"]) server[o["metadata"]["name"]] = o["metadata"]["resourceVersion"];
    for (auto& o : inf.list()) cache[o["metadata"]["name"]] = o["metadata"]["resourceVersion"];
    if (server == cache) return true;
    if (std::chrono::steady_clock::now() + 250ms >= deadline) {
      for (auto& [k, v] : server) UNSCOPED_INFO("server: " << k << " @" << v);
      for (auto& [k, v] : cache) UNSCOPED_INFO("informer: " << k << " @" << v);
    }
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

}  // namespace

TEST_CASE("a watch from a compacted resourceVersion fails with 410 Gone", "[integration][watch]") {
  auto ns = make_namespace("gone");
  auto& c = admin();
  c.create(refs::kConfigMaps, ns, configmap("a", "1"));
  std::string rv0 = c.list(refs::kConfigMaps, ns)["metadata"]["resourceVersion"];
  for (int i = 2; i <= 4; ++i)
    c.patch(refs::kConfigMaps, ns, "a", PatchType::kMerge, {{"data", {{"v", std::to_string(i)}}}});
  testing::compact_etcd();

  ListOptions o;
  o.resource_version = rv0;
  o.timeout_seconds = 5;
  try {
    c.watch(
        refs::kConfigMaps, ns, o, [](const WatchEvent&) { return true; }, [] { return false; });
    FAIL("watch from a compacted resourceVersion did not fail");
  } catch (const Error& e) {
    CHECK(e.is_gone());
  }
  c.remove(refs::kNamespaces, "", ns);
}

TEST_CASE("an informer crosses a forced 410 without losing or repeating a change",
          "[integration][informer]") {
  auto ns = make_namespace("inf410");
  auto& c = admin();
  for (int i = 0; i < 5; ++i)
    c.create(refs::kConfigMaps, ns, configmap("cm" + std::to_string(i), "0"));

  Recorder rec;
  Informer inf(c, refs::kConfigMaps, ns);
  inf.add_handlers(rec.handlers());
  inf.start();
  REQUIRE(inf.wait_for_sync(30s));
  REQUIRE(converged(inf, ns, 30s));

  // While the informer is stopped the world moves on and etcd compacts past its version,
  // so resuming its watch gets 410 and it must relist and deliver exactly the difference.
  inf.stop();
  uint64_t gone_before = inf.stats().gone;
  c.patch(refs::kConfigMaps, ns, "cm1", PatchType::kMerge, {{"data", {{"v", "1"}}}});
  c.remove(refs::kConfigMaps, ns, "cm2");
  c.create(refs::kConfigMaps, ns, configmap("cm5", "0"));
  testing::compact_etcd();
  inf.start();
  REQUIRE(converged(inf, ns, 60s));
  CHECK(inf.stats().gone > gone_before);

  CHECK(rec.of("cm0") == std::vector<std::string>{"add:0"});
  CHECK(rec.of("cm1") == std::vector<std::string>{"add:0", "update:1"});
  CHECK(rec.of("cm2") == std::vector<std::string>{"add:0", "delete"});
  CHECK(rec.of("cm5") == std::vector<std::string>{"add:0"});

  // Live changes after the relist still arrive once each.
  c.patch(refs::kConfigMaps, ns, "cm5", PatchType::kMerge, {{"data", {{"v", "2"}}}});
  REQUIRE(converged(inf, ns, 30s));
  CHECK(rec.of("cm5") == std::vector<std::string>{"add:0", "update:2"});
  inf.stop();
  c.remove(refs::kNamespaces, "", ns);
}

TEST_CASE("an informer converges after the apiserver restarts mid-watch",
          "[integration][informer][restart]") {
  auto ns = make_namespace("infrestart");
  auto& c = admin();
  c.create(refs::kConfigMaps, ns, configmap("before", "0"));

  Recorder rec;
  Informer inf(c, refs::kConfigMaps, ns);
  inf.add_handlers(rec.handlers());
  inf.start();
  REQUIRE(inf.wait_for_sync(30s));

  testing::restart_apiserver();
  c.create(refs::kConfigMaps, ns, configmap("after", "0"));
  c.patch(refs::kConfigMaps, ns, "before", PatchType::kMerge, {{"data", {{"v", "1"}}}});
  REQUIRE(converged(inf, ns, 90s));
  CHECK(rec.of("before") == std::vector<std::string>{"add:0", "update:1"});
  CHECK(rec.of("after") == std::vector<std::string>{"add:0"});
  CHECK(inf.stats().watches >= 2);
  inf.stop();
  c.remove(refs::kNamespaces, "", ns);
}
