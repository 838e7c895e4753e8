// The preStop sequence with a FakeClock: no sleeping, no processes.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <deque>
#include <filesystem>
#include <fstream>

#include "ingressx/core/error.h"
#include "prestop.h"
#include "run_lock.h"

using namespace ingressx;
using namespace ingressx::hook;
using namespace std::chrono_literals;

namespace {

class FakeAdapter : public proxy::ProxyAdapter {
 public:
  std::string_view kind() const override { return "fake"; }
  std::vector<int> find_targets() const override { return {42}; }
  proxy::StopReport graceful_stop(const std::vector<int>& targets) override {
    ++stops;
    if (fail) throw Error(Error::Kind::kNotFound, "fake: no process");
    return {targets, "SIGQUIT"};
  }
  std::optional<int> metrics_connections() override { return std::nullopt; }
  int stops = 0;
  bool fail = false;
};

// Counts follow a script indexed by time since the start.
class ScriptedCounter : public ConnectionCounter {
 public:
  ScriptedCounter(Clock& clock, std::vector<std::pair<Clock::Duration, int>> script)
      : clock_(clock), start_(clock.now()), script_(std::move(script)) {}
  std::optional<int> count() override {
    int n = script_.front().second;
    for (auto [at, v] : script_) {
      if (clock_.now() - start_ >= at) n = v;
    }
    return n;
  }
  std::string source() const override { return "script"; }

 private:
  Clock& clock_;
  Clock::TimePoint start_;
  std::vector<std::pair<Clock::Duration, int>> script_;
};

class FakeLock : public RunLock {
 public:
  bool try_acquire() override { return !held_by_other; }
  bool wait_released(Clock& clock, Clock::Duration) override {
    clock.sleep_for(3s);
    return true;
  }
  bool signalled_before() const override { return signalled; }
  void mark_signalled() override { signalled = true; }
  bool held_by_other = false;
  bool signalled = false;
};

struct Capture : EventSink {
  void emit(const Event& e) override { events.push_back(e); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.name);
    return out;
  }
  const Event& last() const { return events.back(); }
  std::vector<Event> events;
};

struct Rig {
  FakeClock clock;
  FakeAdapter adapter;
  FakeLock lock;
  Capture events;
  proxy::DrainPolicy policy{5s, 1s, 30s, 0, 200ms};

  PrestopOutcome run(std::vector<std::pair<Clock::Duration, int>> script) {
    ScriptedCounter counter(clock, std::move(script));
    return run_prestop(policy, {42}, {adapter, counter, lock, clock, events});
  }
  double seconds() const {
    return std::chrono::duration<double>(clock.now() - Clock::TimePoint{}).count();
  }
};

}  // namespace

TEST_CASE("prestop: delay, signal once, drain on the count, exit") {
  Rig rig;
  auto out = rig.run({{0s, 50}, {8s, 10}, {9500ms, 0}});
  CHECK(out.signalled);
  CHECK(out.verdict == proxy::DrainVerdict::kDrained);
  CHECK(rig.adapter.stops == 1);
  CHECK(rig.lock.signalled);
  CHECK(rig.seconds() == Approx(9.6));  // 5 s delay, then polls every 200 ms
  CHECK(rig.events.names() == std::vector<std::string>{"propagation_delay", "signalled", "draining",
                                                       "draining", "draining", "drained"});
  CHECK(rig.events.events[1].fields["active"] == 50);
  CHECK(rig.events.last().fields["active"] == 0);
}

TEST_CASE("prestop: at the maximum drain it reports the connections still open") {
  Rig rig;
  rig.policy.max_drain = 10s;
  auto out = rig.run({{0s, 7}});
  CHECK(out.verdict == proxy::DrainVerdict::kMaxDrain);
  CHECK(out.still_open == 7);
  CHECK(rig.seconds() == Approx(15.0));
  CHECK(rig.events.last().name == "max_drain");
  CHECK(rig.events.last().level == Level::kWarn);
  CHECK(rig.events.last().fields["still_open"] == 7);
}

TEST_CASE("prestop: the minimum drain holds even when nothing is connected") {
  Rig rig;
  rig.policy.min_drain = 4s;
  rig.run({{0s, 0}});
  CHECK(rig.seconds() == Approx(9.0));
  CHECK(rig.events.last().name == "drained");
}

TEST_CASE("prestop: a second invocation waits for the first and does not signal") {
  Rig rig;
  rig.lock.held_by_other = true;
  auto out = rig.run({{0s, 3}});
  CHECK(out.waited_for_other);
  CHECK_FALSE(out.signalled);
  CHECK(rig.adapter.stops == 0);
  CHECK(rig.events.names() == std::vector<std::string>{"already_running", "other_finished"});
}

TEST_CASE("prestop: after an earlier invocation signalled, no delay and no second signal") {
  Rig rig;
  rig.lock.signalled = true;
  auto out = rig.run({{0s, 0}});
  CHECK_FALSE(out.signalled);
  CHECK(rig.adapter.stops == 0);
  CHECK(rig.seconds() == Approx(1.0));  // only the minimum drain
}

TEST_CASE("prestop: a failed signal is logged and the drain wait still runs") {
  Rig rig;
  rig.adapter.fail = true;
  auto out = rig.run({{0s, 2}, {7s, 0}});
  CHECK_FALSE(out.signalled);
  CHECK_FALSE(rig.lock.signalled);
  CHECK(rig.events.events[1].name == "signal_failed");
  CHECK(rig.events.events[1].level == Level::kError);
  CHECK(out.verdict == proxy::DrainVerdict::kDrained);
}

TEST_CASE("FileRunLock: one holder, and the marker survives the holder") {
  auto dir = std::filesystem::temp_directory_path() / ("ingressx-lock-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  FakeClock clock;
  {
    FileRunLock first(dir.string(), "nginx.1");
    FileRunLock second(dir.string(), "nginx.1");
    REQUIRE(first.try_acquire());
    CHECK_FALSE(second.try_acquire());
    CHECK_FALSE(second.wait_released(clock, 1s));  // the FakeClock runs out, no real wait
    first.mark_signalled();
  }
  FileRunLock third(dir.string(), "nginx.1");
  CHECK(third.try_acquire());
  CHECK(third.signalled_before());
  CHECK_THROWS_AS(FileRunLock("/nonexistent-dir", "x"), Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("run key: a restarted proxy with the same pid does not inherit the signalled marker",
          "[hook][faults]") {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("ingressx-runkey-" + std::to_string(getpid()));
  fs::create_directories(root / "1");
  auto write_stat = [&](const std::string& start) {
    std::ofstream(root / "1" / "stat")
        << "1 (nginx: master) S 0 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 " << start
        << " 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  };
  write_stat("4242");
  const std::string first = ingressx::hook::run_key("nginx", {1}, root.string());
  CHECK(first == "nginx.1.4242");
  write_stat("98765");  // the container restarted: pid 1 again, a later start time
  const std::string second = ingressx::hook::run_key("nginx", {1}, root.string());
  CHECK(second != first);
  // The marker of the first proxy does not make the second one skip its graceful stop.
  const std::string dir = (root / "run").string();
  fs::create_directories(dir);
  {
    ingressx::hook::FileRunLock lock(dir, first);
    lock.mark_signalled();
    CHECK(lock.signalled_before());
  }
  ingressx::hook::FileRunLock lock(dir, second);
  CHECK_FALSE(lock.signalled_before());
  CHECK(ingressx::hook::run_key("nginx", {}, root.string()) == "nginx.none");
  fs::remove_all(root);
}
