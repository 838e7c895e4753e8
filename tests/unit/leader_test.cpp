#include "ingressx/core/leader.h"

#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"

using ingressx::Error;
using ingressx::FakeClock;
using ingressx::LeaderCallbacks;
using ingressx::LeaderElectionConfig;
using ingressx::LeaderElector;
using ingressx::LeaseStore;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// An apiserver's view of one Lease: resourceVersion bumps on every write, and a write with a
// stale resourceVersion is a 409 Conflict.
class FakeLeaseStore final : public LeaseStore {
 public:
  std::optional<json> lease;
  int64_t rv = 0;
  int writes = 0;
  bool fail = false;                   // every call fails as if the server were unreachable
  std::function<void()> before_write;  // one-shot, runs at the start of the next write
  std::function<void()> on_get;        // runs at the start of every get

  std::optional<json> get() override {
    if (on_get) on_get();
    check();
    return lease;
  }
  json create(const json& l) override {
    check();
    run_hook();
    if (lease) throw Error(409, "AlreadyExists", "leases \"leader\" already exists");
    return store(l);
  }
  json update(const json& l) override {
    check();
    run_hook();
    if (!lease) throw Error(404, "NotFound", "leases \"leader\" not found");
    if (l["metadata"].value("resourceVersion", "") != (*lease)["metadata"]["resourceVersion"]) {
      throw Error(409, "Conflict", "the object has been modified");
    }
    return store(l);
  }

  // Writes as another process would (e.g. a leader elsewhere renewing).
  void put_spec(const json& spec) {
    json l = lease.value_or(json{{"metadata", {{"name", "leader"}, {"namespace", "ns"}}}});
    l["spec"] = spec;
    store(l);
  }
  json spec() const { return lease ? (*lease)["spec"] : json(); }
  std::string holder() const { return spec().value("holderIdentity", ""); }

 private:
  void check() const {
    if (fail) throw Error(Error::Kind::kTransport, "https://apiserver: connection refused");
  }
  void run_hook() {
    if (!before_write) return;
    auto hook = std::move(before_write);
    before_write = nullptr;
    hook();
  }
  json store(json l) {
    l["metadata"]["resourceVersion"] = std::to_string(++rv);
    lease = l;
    ++writes;
    return l;
  }
};

LeaderElectionConfig config(const std::string& identity) {
  LeaderElectionConfig c;
  c.lease_namespace = "ns";
  c.lease_name = "leader";
  c.identity = identity;
  return c;  // client-go defaults: 15 s / 10 s / 2 s
}

std::chrono::milliseconds elapsed(const FakeClock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() -
                                                               FakeClock::TimePoint{});
}

}  // namespace

TEST_CASE("a single candidate acquires and renews the lease", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  LeaderElector a(store, config("a"), clock);

  REQUIRE(a.try_acquire_or_renew());
  CHECK(a.is_leader());
  CHECK(a.observed_holder() == "a");
  json spec = store.spec();
  CHECK(spec["holderIdentity"] == "a");
  CHECK(spec["leaseDurationSeconds"] == 15);
  CHECK(spec["leaseTransitions"] == 0);
  CHECK(spec["acquireTime"] == spec["renewTime"]);
  CHECK((*store.lease)["kind"] == "Lease");

  clock.advance(2s);
  REQUIRE(a.try_acquire_or_renew());
  json renewed = store.spec();
  CHECK(renewed["acquireTime"] == spec["acquireTime"]);
  CHECK(renewed["renewTime"] != spec["renewTime"]);
  CHECK(renewed["leaseTransitions"] == 0);
}

