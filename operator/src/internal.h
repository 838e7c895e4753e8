#pragma once
// Internals of the reconciler shared by its .cpp files (not installed).

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ingressx/operator/cutover.h"
#include "ingressx/operator/engine.h"

namespace ingressx {
class HttpTransport;
}

namespace ingressx::op {

using json = nlohmann::json;

// ---- resources.cpp: the objects a fleet is made of ----
struct FleetObjects {
  json deployment;
  json service;
  json pdb;  // policy/v1 PodDisruptionBudget: at most one pod of the fleet evicted at a time
};
// Deployment + Service of one fleet (`fleet` = its name, `role` = primary/temp/blue/green)
// running `template_` at `revision`/`hash`, with the preStop hook injected.
FleetObjects fleet_objects(const json& proxy_fleet, const std::string& fleet,
                           const std::string& role, const json& template_, int64_t revision,
                           const std::string& hash, const std::string& hook_image);
// ConfigMaps and Secrets a pod template references (volumes, projected volumes, envFrom, env).
struct ConfigRefs {
  std::vector<std::string> config_maps, secrets;
};
ConfigRefs config_refs(const json& template_);
// "t<12 hex>c<12 hex>": the template part and the referenced data part.
std::string template_hash(const json& template_, const std::string& config_digest_input);
std::string fnv_hex(const std::string& data, int hex_digits);
// The grace period the hook needs: propagationDelay + maxDrain + margin, in seconds.
int64_t grace_seconds(const FleetSettings& s);

// ---- traffic_move.cpp: one traffic move, the cutover in force ----
// primary, temp, blue or green, from a fleet's name.
std::string role_of_fleet(const std::string& proxy_fleet, const std::string& fleet);
// The provider's targets for a split: every fleet of it with its address (none for a fleet
// being deleted) and `port`. Throws Error naming the fleets when one that should receive
// traffic has no address: a move is made whole or not at all, never only its lowering half.
std::vector<TrafficTarget> traffic_targets(const std::string& proxy_fleet,
                                           const std::vector<TrafficEntry>& split,
                                           const std::map<std::string, FleetObservation>& fleets,
                                           int port);
// The ProxyFleet as the cutover provider must see it: while a rollout runs, spec.cutover is
// the copy the rollout started with (its FleetRollout's spec.cutover), not the live one.
json cutover_view(const json& proxy_fleet, const json* rollout, bool running);

// ---- observe.cpp: connections and analysis ----
// Active connections of one proxy pod from its in-pod admin/metrics endpoint at `pod_ip`.
// nullopt when the kind/settings give no way to count from outside the pod.
std::optional<int64_t> pod_connections(HttpTransport& http, const json& proxy_spec,
                                       const std::string& pod_ip);

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
// True when a TCP connection to ip:port succeeds within `timeout` (IPv4 or IPv6 literal).
bool tcp_connects(const std::string& ip, int port, Millis timeout);

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

namespace ingressx {
class Client;
}
namespace ingressx::op {
class CutoverProvider;
// What a cutover provider may need besides the ProxyFleet: the API client (Secrets with TSIG
// keys, HTTPRoutes, the fleets' Services).
struct CutoverContext {
  Client* client = nullptr;
  std::string ns;  // the ProxyFleet's namespace
  // fleet name -> its Service address (ClusterIP, or the LoadBalancer IP/hostname when the
  // Service has one), for the fleets that exist now; read() maps answers back with it.
  std::map<std::string, std::string> fleet_addresses;
};
// The provider spec.cutover names, or nullptr with `why_not` set (unsupported provider or a
// configuration it cannot use). cutover_factory.cpp.
std::unique_ptr<CutoverProvider> make_cutover(const json& proxy_fleet, const CutoverContext& ctx,
                                              std::string& why_not);
}  // namespace ingressx::op
