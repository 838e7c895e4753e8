#pragma once
// The cutover interface: how traffic moves between the two fleets of a ProxyFleet.
// A provider sets the split and reads it back; the rollout engine only ever sees the
// read-back figures, so a step counts as done when the provider answers the new split.
// Providers: haproxy (runtime API) here; DNS, external-dns, Gateway API and Service
// annotations implement the same interface.

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ingressx::op {

// One fleet's share of the traffic.
struct TrafficTarget {
  std::string fleet;    // the fleet's name (Deployment/Service), e.g. "edge-temp"
  std::string role;     // primary, temp, blue or green
  int weight = 0;       // 0..100
  std::string address;  // the fleet's Service address (ClusterIP or LB address); may be empty
                        // for a fleet that does not exist (weight must then be 0)
  int port = 0;         // the Service port traffic goes to
};

// fleet name -> weight 0..100, as read back from the provider. A fleet the provider
// sends no traffic to has weight 0 (or is absent).
using TrafficSplit = std::map<std::string, int>;

class CutoverProvider {
 public:
  virtual ~CutoverProvider() = default;
  virtual std::string name() const = 0;  // e.g. "haproxy 10.0.0.5:9999 backend edge"
  // Moves traffic to `targets` (all fleets of the pair, in one call) and returns the split
  // read back afterwards. Idempotent. Throws ingressx::Error naming the provider's
  // server and what failed; traffic is then wherever the provider left it (read() says).
  virtual TrafficSplit apply(const std::vector<TrafficTarget>& targets) = 0;
  // The current split of the fleets this provider routes to (read-only).
  virtual TrafficSplit read() = 0;
};

// HAProxy runtime API (stats socket with "level admin" on host:port): one backend with one
// server per fleet role. apply() sets each server's address, weight and state
// (weight > 0: ready; weight 0: drain, or maint when the fleet has no address) and reads
// them back with "show servers state".
struct HaproxyCutoverConfig {
  std::string runtime_api;                     // host:port
  std::string backend;                         // backend name
  std::map<std::string, std::string> servers;  // role -> server name in that backend
  std::map<std::string, std::string> fleets;   // role -> fleet name (for read())
  int timeout_ms = 3000;
};
std::unique_ptr<CutoverProvider> make_haproxy_cutover(HaproxyCutoverConfig cfg);

}  // namespace ingressx::op