TEST_CASE("a fresh lease is respected until it goes unrenewed for lease_duration", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  LeaderElector a(store, config("a"), clock);
  LeaderElector b(store, config("b"), clock);
  REQUIRE(a.try_acquire_or_renew());

  CHECK_FALSE(b.try_acquire_or_renew());
  CHECK(b.observed_holder() == "a");
  CHECK_FALSE(b.is_leader());

  SECTION("taken over once a has not renewed for 15 s as seen by b") {
    clock.advance(14s);
    CHECK_FALSE(b.try_acquire_or_renew());
    clock.advance(1s);
    REQUIRE(b.try_acquire_or_renew());
    CHECK(store.holder() == "b");
    CHECK(store.spec()["leaseTransitions"] == 1);
    CHECK(store.spec()["acquireTime"] == store.spec()["renewTime"]);
    // The old leader notices on its next attempt.
    CHECK_FALSE(a.try_acquire_or_renew());
    CHECK_FALSE(a.is_leader());
    CHECK(a.observed_holder() == "b");
  }
  SECTION("each renewal restarts b's local expiry timer") {
    clock.advance(10s);
    REQUIRE(a.try_acquire_or_renew());
    clock.advance(10s);
    CHECK_FALSE(b.try_acquire_or_renew());  // sees the renewal now, at t=20 s
    clock.advance(14s);
    CHECK_FALSE(b.try_acquire_or_renew());
    clock.advance(1s);
    CHECK(b.try_acquire_or_renew());
  }
}

TEST_CASE("two candidates racing with the same resourceVersion: exactly one wins", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  LeaderElector a(store, config("a"), clock);
  LeaderElector b(store, config("b"), clock);
  bool a_won = false;

  SECTION("both take over an expired lease") {
    store.put_spec(
        {{"holderIdentity", "old"}, {"leaseDurationSeconds", 15}, {"leaseTransitions", 4}});
    CHECK_FALSE(a.try_acquire_or_renew());
    CHECK_FALSE(b.try_acquire_or_renew());
    clock.advance(16s);
    // a writes between b's read and b's write, so b's write carries a stale resourceVersion.
    store.before_write = [&] { a_won = a.try_acquire_or_renew(); };
    const bool b_won = b.try_acquire_or_renew();
    CHECK(a_won);
    CHECK_FALSE(b_won);
    CHECK(store.holder() == "a");
    CHECK(store.spec()["leaseTransitions"] == 5);
    CHECK_FALSE(b.is_leader());
  }
  SECTION("both create a missing lease") {
    store.before_write = [&] { a_won = a.try_acquire_or_renew(); };
    const bool b_won = b.try_acquire_or_renew();
    CHECK(a_won);
    CHECK_FALSE(b_won);
    CHECK(store.holder() == "a");
    CHECK_FALSE(b.try_acquire_or_renew());  // and b respects it afterwards
  }
}

TEST_CASE("release clears the holder so another candidate acquires at once", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  LeaderElector a(store, config("a"), clock);
  LeaderElector b(store, config("b"), clock);
  REQUIRE(a.try_acquire_or_renew());
  CHECK_FALSE(b.try_acquire_or_renew());

  a.release();
  CHECK_FALSE(a.is_leader());
  CHECK(store.holder() == "");
  CHECK(store.spec()["leaseDurationSeconds"] == 1);

  REQUIRE(b.try_acquire_or_renew());
  CHECK(store.holder() == "b");
  CHECK(store.spec()["leaseTransitions"] == 1);

  // Releasing when not the leader writes nothing.
  const int writes = store.writes;
  a.release();
  CHECK(store.writes == writes);
}

TEST_CASE("leaseTransitions counts every change of holder", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  LeaderElector a(store, config("a"), clock);
  LeaderElector b(store, config("b"), clock);
  REQUIRE(a.try_acquire_or_renew());
  REQUIRE(a.try_acquire_or_renew());
  CHECK(store.spec()["leaseTransitions"] == 0);
  CHECK_FALSE(b.try_acquire_or_renew());
  clock.advance(15s);
  REQUIRE(b.try_acquire_or_renew());
  CHECK(store.spec()["leaseTransitions"] == 1);
  CHECK_FALSE(a.try_acquire_or_renew());
  clock.advance(15s);
  REQUIRE(a.try_acquire_or_renew());
  CHECK(store.spec()["leaseTransitions"] == 2);
}

