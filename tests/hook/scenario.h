#pragma once
// One preStop scenario against a real proxy: 50 long-lived streams, steady short requests
// and slow requests while one or more hooks (ours or the seed's shell hook) run.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "load.h"
#include "proxies.h"

namespace hooktest {

struct ScenarioSpec {
  double delay_s = 1.0;  // propagation delay
  std::string max_drain = "20s";
  int invocations = 1;  // concurrent hook invocations
  bool shell = false;   // the seed's shell hook instead of ingressx-hook
  int slow = 5;
  int streams = 50;
  bool sigterm_after = false;  // after the hook: SIGTERM to the proxy, as the kubelet does
};

struct HookRun {
  int exit_code = -1;
  SteadyTime exit{};
  std::vector<nlohmann::json> events;  // ingressx-hook --log-format json lines
  std::string log;
};

struct ScenarioResult {
  SteadyTime hook_start{};
  std::vector<HookRun> hooks;
  std::vector<RequestRecord> steady, slow, streams;
  SteadyTime last_close{};  // the last slow request or stream to end
  int streams_completed = 0, streams_cut = 0;
};

ScenarioResult run_scenario(ProxyUnderTest& proxy, const ScenarioSpec& spec,
                            const std::string& dir);

// Events named `name` across the invocations' logs.
std::vector<nlohmann::json> events_named(const ScenarioResult& r, const std::string& name);

double seconds(SteadyTime from, SteadyTime to);

// Requests that started in [from, to) and failed.
int failures_between(const std::vector<RequestRecord>& rs, SteadyTime from, SteadyTime to,
                     int* total);

}  // namespace hooktest
