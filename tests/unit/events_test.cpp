#include "ingressx/core/events.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"

using ingressx::Error;
using ingressx::EventRecorder;
using ingressx::EventSink;
using ingressx::FakeClock;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

class FakeSink final : public EventSink {
 public:
  struct Patch {
    std::string ns, name;
    json body;
  };
  std::vector<json> created;
  std::vector<Patch> patches;
  bool fail = false;
  bool patch_not_found = false;

  json create(const std::string& ns, const json& event) override {
    if (fail) throw Error(Error::Kind::kTransport, "https://apiserver: connection refused");
    CHECK(ns == event["metadata"]["namespace"]);
    created.push_back(event);
    return event;
  }
  json patch(const std::string& ns, const std::string& name, const json& p) override {
    if (fail) throw Error(503, "ServiceUnavailable", "try later");
    if (patch_not_found) throw Error(404, "NotFound", "events \"" + name + "\" not found");
    patches.push_back({ns, name, p});
    return p;
  }
};

json fleet(const std::string& ns = "prod") {
  json m = {{"name", "edge"}, {"uid", "u-1"}, {"resourceVersion", "42"}};
  if (!ns.empty()) m["namespace"] = ns;
  return {{"apiVersion", "ingressx.io/v1alpha1"}, {"kind", "ProxyFleet"}, {"metadata", m}};
}

}  // namespace

TEST_CASE("the first occurrence creates an events.k8s.io/v1 Event", "[events]") {
  FakeClock clock;
  FakeSink sink;
  EventRecorder rec(sink, "ingressx.io/operator", "operator-0", clock);
  rec.record(fleet(), "Normal", "RolloutStarted", "Rollout", "moving to revision 3");

  REQUIRE(sink.created.size() == 1);
  const json& e = sink.created[0];
  CHECK(e["apiVersion"] == "events.k8s.io/v1");
  CHECK(e["kind"] == "Event");
  CHECK(e["metadata"]["namespace"] == "prod");
  const std::string name = e["metadata"]["name"];
  CHECK(name.rfind("edge.", 0) == 0);
  CHECK(name.size() == std::string("edge.").size() + 16);
  CHECK(name.find_first_not_of("0123456789abcdef", 5) == std::string::npos);
  CHECK(e["reportingController"] == "ingressx.io/operator");
  CHECK(e["reportingInstance"] == "operator-0");
  CHECK(e["type"] == "Normal");
  CHECK(e["reason"] == "RolloutStarted");
  CHECK(e["action"] == "Rollout");
  CHECK(e["note"] == "moving to revision 3");
  CHECK(e["eventTime"].get<std::string>().size() ==
        std::string("2026-11-23T12:00:00.000000Z").size());
  CHECK(e["regarding"] == json{{"apiVersion", "ingressx.io/v1alpha1"},
                               {"kind", "ProxyFleet"},
                               {"name", "edge"},
                               {"namespace", "prod"},
                               {"uid", "u-1"},
                               {"resourceVersion", "42"}});
  CHECK_FALSE(e.contains("series"));
}

TEST_CASE("repeats within the series window patch the series count", "[events]") {
  FakeClock clock;
  FakeSink sink;
  EventRecorder rec(sink, "ctl", "i", clock);
  rec.record(fleet(), "Warning", "DrainSlow", "Drain", "120 connections left");
  const std::string name = sink.created.at(0)["metadata"]["name"];

  clock.advance(1min);
  rec.record(fleet(), "Warning", "DrainSlow", "Drain", "120 connections left");
  clock.advance(5min);  // 5 min after the last occurrence: still within the window
  rec.record(fleet(), "Warning", "DrainSlow", "Drain", "120 connections left");

  CHECK(sink.created.size() == 1);
  REQUIRE(sink.patches.size() == 2);
  CHECK(sink.patches[0].name == name);
  CHECK(sink.patches[0].ns == "prod");
  CHECK(sink.patches[0].body["series"]["count"] == 2);
  CHECK(sink.patches[1].body["series"]["count"] == 3);
  CHECK(sink.patches[1].body["series"]["lastObservedTime"] !=
        sink.patches[0].body["series"]["lastObservedTime"]);

  SECTION("after the window a new Event is created") {
    clock.advance(EventRecorder::kSeriesWindow + 1s);
    rec.record(fleet(), "Warning", "DrainSlow", "Drain", "120 connections left");
    REQUIRE(sink.created.size() == 2);
    CHECK(sink.created[1]["metadata"]["name"] != name);
    CHECK(sink.patches.size() == 2);
    rec.record(fleet(), "Warning", "DrainSlow", "Drain", "120 connections left");
    CHECK(sink.patches.back().name == sink.created[1]["metadata"]["name"]);
    CHECK(sink.patches.back().body["series"]["count"] == 2);
  }
}

