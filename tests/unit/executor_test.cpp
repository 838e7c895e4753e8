// The reconciler's writing half (operator/src/executor.h) against a fake apiserver that can
// fail any call (fake_api.h) and a fake cutover provider: the order of the writes, what a
// failed or lost write leaves behind, and whole rollouts carried through the real engine,
// the real JSON forms and the real Client with one fault at each kind of write. Time comes
// from a FakeClock.
#include "reconciler/executor.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "engine_world.h"
#include "fake_api.h"
#include "ingressx/core/client.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"
#include "ingressx/core/events.h"
#include "ingressx/core/failpoint.h"
#include "ingressx/core/kubeconfig.h"
#include "ingressx/operator/cutover.h"
#include "ingressx/operator/fleet_spec.h"
#include "ingressx/operator/runtime.h"
#include "reconciler/fleet_objects.h"

using namespace ingressx;
using namespace ingressx::op;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kNs = "ns";
// The moves a rollout of engine_world's fleet (steps 50 then 100) makes, as moves_of() folds
// them.
const std::vector<std::string> kTempFleetMoves = {"edge=50,edge-temp=50", "edge-temp=100",
                                                  "edge=50,edge-temp=50", "edge=100"};
const std::vector<std::string> kBlueGreenMoves = {"edge-blue=50,edge-green=50", "edge-green=100"};
const std::string kFleetPath = "/apis/ingressx.io/v1alpha1/namespaces/ns/proxyfleets/edge";

class Sink final : public EventSink {
 public:
  std::vector<json> created;
  json create(const std::string&, const json& e) override {
    created.push_back(e);
    json out = e;
    out["metadata"]["name"] = "ev-" + std::to_string(created.size());
    return out;
  }
  json patch(const std::string&, const std::string&, const json& p) override { return p; }
  bool has(const std::string& reason) const {
    for (const auto& e : created)
      if (e.value("reason", "") == reason) return true;
    return false;
  }
};

// Holds the split in memory; apply() fails while `failures` > 0.
class Provider final : public CutoverProvider {
 public:
  TrafficSplit split;
  std::vector<TrafficSplit> moves;  // the split after every successful apply()
  int failures = 0;
  int calls = 0;
  std::string name() const override { return "fake provider"; }
  TrafficSplit apply(const std::vector<TrafficTarget>& targets) override {
    ++calls;
    if (failures > 0) {
      --failures;
      throw Error(Error::Kind::kTransport, "fake provider: injected failure");
    }
    for (const auto& t : targets) split[t.fleet] = t.weight;
    moves.push_back(split);
    return split;
  }
  TrafficSplit read() override { return split; }
};

// The executor, its Client over a FakeApi, and a world in which every fleet the executor
// applies is ready at once, has an address and no connections.
struct Rig {
  fake_api::FakeApi* api = nullptr;
  FakeClock clock;
  std::unique_ptr<Client> client;
  Sink sink;
  EventRecorder events{sink, "ingressx.io/operator", "test", clock};
  OperatorMetrics metrics;
  Provider provider;
  bool may_act = true;
  std::unique_ptr<Executor> exec;

  explicit Rig(const std::string& strategy = "TempFleet") {
    RestConfig cfg;
    cfg.server = "https://k8s.test:6443";
    cfg.token = "t";
    auto fake = std::make_unique<fake_api::FakeApi>();
    api = fake.get();
    client = std::make_unique<Client>(cfg, std::move(fake), nullptr, &clock);
    ExecutorOptions o;
    o.hook_image = "localhost/ingressx/ingressx:test";
    o.may_act = [this] { return may_act; };
    exec = std::make_unique<Executor>(*client, events, clock, metrics, o);
    api->put(kFleetPath, engine_world::fleet_json(strategy));
  }

