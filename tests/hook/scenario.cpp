#include "scenario.h"

#include <algorithm>
#include <csignal>
#include <sstream>
#include <thread>

namespace hooktest {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> hook_argv(const ProxyUnderTest& proxy, const ScenarioSpec& spec,
                                   const std::string& dir) {
  if (spec.shell) return {"/bin/sh", "-c", proxy.shell_hook(std::to_string(spec.delay_s))};
  std::vector<std::string> argv = {
      INGRESSX_HOOK_BINARY,  "prestop",
      "--propagation-delay", std::to_string(static_cast<int>(spec.delay_s * 1000)) + "ms",
      "--min-drain",         "0s",
      "--max-drain",         spec.max_drain,
      "--drained-at",        "0",
      "--poll-interval",     "100ms",
      "--log-format",        "json",
      "--run-dir",           dir};
  auto extra = proxy.hook_args();
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

HookRun collect(Child& c) {
  HookRun h{c.exit_code(), c.exit_time(), {}, c.log()};
  std::istringstream in(h.log);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) h.events.push_back(j);
  }
  return h;
}

void summarize_streams(ScenarioResult& r) {
  for (const auto& s : r.streams) {
    (s.ok ? r.streams_completed : r.streams_cut)++;
    if (s.ok) r.last_close = std::max(r.last_close, s.end);
  }
  for (const auto& s : r.slow) {
    if (s.ok) r.last_close = std::max(r.last_close, s.end);
  }
}

}  // namespace

ScenarioResult run_scenario(ProxyUnderTest& proxy, const ScenarioSpec& spec,
                            const std::string& dir) {
  ScenarioResult r;
  Load load(proxy.port());
  load.start_requests("/stream.bin", spec.streams);
  load.start_steady("/fast", 20ms);
  std::this_thread::sleep_for(500ms);
  r.hook_start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<Child>> hooks;
  for (int i = 0; i < spec.invocations; ++i) {
    hooks.push_back(std::make_unique<Child>(hook_argv(proxy, spec, dir),
                                            dir + "/hook" + std::to_string(i) + ".log"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(spec.delay_s * 500)));
  load.start_requests("/slow.bin", spec.slow);  // in flight when the signal goes out
  for (auto& h : hooks) h->wait(120s);
  load.stop_steady();
  if (spec.sigterm_after) {
    proxy.process().signal(SIGTERM);
    proxy.process().wait(5s);
  }
  std::this_thread::sleep_for(200ms);
  load.stop_all();
  load.join();
  for (auto& h : hooks) r.hooks.push_back(collect(*h));
  r.steady = load.records("/fast");
  r.slow = load.records("/slow.bin");
  r.streams = load.records("/stream.bin");
  summarize_streams(r);
  return r;
}

std::vector<nlohmann::json> events_named(const ScenarioResult& r, const std::string& name) {
  std::vector<nlohmann::json> out;
  for (const auto& h : r.hooks) {
    for (const auto& e : h.events) {
      if (e.value("event", "") == name) out.push_back(e);
    }
  }
  return out;
}

double seconds(SteadyTime from, SteadyTime to) {
  return std::chrono::duration<double>(to - from).count();
}

int failures_between(const std::vector<RequestRecord>& rs, SteadyTime from, SteadyTime to,
                     int* total) {
  int failed = 0;
  *total = 0;
  for (const auto& q : rs) {
    if (q.start < from || q.start >= to) continue;
    ++*total;
    if (!q.ok) ++failed;
  }
  return failed;
}

}  // namespace hooktest