TEST_CASE("any difference in the aggregation key makes a new Event", "[events]") {
  FakeClock clock;
  FakeSink sink;
  EventRecorder rec(sink, "ctl", "i", clock);
  rec.record(fleet(), "Normal", "Scaled", "Scale", "3 replicas");
  rec.record(fleet(), "Normal", "Scaled", "Scale", "4 replicas");            // note
  rec.record(fleet(), "Warning", "Scaled", "Scale", "4 replicas");           // type
  rec.record(fleet(), "Warning", "Resized", "Scale", "4 replicas");          // reason
  rec.record(fleet(), "Warning", "Resized", "Grow", "4 replicas");           // action
  rec.record(fleet("staging"), "Warning", "Resized", "Grow", "4 replicas");  // object
  CHECK(sink.created.size() == 6);
  CHECK(sink.patches.empty());
}

TEST_CASE("cluster-scoped objects' events go to the default namespace", "[events]") {
  FakeClock clock;
  FakeSink sink;
  EventRecorder rec(sink, "ctl", "i", clock);
  rec.record(fleet(""), "Normal", "Ready", "Reconcile", "ok");
  REQUIRE(sink.created.size() == 1);
  CHECK(sink.created[0]["metadata"]["namespace"] == "default");
  CHECK_FALSE(sink.created[0]["regarding"].contains("namespace"));
}

TEST_CASE("notes are cut to 1024 bytes without splitting a character", "[events]") {
  FakeClock clock;
  FakeSink sink;
  EventRecorder rec(sink, "ctl", "i", clock);
  rec.record(fleet(), "Normal", "Long", "Reconcile", std::string(2000, 'x'));
  std::string two_byte;
  for (int i = 0; i < 600; ++i) two_byte += "\xC3\xA9";  // é
  rec.record(fleet(), "Normal", "Long", "Reconcile", "x" + two_byte);
  REQUIRE(sink.created.size() == 2);
  CHECK(sink.created[0]["note"].get<std::string>().size() == 1024);
  CHECK(sink.created[1]["note"].get<std::string>().size() == 1023);
}

TEST_CASE("reasons must be UpperCamelCase", "[events]") {
  FakeClock clock;
  FakeSink sink;
  EventRecorder rec(sink, "ctl", "i", clock);
  for (std::string bad : {"", "rolloutStarted", "Rollout Started", "Rollout-Started", "1Up"}) {
    CAPTURE(bad);
    try {
      rec.record(fleet(), "Normal", bad, "Rollout", "x");
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == Error::Kind::kInvalidInput);
    }
  }
  CHECK_NOTHROW(rec.record(fleet(), "Normal", "Step2Done", "Rollout", "x"));
  CHECK(sink.created.size() == 1);
}

TEST_CASE("sink failures are dropped, not thrown", "[events]") {
  FakeClock clock;
  FakeSink sink;
  EventRecorder rec(sink, "ctl", "i", clock);
  sink.fail = true;
  CHECK_NOTHROW(rec.record(fleet(), "Warning", "Failed", "Rollout", "boom"));
  CHECK_NOTHROW(rec.record(fleet(), "Warning", "Failed", "Rollout", "boom"));
  sink.fail = false;
  // Nothing was created, so the next occurrence creates rather than patches.
  rec.record(fleet(), "Warning", "Failed", "Rollout", "boom");
  CHECK(sink.created.size() == 1);
  CHECK(sink.patches.empty());

  sink.fail = true;
  CHECK_NOTHROW(rec.record(fleet(), "Warning", "Failed", "Rollout", "boom"));  // patch fails
  CHECK_NOTHROW(rec.record(json::object(), "Warning", "Failed", "Rollout", "no name"));
}

TEST_CASE("a series whose Event was deleted starts over", "[events]") {
  FakeClock clock;
  FakeSink sink;
  EventRecorder rec(sink, "ctl", "i", clock);
  rec.record(fleet(), "Normal", "Synced", "Reconcile", "ok");
  sink.patch_not_found = true;
  rec.record(fleet(), "Normal", "Synced", "Reconcile", "ok");
  CHECK(sink.created.size() == 2);
  sink.patch_not_found = false;
  rec.record(fleet(), "Normal", "Synced", "Reconcile", "ok");
  REQUIRE(sink.patches.size() == 1);
  CHECK(sink.patches[0].name == sink.created[1]["metadata"]["name"]);
  CHECK(sink.patches[0].body["series"]["count"] == 2);
}