TEST_CASE("a restarted holder with the same identity resumes its lease", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  LeaderElector before(store, config("a"), clock);
  REQUIRE(before.try_acquire_or_renew());
  const json acquired = store.spec();
  clock.advance(3s);
  LeaderElector after(store, config("a"), clock);
  REQUIRE(after.try_acquire_or_renew());
  CHECK(store.spec()["acquireTime"] == acquired["acquireTime"]);
  CHECK(store.spec()["leaseTransitions"] == 0);
}

TEST_CASE("store failures make an attempt fail without throwing", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  LeaderElector a(store, config("a"), clock);
  store.fail = true;
  CHECK_FALSE(a.try_acquire_or_renew());
  store.fail = false;
  CHECK(a.try_acquire_or_renew());
}

TEST_CASE("config is validated like client-go", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  auto invalid = [&](const std::function<void(LeaderElectionConfig&)>& change) {
    LeaderElectionConfig c = config("a");
    change(c);
    try {
      LeaderElector e(store, c, clock);
    } catch (const Error& e) {
      return e.kind() == Error::Kind::kInvalidInput;
    }
    return false;
  };
  CHECK_FALSE(invalid([](LeaderElectionConfig&) {}));
  CHECK(invalid([](auto& c) { c.lease_duration = 10s; }));     // == renew_deadline
  CHECK(invalid([](auto& c) { c.renew_deadline = 2400ms; }));  // == 1.2 * retry_period
  CHECK_FALSE(invalid([](auto& c) { c.renew_deadline = 2401ms; }));
  CHECK(invalid([](auto& c) { c.retry_period = 0ms; }));
  CHECK(invalid([](auto& c) { c.lease_duration = -1ms; }));
  CHECK(invalid([](auto& c) { c.identity = ""; }));
  CHECK(invalid([](auto& c) { c.lease_name = ""; }));
  CHECK(invalid([](auto& c) { c.lease_namespace = ""; }));
}

namespace {

struct Recorder {
  int started = 0, stopped = 0;
  std::vector<std::string> leaders;
  std::chrono::milliseconds started_at{0};
  LeaderCallbacks callbacks(const FakeClock& clock) {
    return {[this, &clock] {
              ++started;
              started_at = elapsed(clock);
            },
            [this] { ++stopped; }, [this](const std::string& id) { leaders.push_back(id); }};
  }
};

}  // namespace

TEST_CASE("run leads, renews every retry period and releases on stop", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  LeaderElector a(store, config("a"), clock);
  Recorder rec;
  // Stop after the create plus four renewals.
  a.run(rec.callbacks(clock), [&] { return store.writes >= 5; });
  CHECK(rec.started == 1);
  CHECK(rec.stopped == 1);
  CHECK(rec.leaders == std::vector<std::string>{"a"});
  CHECK(rec.started_at == 0ms);
  CHECK(elapsed(clock) == 8s);  // renewals at 2, 4, 6, 8 s; stop seen at once
  CHECK(store.holder() == "");  // released
  CHECK(store.writes == 6);
  CHECK_FALSE(a.is_leader());
}

TEST_CASE("run waits while another leader keeps renewing, then takes over", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  int renewals = 0;
  store.on_get = [&] {
    if (clock.now() < FakeClock::TimePoint{} + 30s) {
      store.put_spec({{"holderIdentity", "c"},
                      {"leaseDurationSeconds", 15},
                      {"renewTime", std::to_string(++renewals)}});
    }
  };
  LeaderElector b(store, config("b"), clock);
  Recorder rec;
  b.run(rec.callbacks(clock), [&] { return rec.started > 0; });
  CHECK(rec.started == 1);
  CHECK(rec.leaders == std::vector<std::string>{"c", "b"});
  // c's last renewal was seen in [25.6 s, 30 s); b waits 15 s, plus at most one jittered retry.
  CHECK(rec.started_at >= 40600ms);
  CHECK(rec.started_at < 49400ms);
  CHECK(store.spec()["leaseTransitions"] == 1);
}

