// Lease leader election between two real processes, and the events recorder, against the
// real apiserver.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "api_fixtures.h"
#include "controlplane.h"
#include "ingressx/core/client.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/events.h"
#include "ingressx/core/kubeconfig.h"

using namespace ingressx;
using testing::admin;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A child process that is killed (by its PID) when this goes out of scope.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Child() { kill(SIGKILL); }
  void kill(int sig) {
    if (pid_ > 0) {
      ::kill(pid_, sig);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
};

int count_lines(const fs::path& p, const std::string& what) {
  std::ifstream in(p);
  int n = 0;
  for (std::string l; std::getline(in, l);)
    if (l == what) ++n;
  return n;
}

}  // namespace

TEST_CASE("two electors on one Lease: one leads, the other takes over after a kill",
          "[integration][leader]") {
  fs::path dir = fs::temp_directory_path() / ("ingressx-elect-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string lease = "elect-" + std::to_string(::getpid());
  std::string bin = std::string(INGRESSX_BINARY_DIR) + "/test_elector";
  const auto& kc = testing::control_plane().kubeconfig;

  auto a = std::make_unique<Child>(
      std::vector<std::string>{bin, kc, "default", lease, "a", (dir / "a").string()});
  // Let a win first so the roles are known.
  for (int i = 0; i < 100 && count_lines(dir / "a", "leading") == 0; ++i)
    std::this_thread::sleep_for(100ms);
  REQUIRE(count_lines(dir / "a", "leading") == 1);
  Child b({bin, kc, "default", lease, "b", (dir / "b").string()});

  // For longer than a lease duration, b must not lead while a renews.
  std::this_thread::sleep_for(17s);
  CHECK(count_lines(dir / "b", "started") == 1);
  CHECK(count_lines(dir / "b", "leading") == 0);
  json held = admin().get(refs::kLeases, "default", lease);
  CHECK(held["spec"]["holderIdentity"] == "a");
  CHECK(held["spec"]["leaseDurationSeconds"] == 15);

  auto killed = std::chrono::steady_clock::now();
  a->kill(SIGKILL);
  while (count_lines(dir / "b", "leading") == 0 && std::chrono::steady_clock::now() - killed < 40s)
    std::this_thread::sleep_for(100ms);
  auto takeover = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  WARN("takeover after SIGKILL of the leader: " << takeover << " s");
  REQUIRE(count_lines(dir / "b", "leading") == 1);
  // b takes over once the lease duration (15 s) has passed since it last *observed* a
  // renewal; observing and retrying each wait at most one jittered retry period
  // (2 s * 2.2, client-go's JitterUntil), so the bound after the kill is 15 + 2 * 4.4 s.
  CHECK(takeover <= 15.0 + 2 * 4.4 + 1.0);
  json after = admin().get(refs::kLeases, "default", lease);
  CHECK(after["spec"]["holderIdentity"] == "b");
  CHECK(after["spec"]["leaseTransitions"].get<int>() >= 1);

  b.kill(SIGTERM);  // releases on shutdown
  json released = admin().get(refs::kLeases, "default", lease);
  CHECK(released["spec"].value("holderIdentity", "") == "");
  admin().remove(refs::kLeases, "default", lease);
  fs::remove_all(dir);
}

TEST_CASE("the events recorder aggregates repeats into a series", "[integration][events]") {
  auto& c = admin();
  std::string name = "ev-" + std::to_string(::getpid());
  json cm = c.create(refs::kConfigMaps, "default",
                     {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}});
  cm["apiVersion"] = "v1";
  cm["kind"] = "ConfigMap";
  auto sink = make_event_sink(c);
  RealClock clock;
  EventRecorder rec(*sink, "ingressx.io/test", "test-1", clock);
  for (int i = 0; i < 3; ++i)
    rec.record(cm, "Normal", "TrafficShifted", "Shift", "moved 50% to temp");
  rec.record(cm, "Warning", "DrainTimeout", "Drain", "3 connections still open");

  ListOptions o;
  o.field_selector = "regarding.name=" + name;
  json events = c.list(refs::kEvents, "default", o)["items"];
  REQUIRE(events.size() == 2);
  for (auto& e : events) {
    if (e["reason"] == "TrafficShifted") {
      CHECK(e["series"]["count"] == 3);
      CHECK(e["reportingController"] == "ingressx.io/test");
      CHECK(e["regarding"]["uid"] == cm["metadata"]["uid"]);
    } else {
      CHECK(e["reason"] == "DrainTimeout");
      CHECK(e["type"] == "Warning");
      CHECK_FALSE(e.contains("series"));
    }
  }
  CHECK_THROWS_AS(rec.record(cm, "Normal", "not camel", "x", "y"), Error);
  c.remove(refs::kConfigMaps, "default", name);
}
