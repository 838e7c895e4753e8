#pragma once
// Parsers for the metrics that proxies expose about their connections. Every parser
// throws Error(kDecode) naming `source` (a URL or file), the line and what was expected;
// none of them crashes on arbitrary input.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ingressx::proxy {

// nginx `stub_status` page.
struct StubStatus {
  long long active = 0;
  long long accepts = 0;
  long long handled = 0;
  long long requests = 0;
  long long reading = 0;
  long long writing = 0;
  long long waiting = 0;
};
StubStatus parse_stub_status(std::string_view text, const std::string& source);

// One sample of the Prometheus text exposition format (version 0.0.4).
struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
std::vector<PromSample> parse_prometheus(std::string_view text, const std::string& source);

// Sum of the samples called `name` whose labels include every pair in `match`; nullopt
// when no sample matches.
std::optional<double> sum_samples(const std::vector<PromSample>& samples, std::string_view name,
                                  const std::map<std::string, std::string>& match = {});

// HAProxy `show info`: "Name: value" lines.
std::map<std::string, std::string> parse_haproxy_info(std::string_view text,
                                                      const std::string& source);

// HAProxy `show stat` CSV: one map per row, keyed by the header's column names.
std::vector<std::map<std::string, std::string>> parse_haproxy_stat(std::string_view text,
                                                                   const std::string& source);

// Sum of `scur` over FRONTEND rows, skipping frontends named in `exclude`.
long long haproxy_frontend_sessions(const std::vector<std::map<std::string, std::string>>& rows,
                                    const std::vector<std::string>& exclude,
                                    const std::string& source);

// Envoy admin `/stats` text ("name: value" lines; histograms are skipped).
std::map<std::string, long long> parse_envoy_stats(std::string_view text,
                                                   const std::string& source);

// Sum of listener.<listener>.downstream_cx_active over the proxy's listeners: the admin
// listener and the per-worker duplicates (listener.<l>.worker_<n>.*) are excluded.
long long envoy_active_connections(const std::map<std::string, long long>& stats);

}  // namespace ingressx::proxy