TEST_CASE("a leader that cannot renew within renew_deadline steps down", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  LeaderElectionConfig cfg = config("a");
  LeaderElector a(store, cfg, clock);
  Recorder rec;
  auto callbacks = rec.callbacks(clock);
  callbacks.on_started_leading = [&] {
    ++rec.started;
    rec.started_at = elapsed(clock);
    store.fail = true;  // the API goes away right after we win
  };
  a.run(callbacks, [&] { return elapsed(clock) > 60s; });
  CHECK(rec.started == 1);
  CHECK(rec.stopped == 1);
  CHECK_FALSE(a.is_leader());
  // Last renewal at 0 s; retries from 2 s; gives up at 2 s + renew_deadline, well before
  // another candidate could take over at lease_duration.
  CHECK(elapsed(clock) == 12s);
  store.fail = false;
  CHECK(store.holder() == "a");  // not released: it could not reach the server
}

TEST_CASE("a leader that sees another holder steps down at once", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  LeaderElector a(store, config("a"), clock);
  Recorder rec;
  auto callbacks = rec.callbacks(clock);
  callbacks.on_started_leading = [&] {
    ++rec.started;
    store.put_spec({{"holderIdentity", "intruder"}, {"leaseDurationSeconds", 15}});
  };
  a.run(callbacks, [&] { return elapsed(clock) > 60s; });
  CHECK(rec.stopped == 1);
  CHECK(elapsed(clock) == 2s);
  CHECK(rec.leaders == std::vector<std::string>{"a", "intruder"});
  CHECK(store.holder() == "intruder");
}

TEST_CASE("run returns without callbacks when stopped while campaigning", "[leader]") {
  FakeClock clock;
  FakeLeaseStore store;
  store.put_spec({{"holderIdentity", "c"}, {"leaseDurationSeconds", 15}});
  store.on_get = [&] {
    store.put_spec({{"holderIdentity", "c"},
                    {"leaseDurationSeconds", 15},
                    {"renewTime", std::to_string(store.rv)}});
  };
  LeaderElector b(store, config("b"), clock);
  Recorder rec;
  b.run(rec.callbacks(clock), [&] { return elapsed(clock) >= 20s; });
  CHECK(rec.started == 0);
  CHECK(rec.stopped == 0);
  CHECK(store.holder() == "c");
  CHECK(elapsed(clock) < 20s + 100ms);  // stop is seen within one slice
}

TEST_CASE("fencing: a leader may act only within renew_deadline of its last renewal's start",
          "[leader][faults]") {
  FakeClock clock;
  FakeLeaseStore store;
  LeaderElector a(store, config("a"), clock);
  CHECK_FALSE(a.may_act());
  REQUIRE(a.try_acquire_or_renew());
  CHECK(a.may_act());
  clock.advance(9s);
  CHECK(a.may_act());
  // The apiserver is unreachable: no renewal succeeds; acting stops at renew_deadline
  // (10 s), before another candidate may take the Lease (15 s after it last saw it change).
  store.fail = true;
  CHECK_FALSE(a.try_acquire_or_renew());
  clock.advance(1s);
  CHECK_FALSE(a.may_act());
  LeaderElector b(store, config("b"), clock);
  store.fail = false;
  CHECK_FALSE(b.try_acquire_or_renew());  // b first sees the record now
  clock.advance(14s);
  CHECK_FALSE(b.try_acquire_or_renew());
  clock.advance(2s);
  CHECK(b.try_acquire_or_renew());
  CHECK(b.may_act());
  CHECK_FALSE(a.may_act());
}
