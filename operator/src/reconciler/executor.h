#pragma once
// The writing half of a reconcile: one pass's Decision carried out against the API and the
// cutover provider, in the order the rollout protocol fixes (docs/architecture.md, "The
// rollout protocol"):
//   1. a new FleetRollout is created (with its plan) before anything refers to it;
//   2. the actions run in order; a failed API write throws and nothing after it runs;
//   3. the rollout status is written (conditional on the version read), then the fleet's.
// A failed traffic move is not thrown: it is remembered (with backoff from the injected
// clock) and reported in the next snapshot, so the rollout waits and the status says why.
// Not thread-safe: one reconcile worker.

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ingressx/operator/engine.h"

namespace ingressx {
class Client;
class Clock;
class EventRecorder;
struct ResourceRef;
}  // namespace ingressx

namespace ingressx::op {

class AnalysisRunner;
class CutoverProvider;
class OperatorMetrics;

extern const ResourceRef kFleets;
extern const ResourceRef kRollouts;
extern const ResourceRef kPdbs;

struct ExecutorOptions {
  std::string field_manager = "ingressx-operator";
  std::string hook_image;
  // The longest wait between two passes of a fleet that has a cutover provider.
  Millis traffic_resync{1000};
  // Fencing for provider writes (see OperatorOptions::may_act); unset: always may.
  std::function<bool()> may_act;
};

// What one pass read; owned by the caller and alive while execute() runs.
struct PassInput {
  std::string key, ns, name;             // "ns/name" of the ProxyFleet
  const nlohmann::json* fleet{};         // the ProxyFleet as read (fresh)
  nlohmann::json template_;              // its spec.template
  std::string config_digest;             // digest input of its referenced ConfigMaps/Secrets
  std::vector<nlohmann::json> rollouts;  // its FleetRollouts, oldest first
  const nlohmann::json* rollout{};       // the FleetRollout the pass read, if any
  bool running = false;                  // that rollout had not finished
  CutoverProvider* provider{};           // nullptr: no usable provider
  AnalysisRunner* analysis{};            // nullptr: analysis actions are skipped
  // The Service of a fleet (for analysis probes); nullopt when it does not exist.
  std::function<std::optional<nlohmann::json>(const std::string& fleet)> service_of;
};

class Executor {
 public:
  Executor(Client& client, EventRecorder& events, Clock& clock, OperatorMetrics& metrics,
           ExecutorOptions opts);

  // Carries out `d` (decided from `s`, read as `in`); returns when to look at the fleet
  // again (nullopt: on its next event or resync). Throws the Error of a failed API write;
  // a lost conditional write throws a conflict (Error::is_conflict).
  std::optional<Millis> execute(const PassInput& in, const Snapshot& s, const Decision& d);

  // The ProxyFleet's status from `st` and `s`; no write when it is unchanged. Conditional on
  // the fleet's resourceVersion.
  void write_fleet_status(const nlohmann::json& fleet, const FleetState& st, const Snapshot& s,
                          int64_t generation);

  // The failed traffic moves of `key` (since its last successful one) into `s`.
  void report_cutover_failures(const std::string& key, Snapshot& s) const;
  void forget(const std::string& key);

  // resourceVersion of the last write of "Kind ns/name" by this executor ("" if none): an
  // informer copy with exactly that version is fresh.
  std::string written_version(const std::string& kind, const std::string& ns,
                              const std::string& name) const;
  void remember(const std::string& kind, const std::string& ns, const std::string& name,
                const nlohmann::json& obj);

 private:
  void fence(const std::string& provider_name) const;
  void move_traffic(const PassInput& in, const Snapshot& s, const SetTraffic& t,
                    std::optional<Millis>& requeue);
  void take_out(const PassInput& in, const Snapshot& s, const DeleteFleet& del);
  void restore_template(const PassInput& in, int64_t revision);
  void write_rollout_status(const RolloutRecord& r, const nlohmann::json* existing,
                            int64_t generation, const std::string& ns, const std::string& fleet);
  void prune_history(const nlohmann::json& fleet, const std::vector<nlohmann::json>& rollouts,
                     const FleetState& st);

  struct CutoverFailure {
    std::string error;
    int count = 0;
    std::chrono::steady_clock::time_point next;  // Clock::now() when the backoff runs out
  };

  Client& client_;
  EventRecorder& events_;
  Clock& clock_;
  OperatorMetrics& metrics_;
  ExecutorOptions opts_;
  std::map<std::string, CutoverFailure> cutover_failures_;
  std::map<std::string, std::string> written_rv_;
};

}  // namespace ingressx::op
