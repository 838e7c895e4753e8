#pragma once
// The connection to the cluster and the lookups every verb shares.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "ingressx/core/client.h"

namespace ingressx::cli {

extern const ResourceRef kProxyFleets;
extern const ResourceRef kFleetRollouts;

class Session {
 public:
  // Loads the kubeconfig with kubectl's rules and the global flags; a bad kubeconfig or
  // flag is CliError(kExitUsage).
  explicit Session(const Globals& g);
  ~Session();

  Client& client() { return *client_; }
  const Globals& globals() const { return g_; }
  // The namespace of the verb: -n, else the context's, else "default".
  const std::string& ns() const { return ns_; }

  // The ProxyFleet, or CliError(kExitFailed) naming the fleet and the namespace.
  json get_fleet(const std::string& name);
  // Every FleetRollout of the fleet (label ingressx.io/fleet or spec.fleetRef.name), by
  // spec.revision ascending.
  std::vector<json> rollouts_of(const std::string& fleet);
  // The FleetRollout named in status.currentRollout, if any and if it exists.
  std::optional<json> current_rollout(const json& fleet);
  // A JSON merge patch of the fleet (the CLI's only write); returns the patched object.
  json patch_fleet(const std::string& name, const json& merge_patch);

 private:
  Globals g_;
  std::string ns_;
  std::unique_ptr<Client> client_;
};

// Parses a duration flag ("0" = none); CliError(kExitUsage) naming the flag.
std::chrono::milliseconds parse_flag_duration(const std::string& value, const std::string& flag);
// A token for spec.promote / spec.retry: unique per call (UTC time with nanoseconds).
std::string new_token();
// "proxyfleet.ingressx.io/edge"
std::string object_ref(const json& obj);

}  // namespace ingressx::cli
