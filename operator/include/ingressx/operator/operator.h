#pragma once
// The reconciler: watches ProxyFleets, FleetRollouts and the Deployments, Services and
// pods it owns, builds a snapshot per fleet, asks the engine for the next actions, performs
// them and writes status once per reconcile.

#include <functional>
#include <memory>
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ingressx::op
