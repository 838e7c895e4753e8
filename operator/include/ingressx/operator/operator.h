#pragma once
// The reconciler: watches ProxyFleets, FleetRollouts and the Deployments, Services and
// pods it owns, builds a snapshot per fleet, asks the engine for the next actions, performs
// them and writes status once per reconcile.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ingressx {
class Client;
class Clock;
class EventRecorder;
}  // namespace ingressx

namespace ingressx::op {

class OperatorMetrics;

struct OperatorOptions {
  std::string watch_namespace;                                 // "" = all namespaces
  std::string hook_image = "localhost/ingressx/ingressx:dev";  // image with /ingressx-hook
  std::string field_manager = "ingressx-operator";
  int resync_seconds = 30;
  // How often the cutover provider's split is read and put back to what the fleet or its
  // rollout says (a reloaded front door forgets runtime weights): the longest wait between
  // two reconciles of a fleet that has a provider.
  std::chrono::milliseconds traffic_resync{1000};
  // /healthz fails while one reconcile has run longer than this (a stuck worker: the
  // kubelet restarts the pod and another replica takes the Lease).
  std::chrono::milliseconds stuck_after{std::chrono::minutes(5)};
  // Fencing for writes that do not go through the Client (cutover providers: HAProxy's
  // runtime API, DNS UPDATEs): called before each; false = this replica may not act (it
  // can no longer prove its Lease), and the write is not made. Unset: always may.
  std::function<bool()> may_act;
};

class Operator {
 public:
  Operator(Client& client, OperatorOptions opts, Clock& clock, OperatorMetrics& metrics,
           EventRecorder& events);
  ~Operator();
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  void start();         // starts the informers (safe on every replica)
  bool synced() const;  // informers have synced
  // Reconciles until stop() is true. Call only while leading.
  void run(const std::function<bool()>& stop);
  // nullopt while healthy; else why not (a reconcile stuck past stuck_after).
  std::optional<std::string> unhealthy() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ingressx::op
