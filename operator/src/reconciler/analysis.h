#pragma once
// The analysis gate (analysis.cpp): HTTP probes through a fleet's own address and
// Prometheus queries, run in the background, one key at a time.

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ingressx/operator/cutover.h"
#include "ingressx/operator/engine.h"

namespace ingressx::op {

using json = nlohmann::json;

struct ProbeSpec {
  // A Prometheus query (alert-style: the probe fails while it returns a sample) when
  // prom_query is set; else an HTTP GET through the fleet's address.
  std::string prom_address, prom_query;
  std::string name, path, host, scheme = "http";
  int port = 80;
  int expect_status = 200;
  Millis max_latency{1000};
  double success_ratio = 1.0;
  Millis interval{1000};
  Millis window{30000};
};

std::vector<ProbeSpec> probes_from(const json& proxy_fleet, const json& service);

// Runs the analysis probes of one key in a background thread; one key at a time.
class AnalysisRunner {
 public:
  AnalysisRunner();
  ~AnalysisRunner();
  // Starts probing `address` for `key` (restarting when the key changes).
  void ensure(const std::string& key, const std::string& address, std::vector<ProbeSpec> probes);
  std::optional<AnalysisObservation> result(const std::string& key) const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ingressx::op
