// The preStop hook against real nginx and HAProxy processes with real traffic.
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>

#include "scenario.h"

namespace hooktest {
namespace {

using Factory = std::function<std::unique_ptr<ProxyUnderTest>(const std::string&, const Content&)>;

struct TempDir {
  std::string path = make_temp_dir("ingressx-hooktest-");
  ~TempDir() { remove_tree(path); }
};

void figure(const std::string& line) {
  std::cout << "FIGURE " << line << "\n";
  std::ofstream(INGRESSX_HOOK_FIGURES, std::ios::app) << line << "\n";
}

// Requests that arrived during the propagation delay (with 100 ms before the signal left
// out: a connection still in the accept queue when the listener closes is reset).
void require_delay_served(const ScenarioResult& r, double delay_s) {
  int total = 0;
  auto until = r.hook_start + std::chrono::milliseconds(static_cast<int>(delay_s * 1000) - 100);
  int failed = failures_between(r.steady, SteadyTime{}, until, &total);
  INFO("steady requests before the signal: " << total << ", failed " << failed);
  CHECK(total >= 10);
  CHECK(failed == 0);
}

void drain_case(const Factory& start, const std::string& name) {
  TempDir dir;
  auto proxy = start(dir.path, Content{});
  ScenarioSpec spec;
  auto r = run_scenario(*proxy, spec, dir.path);
  REQUIRE(r.hooks.size() == 1);
  INFO(r.hooks[0].log);
  CHECK(r.hooks[0].exit_code == 0);
  require_delay_served(r, spec.delay_s);
  for (const auto& s : r.slow) CHECK(s.ok);
  CHECK(r.slow.size() == 5);
  CHECK(r.streams_completed == 50);
  CHECK(events_named(r, "signalled").size() == 1);
  CHECK(events_named(r, "drained").size() == 1);
  double after = seconds(r.last_close, r.hooks[0].exit);
  CHECK(after < 1.0);
  CHECK(after > -0.1);
  figure(name + " ingressx-hook: last close -> hook exit " + std::to_string(after) +
         " s; streams completed " + std::to_string(r.streams_completed) + "/50, cut " +
         std::to_string(r.streams_cut));
}

void max_drain_case(const Factory& start, const std::string& name) {
  TempDir dir;
  Content long_streams;
  long_streams.stream_bytes = 1024 * 1024;  // about 64 s at 16 KB/s
  auto proxy = start(dir.path, long_streams);
  ScenarioSpec spec;
  spec.delay_s = 0.5;
  spec.max_drain = "2s";
  spec.slow = 0;
  spec.sigterm_after = true;
  auto r = run_scenario(*proxy, spec, dir.path);
  REQUIRE(r.hooks.size() == 1);
  INFO(r.hooks[0].log);
  CHECK(r.hooks[0].exit_code == 0);
  auto max = events_named(r, "max_drain");
  REQUIRE(max.size() == 1);
  CHECK(max[0]["still_open"] == 50);
  double took = seconds(r.hook_start, r.hooks[0].exit);
  CHECK(took > 2.4);
  CHECK(took < 3.5);
  figure(name + " ingressx-hook at max drain (2 s): exited after " + std::to_string(took) +
         " s reporting still_open=" + max[0]["still_open"].dump() +
         "; after the kubelet's SIGTERM streams cut " + std::to_string(r.streams_cut) + "/50");
}

void concurrent_case(const Factory& start) {
  TempDir dir;
  auto proxy = start(dir.path, Content{});
  ScenarioSpec spec;
  spec.invocations = 2;
  spec.slow = 0;
  auto r = run_scenario(*proxy, spec, dir.path);
  REQUIRE(r.hooks.size() == 2);
  INFO(r.hooks[0].log << r.hooks[1].log);
  CHECK(r.hooks[0].exit_code == 0);
  CHECK(r.hooks[1].exit_code == 0);
  CHECK(events_named(r, "signalled").size() == 1);
  CHECK(events_named(r, "already_running").size() == 1);
  if (proxy->quit_signals_logged() >= 0) CHECK(proxy->quit_signals_logged() == 1);
  CHECK(std::abs(seconds(r.hooks[0].exit, r.hooks[1].exit)) < 0.5);
  CHECK(r.streams_completed == 50);
}

void shell_case(const Factory& start, const std::string& name) {
  TempDir dir;
  auto proxy = start(dir.path, Content{});
  ScenarioSpec spec;
  spec.shell = true;
  auto r = run_scenario(*proxy, spec, dir.path);
  REQUIRE(r.hooks.size() == 1);
  int total = 0;
  auto until = r.hook_start + std::chrono::milliseconds(900);
  int failed = failures_between(r.steady, SteadyTime{}, until, &total);
  figure(name + " seed shell hook: last close -> hook exit " +
         std::to_string(seconds(r.last_close, r.hooks[0].exit)) + " s; proxy exited " +
         std::to_string(seconds(r.last_close, proxy->process().exit_time())) +
         " s after the last close; streams completed " + std::to_string(r.streams_completed) +
         "/50, cut " + std::to_string(r.streams_cut) + "; failed requests during the delay " +
         std::to_string(failed) + "/" + std::to_string(total) + "; no maximum drain");
  CHECK(r.hooks[0].exit_code == 0);
}

int count_connections(ProxyUnderTest& proxy, const std::string& dir,
                      std::vector<std::string> extra) {
  std::vector<std::string> argv = {
      INGRESSX_HOOK_BINARY, "connections", "--proxy",
      proxy.name(),         "--ports",     std::to_string(proxy.port())};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Child c(argv, dir + "/connections.log");
  REQUIRE(c.wait(std::chrono::seconds(10)));
  INFO(c.log());
  REQUIRE(c.exit_code() == 0);
  return nlohmann::json::parse(c.log())["active"].get<int>();
}

// /proc/net/tcp and the proxy's own metrics agree on 50 open streams.
void counts_case(const Factory& start) {
  TempDir dir;
  Content long_streams;
  long_streams.stream_bytes = 1024 * 1024;
  auto proxy = start(dir.path, long_streams);
  Load load(proxy->port());
  load.start_requests("/stream.bin", 50);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  CHECK(count_connections(*proxy, dir.path, {"--count-from", "proc"}) == 50);
  auto metrics = proxy->metrics_args();
  metrics.insert(metrics.end(), {"--count-from", "metrics"});
  CHECK(count_connections(*proxy, dir.path, metrics) == 50);
  load.stop_all();
}

const Factory kNginx = start_nginx;
const Factory kHaproxy = start_haproxy;

}  // namespace

TEST_CASE("nginx: drains without failed requests and exits within 1 s of the last close") {
  drain_case(kNginx, "nginx");
}
TEST_CASE("nginx: exits at the maximum drain and reports still-open connections") {
  max_drain_case(kNginx, "nginx");
}
TEST_CASE("nginx: two concurrent invocations signal once") {
  concurrent_case(kNginx);
}
TEST_CASE("nginx: the seed's shell hook for comparison") {
  shell_case(kNginx, "nginx");
}

TEST_CASE("haproxy: drains without failed requests and exits within 1 s of the last close") {
  drain_case(kHaproxy, "haproxy");
}
TEST_CASE("haproxy: exits at the maximum drain and reports still-open connections") {
  max_drain_case(kHaproxy, "haproxy");
}
TEST_CASE("haproxy: two concurrent invocations signal once") {
  concurrent_case(kHaproxy);
}
TEST_CASE("haproxy: the seed's shell hook for comparison") {
  shell_case(kHaproxy, "haproxy");
}

TEST_CASE("nginx: /proc and stub_status agree on open connections") {
  counts_case(kNginx);
}
TEST_CASE("haproxy: /proc and show info agree on open connections") {
  counts_case(kHaproxy);
}

}  // namespace hooktest