  const json& fleet() const { return api->objects.at(kFleetPath); }
  std::vector<json> rollouts() const {
    std::vector<json> out;
    for (const auto& [path, obj] : api->objects)
      if (path.find("/fleetrollouts/") != std::string::npos) out.push_back(obj);
    std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
      return a["spec"].value("revision", 0) < b["spec"].value("revision", 0);
    });
    return out;
  }
  const json* rollout(const std::string& name) const { return api->find("fleetrollouts", name); }

  std::map<std::string, FleetObservation> observe() const {
    std::map<std::string, FleetObservation> out;
    int n = 0;
    for (const auto& [path, dep] : api->objects) {
      ++n;
      if (path.find("/deployments/") == std::string::npos) continue;
      FleetObservation o;
      o.exists = true;
      o.hash =
          dep["spec"]["template"]["metadata"]["annotations"].value("ingressx.io/template-hash", "");
      o.replicas = o.status_replicas = o.ready_replicas = o.updated_replicas =
          dep["spec"].value("replicas", 1);
      o.generation_observed = true;
      o.address = "10.96.0." + std::to_string(n);
      o.active_connections = 0;
      out[dep["metadata"].value("name", "")] = o;
    }
    return out;
  }

  // One pass as the reconciler makes it: read, decide, execute.
  struct Pass {
    Snapshot s;
    Decision d;
    PassInput in;
    json pf;
    std::vector<json> frs;
  };
  Pass read() {
    Pass p;
    p.pf = fleet();
    p.frs = rollouts();
    const json tpl = p.pf["spec"].value("template", json::object());
    Snapshot& s = p.s;
    s.now = clock.wall_now();
    s.settings = settings_from(p.pf);
    s.state = state_from(p.pf);
    s.template_hash = template_hash(tpl, "");
    s.template_part_changed = s.state.current_hash.substr(0, 13) != s.template_hash.substr(0, 13);
    for (const auto& fr : p.frs)
      s.max_revision = std::max(s.max_revision, fr["spec"].value("revision", int64_t{0}));
    const json* newest = p.frs.empty() ? nullptr : &p.frs.back();
    if (newest) s.rollout = rollout_from(*newest);
    s.fleets = observe();
    s.traffic = provider.read();
    exec->report_cutover_failures("ns/edge", s);
    p.d = decide(s);
    p.in.key = "ns/edge";
    p.in.ns = kNs;
    p.in.name = "edge";
    p.in.template_ = tpl;
    p.in.rollouts = p.frs;
    p.in.running = s.rollout && !s.rollout->finished();
    p.in.provider = &provider;
    return p;
  }
  std::optional<Millis> run(Pass& p) {
    p.in.fleet = &p.pf;
    p.in.rollout = p.frs.empty() ? nullptr : &p.frs.back();
    return exec->execute(p.in, p.s, p.d);
  }
  std::optional<Millis> pass() {
    auto p = read();
    return run(p);
  }

  // Passes (1 s apart; a failed one is retried like the reconciler does) until the rollout
  // `name` has finished; returns how many passes failed.
  int until_finished(const std::string& name, int max_passes = 400) {
    int failed = 0;
    for (int i = 0; i < max_passes; ++i) {
      try {
        pass();
      } catch (const Error&) {
        ++failed;
      }
      clock.advance(1s);
      const json* fr = rollout(name);
      if (fr && fr->contains("status")) {
        const std::string ph = (*fr)["status"].value("phase", "");
        if (ph == "Succeeded" || ph == "Failed" || ph == "Aborted") return failed;
      }
    }
    FAIL("rollout " << name << " did not finish in " << max_passes
                    << " passes; writes: " << api->writes().size());
    return failed;
  }

  void change_template(const std::string& image) {
    json& pf = api->objects.at(kFleetPath);
    pf["spec"]["template"]["spec"]["containers"][0]["image"] = image;
    pf["metadata"]["generation"] = pf["metadata"].value("generation", 1) + 1;
    pf["metadata"]["resourceVersion"] = std::to_string(++api->rv);
  }
};

