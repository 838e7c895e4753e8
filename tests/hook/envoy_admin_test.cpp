// The Envoy adapter through the static hook, against captured admin answers served on
// loopback by envoy_admin.py (Envoy itself is not packaged in Debian).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "child.h"

namespace hooktest {
namespace {

using namespace std::chrono_literals;

struct FakeEnvoy {
  std::string dir = make_temp_dir("ingressx-envoytest-");
  int port = 0;
  std::unique_ptr<Child> server;

  FakeEnvoy() {
    set_stats("envoy_stats_active.txt");
    server = std::make_unique<Child>(
        std::vector<std::string>{INGRESSX_PYTHON3, INGRESSX_HOOK_TEST_DIR "/envoy_admin.py", dir},
        dir + "/server.log");
    for (int i = 0; i < 100 && port == 0; ++i) {
      port = std::atoi(read_text(dir + "/server.log").c_str());
      std::this_thread::sleep_for(50ms);
    }
    REQUIRE(port > 0);
  }
  ~FakeEnvoy() {
    server.reset();
    remove_tree(dir);
  }
  void set_stats(const std::string& sample) {
    write_text(dir + "/stats.txt.new",
               read_text(std::string(INGRESSX_TEST_DATA) + "/proxy/" + sample));
    std::rename((dir + "/stats.txt.new").c_str(), (dir + "/stats.txt").c_str());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

}  // namespace

TEST_CASE("envoy: connections sums the listeners' downstream_cx_active from admin /stats") {
  FakeEnvoy envoy;
  Child c({INGRESSX_HOOK_BINARY, "connections", "--proxy", "envoy", "--admin-url", envoy.url()},
          envoy.dir + "/connections.log");
  REQUIRE(c.wait(10s));
  INFO(c.log());
  REQUIRE(c.exit_code() == 0);
  auto j = nlohmann::json::parse(c.log());
  CHECK(j["active"] == 7);
}

TEST_CASE("envoy: prestop fails the health check, drains listeners once and waits for zero") {
  FakeEnvoy envoy;
  Child hook({INGRESSX_HOOK_BINARY, "prestop", "--proxy", "envoy", "--admin-url", envoy.url(),
              "--propagation-delay", "200ms", "--min-drain", "0s", "--max-drain", "10s",
              "--poll-interval", "100ms", "--log-format", "json", "--run-dir", envoy.dir},
             envoy.dir + "/hook.log");
  std::this_thread::sleep_for(1s);
  CHECK_FALSE(hook.exited());
  envoy.set_stats("envoy_stats_drained.txt");
  auto drained_at = std::chrono::steady_clock::now();
  REQUIRE(hook.wait(10s));
  INFO(hook.log());
  CHECK(hook.exit_code() == 0);
  CHECK(std::chrono::duration<double>(hook.exit_time() - drained_at).count() < 1.0);
  auto requests = read_text(envoy.dir + "/requests.log");
  CHECK(count_occurrences(requests, "POST /healthcheck/fail") == 1);
  CHECK(count_occurrences(requests, "POST /drain_listeners?graceful") == 1);
  CHECK(requests.find("POST /healthcheck/fail") < requests.find("POST /drain_listeners"));
  CHECK(hook.log().find("\"event\":\"drained\"") != std::string::npos);
}

TEST_CASE("envoy: a bad drain flag is reported and replaced, and the graceful stop still runs") {
  // --poll-interval 0s (once accepted by the CRD) used to end the hook with exit 2 before
  // the delay and the graceful stop: every pod stopped undrained.
  FakeEnvoy envoy;
  Child hook({INGRESSX_HOOK_BINARY, "prestop", "--proxy", "envoy", "--admin-url", envoy.url(),
              "--propagation-delay", "200ms", "--min-drain", "0s", "--max-drain", "10s",
              "--poll-interval", "0s", "--log-format", "json", "--run-dir", envoy.dir},
             envoy.dir + "/hook.log");
  std::this_thread::sleep_for(1s);
  CHECK_FALSE(hook.exited());
  envoy.set_stats("envoy_stats_drained.txt");
  REQUIRE(hook.wait(10s));
  INFO(hook.log());
  CHECK(hook.exit_code() == 0);
  auto requests = read_text(envoy.dir + "/requests.log");
  CHECK(count_occurrences(requests, "POST /healthcheck/fail") == 1);
  CHECK(count_occurrences(requests, "POST /drain_listeners?graceful") == 1);
  CHECK(hook.log().find("\"event\":\"bad_flag\"") != std::string::npos);
  CHECK(hook.log().find("--poll-interval") != std::string::npos);
  CHECK(hook.log().find("\"event\":\"drained\"") != std::string::npos);
}

}  // namespace hooktest
