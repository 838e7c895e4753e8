#pragma once
// Proxy adapters: per proxy kind, how to quit gracefully, how to count active connections
// from the proxy's own metrics, and how to clone a fleet. All kinds are listed in one
// table (adapters()); there is no self-registration.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ingressx/proxy/clone.h"

namespace ingressx::proxy {

// Where an adapter finds its proxy. Empty fields mean the adapter's defaults.
struct AdapterOptions {
  std::string pid_file;      // the master's pid file; default: the kind's usual paths
  std::string admin_url;     // stub_status / Prometheus metrics / Envoy admin base URL
  std::string stats_socket;  // HAProxy stats socket
  std::string process_name;  // generic: the comm of the process to signal
  int signal = 0;            // generic: signal number (0: SIGTERM)
  std::string proc_root = "/proc";
};

// What a graceful stop did, for the log.
struct StopReport {
  std::vector<int> signalled;  // pids that got a signal
  std::string action;          // e.g. "SIGQUIT", "POST /healthcheck/fail, /drain_listeners"
};

// An adapter is created for one proxy instance; it is not thread-safe.
class ProxyAdapter {
 public:
  virtual ~ProxyAdapter() = default;
  virtual std::string_view kind() const = 0;
  // The processes that get the graceful signal (e.g. the nginx master); empty when the
  // proxy is not running or is stopped through an admin call. Throws Error on a bad pid file.
  virtual std::vector<int> find_targets() const = 0;
  // Sends the graceful stop to `targets` (from find_targets). Throws Error when nothing
  // could be signalled or the admin call failed.
  virtual StopReport graceful_stop(const std::vector<int>& targets) = 0;
  // Active client connections from the proxy's metrics; nullopt when no metrics source is
  // configured for this kind. Throws Error when the source cannot be read or parsed.
  virtual std::optional<int> metrics_connections() = 0;
};

// Where a proxy's active client connections are read over HTTP and how the count is read
// from the answer: one source per kind, used from inside the pod (the hook) and from
// outside it (the operator, over the pod's IP), so both count alike.
struct HttpCountSettings {
  std::string host;       // replaces the URL's host (the pod IP); empty: the URL's own
  std::string admin_url;  // spec.proxy.adminURL / --admin-url; empty: the kind's default
  int port = 0;           // spec.proxy.metricsPort; 0: the kind's default port
};
struct HttpCount {
  std::string url;  // what to GET; empty: the kind has no HTTP source with these settings
  // The active client connections in a 200 answer from `url` (the reading connection not
  // counted). Throws Error(kDecode) naming the URL when the answer has no count.
  int (*count)(std::string_view body, const std::string& url) = nullptr;
};

using CloneFn = CloneResult (*)(const nlohmann::json& container, const CloneOptions& opts);
using MakeFn = std::unique_ptr<ProxyAdapter> (*)(const AdapterOptions& opts);
using HttpCountFn = HttpCount (*)(const HttpCountSettings& settings);

struct AdapterInfo {
  std::string_view kind;
  std::string_view graceful;  // how it quits, for help texts and docs
  std::string_view metrics;   // where its connection count comes from
  MakeFn make;
  CloneFn clone;
  HttpCountFn http_count;  // its HTTP metrics source (see HttpCount)
};

// The table of every supported proxy kind.
std::span<const AdapterInfo> adapters();

// "SIGQUIT" for SIGQUIT; "signal N" for a signal without a well-known name.
std::string signal_name(int sig);
// Accepts "SIGTERM", "TERM" or a number. Throws Error(kInvalidInput).
int parse_signal(std::string_view name);

// Throws Error(kInvalidInput) listing the known kinds when `kind` is unknown.
const AdapterInfo& adapter_info(std::string_view kind);

}  // namespace ingressx::proxy