std::string phases(const json& fr) {
  std::string out;
  for (const auto& s : fr["status"].value("steps", json::array()))
    out += (out.empty() ? "" : " ") + s.value("name", "") + ":" + s.value("phase", "");
  return out;
}

// The planned step names of a record, each "name:Succeeded" (promote: Skipped by rule).
std::string all_done(const json& fr) {
  std::string out;
  for (const auto& n : fr["spec"].value("plan", json::array())) {
    const std::string name = n.get<std::string>();
    out += (out.empty() ? "" : " ") + name + ":" + (name == "promote" ? "Skipped" : "Succeeded");
  }
  return out;
}

std::string split_str(const TrafficSplit& s) {
  std::string out;
  for (const auto& [f, w] : s)
    if (w > 0) out += (out.empty() ? "" : ",") + f + "=" + std::to_string(w);
  return out;
}

// The moves the provider made, consecutive repeats folded (a repeat is a restore of the
// same split, not a new move).
std::vector<std::string> moves_of(const Provider& p, size_t from = 0) {
  std::vector<std::string> out;
  for (size_t i = from; i < p.moves.size(); ++i) {
    const std::string m = split_str(p.moves[i]);
    if (out.empty() || out.back() != m) out.push_back(m);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "executor: a new rollout's record is created first, its status written before the "
    "fleet's",
    "[executor]") {
  Rig rig;
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  rig.api->calls.clear();
  auto p = rig.read();
  REQUIRE(p.d.new_rollout);
  REQUIRE(p.d.rollout->name == "edge-r2");
  rig.run(p);
  const auto w = rig.api->writes();
  REQUIRE(w.size() >= 3);
  CHECK(w.front() == "POST fleetrollouts");
  CHECK(w[w.size() - 2] == "PATCH fleetrollouts/edge-r2/status");
  CHECK(w.back() == "PATCH proxyfleets/edge/status");
  // The record carries its plan from the start: an empty status means "not started".
  const json* fr = rig.rollout("edge-r2");
  REQUIRE(fr);
  CHECK((*fr)["spec"]["plan"].size() > 5);
}

TEST_CASE("executor: a failed create runs no action and writes no status", "[executor]") {
  Rig rig;
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  rig.api->calls.clear();
  rig.api->faults.push_back({"POST fleetrollouts", 500});
  CHECK_THROWS_AS(rig.pass(), Error);
  CHECK(rig.api->writes() == std::vector<std::string>{"POST fleetrollouts"});
  CHECK(rig.rollout("edge-r2") == nullptr);
  // The next pass decides the same rollout and creates it.
  rig.pass();
  CHECK(rig.rollout("edge-r2") != nullptr);
}

TEST_CASE("executor: a create whose answer was lost is re-read, not overwritten", "[executor]") {
  Rig rig;
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  rig.api->faults.push_back({"POST fleetrollouts", 0, /*applied=*/true});
  CHECK_THROWS_AS(rig.pass(), Error);
  REQUIRE(rig.rollout("edge-r2"));
  rig.api->calls.clear();
  // A pass that has not seen it yet decides to create it again: AlreadyExists, re-read.
  auto p = rig.read();
  p.frs.pop_back();  // the informer lags
  p.in.rollouts = p.frs;
  p.s.rollout = rollout_from(p.frs.back());
  p.s.max_revision = 1;
  p.d = decide(p.s);
  REQUIRE(p.d.rollout->name == "edge-r2");
  REQUIRE(p.d.new_rollout);
  CHECK(rig.run(p) == Millis{500});
  CHECK(rig.api->writes() == std::vector<std::string>{"POST fleetrollouts"});
}

TEST_CASE("executor: a failed fleet write stops the pass before any status", "[executor]") {
  Rig rig;
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  rig.pass();  // the record
  rig.api->calls.clear();
  // Every attempt of the Deployment apply fails (the Client retries 5 times).
  rig.api->faults.push_back({"PATCH deployments/edge-temp", 500, false, 5});
  CHECK_THROWS_AS(rig.pass(), Error);
  CHECK(rig.api->calls_with("/status").empty());
  CHECK(rig.api->calls_with("PATCH deployments/edge-temp").size() == 5);
}

TEST_CASE(
    "executor: a status write that lost to a newer version throws a conflict and writes "
    "nothing after it",
    "[executor]") {
  Rig rig;
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  rig.pass();
  auto p = rig.read();
  // Another writer (a deposed leader's late write, a racing pass) changed the record.
  const std::string path = "/apis/ingressx.io/v1alpha1/namespaces/ns/fleetrollouts/edge-r2";
  rig.api->put(path, rig.api->objects.at(path));
  rig.api->calls.clear();
  try {
    rig.run(p);
    FAIL("a stale status write was accepted");
  } catch (const Error& e) {
    CHECK(e.is_conflict());
  }
  CHECK(rig.api->calls_with("PATCH proxyfleets/edge/status").empty());
}

TEST_CASE(
    "executor: a status write retried after its answer was lost fails as a conflict, "
    "never writes twice",
    "[executor]") {
  Rig rig;
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  // Made, its answer lost (503: retried for any verb); the retry names the same version.
  rig.api->faults.push_back({"PATCH fleetrollouts/edge-r2/status", 503, /*applied=*/true});
  try {
    rig.pass();
    FAIL("the lost status write went unnoticed");
  } catch (const Error& e) {
    CHECK(e.is_conflict());
  }
  CHECK(rig.api->calls_with("PATCH fleetrollouts/edge-r2/status").size() == 2);
  const json* fr = rig.rollout("edge-r2");
  REQUIRE(fr);
  CHECK((*fr)["status"].value("phase", "") == "Progressing");
  CHECK(rig.api->calls_with("PATCH proxyfleets/edge/status").empty() == false);  // r1's
  // The next pass reads the written record and goes on from it.
  rig.api->calls.clear();
  rig.pass();
  CHECK(rig.api->calls_with("POST fleetrollouts").empty());
}

TEST_CASE("executor: a failed traffic move is remembered with backoff on the injected clock",
          "[executor]") {
  Rig rig;
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  const int before = rig.provider.calls;
  rig.provider.failures = 2;
  std::optional<Millis> after;
  for (int i = 0; i < 60 && rig.provider.calls == before; ++i) {
    rig.clock.advance(1s);
    after = rig.pass();  // a failed move does not throw
  }
  REQUIRE(rig.provider.calls == before + 1);
  // Back within the traffic resync; the engine makes no move before the backoff runs out.
  CHECK(after == Millis{1000});
  Snapshot s;
  rig.exec->report_cutover_failures("ns/edge", s);
  CHECK(s.cutover_failures == 1);
  CHECK(s.cutover_retry_in == cutover_backoff(1));
  CHECK(s.cutover_error.find("injected failure") != std::string::npos);
  rig.clock.advance(500ms);
  rig.exec->report_cutover_failures("ns/edge", s);
  CHECK(s.cutover_retry_in == cutover_backoff(1) - Millis{500});
  CHECK(rig.sink.has("TrafficShiftFailed"));
  rig.pass();
  CHECK(rig.provider.calls == before + 1);  // still backing off
  // The fleet status says why traffic waits.
  bool said = false;
  for (const auto& c : rig.fleet()["status"]["conditions"])
    if (c["type"] == "CutoverReady") said = c["status"] == "False" && c["reason"] == "ApplyFailed";
  CHECK(said);
  // It goes on once the provider answers, with every planned move once.
  const size_t from = rig.provider.moves.size();
  rig.until_finished("edge-r2");
  CHECK(phases(*rig.rollout("edge-r2")) == all_done(*rig.rollout("edge-r2")));
  CHECK(moves_of(rig.provider, from) == kTempFleetMoves);
  rig.exec->report_cutover_failures("ns/edge", s = Snapshot{});
  CHECK(s.cutover_failures == 0);
}

TEST_CASE("executor: a fenced replica makes no provider write", "[executor]") {
  Rig rig;
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  rig.may_act = false;
  const int calls = rig.provider.calls;
  for (int i = 0; i < 20; ++i) {
    rig.pass();
    rig.clock.advance(1s);
  }
  CHECK(rig.provider.calls == calls);
  Snapshot s;
  rig.exec->report_cutover_failures("ns/edge", s);
  CHECK(s.cutover_error.find("fenced") != std::string::npos);
  CHECK(rig.fleet()["status"]["phase"] == "Progressing");
}

// One fault at one kind of write, at its first, second or fourth call in the rollout: the
// rollout still ends Succeeded with every planned step once, and the provider saw exactly
// the planned moves.
TEST_CASE("executor: a whole rollout survives one failed or lost write of any kind",
          "[executor][faults]") {
  struct Case {
    const char* what;
    fake_api::Fault fault;
  };
  // {call, HTTP status (0: reset), applied, times, skip}
  const Case c = GENERATE(values<Case>({
      {"create refused", {"POST fleetrollouts", 500}},
      {"create made, answer lost", {"POST fleetrollouts", 0, true}},
      {"rollout status refused (every attempt)",
       {"PATCH fleetrollouts/edge-r2/status", 500, false, 5}},
      {"rollout status refused, 2nd write",
       {"PATCH fleetrollouts/edge-r2/status", 500, false, 5, 1}},
      {"rollout status refused, 4th write",
       {"PATCH fleetrollouts/edge-r2/status", 500, false, 5, 3}},
      {"rollout status made, answer lost", {"PATCH fleetrollouts/edge-r2/status", 0, true}},
      {"rollout status made, answer lost, 4th write",
       {"PATCH fleetrollouts/edge-r2/status", 0, true, 1, 3}},
      {"fleet status refused (every attempt)", {"PATCH proxyfleets/edge/status", 500, false, 5}},
      {"fleet status refused, 4th write", {"PATCH proxyfleets/edge/status", 500, false, 5, 3}},
      {"fleet status made, answer lost", {"PATCH proxyfleets/edge/status", 0, true}},
      {"fleet status made, answer lost, 4th write",
       {"PATCH proxyfleets/edge/status", 0, true, 1, 3}},
      {"Deployment apply refused", {"PATCH deployments/", 500, false, 5}},
      {"Deployment apply refused, 2nd", {"PATCH deployments/", 500, false, 5, 1}},
      {"Deployment apply made, answer lost", {"PATCH deployments/", 0, true}},
      {"Deployment apply made, answer lost, 2nd", {"PATCH deployments/", 0, true, 1, 1}},
      {"Service apply refused", {"PATCH services/", 500, false, 5}},
      {"Service apply refused, 2nd", {"PATCH services/", 500, false, 5, 1}},
      {"fleet delete refused", {"DELETE deployments/", 500, false, 5}},
      {"fleet delete made, answer lost", {"DELETE deployments/", 0, true}},
      {"throttled", {"PATCH", 429, false, 5}},
      {"throttled, 4th write", {"PATCH", 429, false, 5, 3}},
  }));
  CAPTURE(c.what);
  Rig rig;
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  const size_t from = rig.provider.moves.size();
  rig.api->faults.push_back(c.fault);
  const int failed = rig.until_finished("edge-r2");
  const json* fr = rig.rollout("edge-r2");
  REQUIRE(fr);
  CHECK((*fr)["status"]["phase"] == "Succeeded");
  CHECK(phases(*fr) == all_done(*fr));
  CHECK(moves_of(rig.provider, from) == kTempFleetMoves);
  // The fault fired.
  CHECK(rig.api->faults.empty());
  // A refused write fails its pass (retries exhausted); nothing is skipped because of it.
  if (!c.fault.applied) CHECK(failed >= 1);
  CHECK(rig.fleet()["status"]["phase"] == "Ready");
  CHECK(rig.fleet()["status"]["currentRevision"] == 2);
  CHECK(rig.api->find("deployments", "edge-temp") == nullptr);
}

TEST_CASE("executor: a provider move that fails once anywhere in a rollout is made once later",
          "[executor][faults]") {
  const std::string strategy = GENERATE(as<std::string>{}, "TempFleet", "BlueGreen");
  const int at = GENERATE(0, 1, 2, 3, 4);
  CAPTURE(strategy, at);
  Rig rig(strategy);
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  const size_t from = rig.provider.moves.size();
  const int start = rig.provider.calls;
  bool injected = false;
  for (int i = 0; i < 400; ++i) {
    if (!injected && rig.provider.calls == start + at) {
      rig.provider.failures = 1;
      injected = true;
    }
    rig.pass();
    rig.clock.advance(1s);
    const json* fr = rig.rollout("edge-r2");
    if (fr && fr->contains("status") && (*fr)["status"].value("phase", "") == "Succeeded") break;
  }
  const json* fr = rig.rollout("edge-r2");
  REQUIRE(fr);
  CHECK((*fr)["status"]["phase"] == "Succeeded");
  CHECK(phases(*fr) == all_done(*fr));
  const auto moves = moves_of(rig.provider, from);
  if (strategy == "TempFleet")
    CHECK(moves == kTempFleetMoves);
  else
    CHECK(moves.size() == 2);
}

#if INGRESSX_FAILPOINTS_ENABLED
// The executor's failpoints, armed to fail once each (an `after` point: the write was made,
// its answer lost), as tests/e2e/operator_faults.sh does on the cluster: each fires where
// the protocol says, and the rollout still ends Succeeded with every planned step once and
// exactly the planned moves. (The take-out of a deleted fleet has its own case below: after
// a failed fleet-delete.after the next pass sees the fleet gone and makes no take-out.)
TEST_CASE("executor: every write's failpoint fails once and the rollout still succeeds",
          "[executor][faults]") {
  const std::string strategy = GENERATE(as<std::string>{}, "TempFleet", "BlueGreen");
  CAPTURE(strategy);
  Rig rig(strategy);
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  const size_t from = rig.provider.moves.size();
  const std::vector<std::string> points = {
      "rollout-create.after", "rollout-status.before", "rollout-status.after",
      "fleet-status.before",  "fleet-status.after",    "fleet-apply.before",
      "fleet-apply.after",    "traffic.before",        "traffic.after",
      "fleet-delete.before",  "fleet-delete.after"};
  std::string spec;
  for (const auto& p : points) spec += (spec.empty() ? "" : ";") + p + "=error@1";
  failpoint::arm(spec);
  rig.until_finished("edge-r2");
  const auto fired = failpoint::history();
  failpoint::arm("");
  for (const auto& p : points) {
    INFO(p);
    CHECK(std::find(fired.begin(), fired.end(), p + "!") != fired.end());
  }
  const json* fr = rig.rollout("edge-r2");
  REQUIRE(fr);
  CHECK((*fr)["status"]["phase"] == "Succeeded");
  CHECK(phases(*fr) == all_done(*fr));
  const auto moves = moves_of(rig.provider, from);
  if (strategy == "TempFleet")
    CHECK(moves == kTempFleetMoves);
  else
    CHECK(moves == kBlueGreenMoves);
}

TEST_CASE("executor: a failed take-out of the deleted fleet is logged; the rollout goes on",
          "[executor][faults]") {
  Rig rig;
  rig.until_finished("edge-r1");
  rig.change_template("nginx:2");
  failpoint::arm("traffic-takeout.before=error@1");
  rig.until_finished("edge-r2");
  const auto fired = failpoint::history();
  failpoint::arm("");
  CHECK(std::find(fired.begin(), fired.end(), "traffic-takeout.before!") != fired.end());
  const json* fr = rig.rollout("edge-r2");
  REQUIRE(fr);
  CHECK((*fr)["status"]["phase"] == "Succeeded");
  CHECK(phases(*fr) == all_done(*fr));
}
#endif
