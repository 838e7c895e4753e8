// OperatorMetrics on prometheus-cpp: controller-runtime's names (and help texts) where they
// apply, ingressx_* for the fleet-level series. Per-fleet series are tracked here so that
// forget_fleet() can remove them when a ProxyFleet is deleted.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "ingressx/operator/runtime.h"

namespace ingressx::op {

namespace {

// ProxyFleet status.phase values (docs/api.md); each fleet exports one series per phase.
const char* const kFleetPhases[] = {"Pending", "Ready",    "Progressing",
                                    "Paused",  "Degraded", "Aborted"};

// reconcile results, pre-initialised to 0 per controller as controller-runtime does.
const char* const kResults[] = {"success", "error", "requeue", "requeue_after"};

// controller-runtime's buckets for controller_runtime_reconcile_time_seconds.
prometheus::Histogram::BucketBoundaries reconcile_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
          0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
          6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60};
}

// Rollouts take minutes to hours (propagation delays, drains, pauses).
prometheus::Histogram::BucketBoundaries rollout_buckets() {
  return {30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 14400};
}

using FleetKey = std::pair<std::string, std::string>;  // namespace, fleet

}  // namespace

struct OperatorMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  prometheus::Family<prometheus::Counter>& reconcile_total =
      prometheus::BuildCounter()
          .Name("controller_runtime_reconcile_total")
          .Help("Total number of reconciliations per controller")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& reconcile_errors =
      prometheus::BuildCounter()
          .Name("controller_runtime_reconcile_errors_total")
          .Help("Total number of reconciliation errors per controller")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& reconcile_time =
      prometheus::BuildHistogram()
          .Name("controller_runtime_reconcile_time_seconds")
          .Help("Length of time per reconciliation per controller")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& workqueue_depth = prometheus::BuildGauge()
                                                               .Name("workqueue_depth")
                                                               .Help("Current depth of workqueue")
                                                               .Register(*registry);
  prometheus::Family<prometheus::Gauge>& leader =
      prometheus::BuildGauge()
          .Name("leader_election_master_status")
          .Help(
              "Gauge of if the reporting system is master of the relevant lease, 0 indicates "
              "backup, 1 indicates master. 'name' is the string used to identify the lease. "
              "Please make sure to group by name.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& rollout_phase =
      prometheus::BuildGauge()
          .Name("ingressx_rollout_phase")
          .Help("The ProxyFleet's phase: 1 for the current phase, 0 for the others")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& traffic_weight =
      prometheus::BuildGauge()
          .Name("ingressx_traffic_weight")
          .Help("Traffic weight the cutover provider sends to each fleet of a ProxyFleet")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& active_connections =
      prometheus::BuildGauge()
          .Name("ingressx_fleet_active_connections")
          .Help("Observed active connections of each fleet of a ProxyFleet")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& rollout_duration =
      prometheus::BuildHistogram()
          .Name("ingressx_rollout_duration_seconds")
          .Help("Duration of finished rollouts by strategy and outcome")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& api_requests =
      prometheus::BuildCounter()
          .Name("ingressx_api_requests_total")
          .Help("Requests the operator sent to the Kubernetes API server")
          .Register(*registry);
  prometheus::Counter& api_requests_counter = api_requests.Add({});

  std::mutex mu;  // guards what follows
  std::set<std::string> controllers;
  uint64_t api_requests_seen = 0;
  std::map<FleetKey, std::map<std::string, prometheus::Gauge*>> phases;       // by phase
  std::map<FleetKey, std::map<std::string, prometheus::Gauge*>> weights;      // by target
  std::map<FleetKey, std::map<std::string, prometheus::Gauge*>> connections;  // by target
  std::map<FleetKey, std::map<std::pair<std::string, std::string>, prometheus::Histogram*>>
      durations;  // by (strategy, outcome)

  // Caller holds mu.
  void init_controller_locked(const std::string& controller) {
    if (!controllers.insert(controller).second) return;
    for (const char* r : kResults) reconcile_total.Add({{"controller", controller}, {"result", r}});
    reconcile_errors.Add({{"controller", controller}});
  }

  // Caller holds mu.
  prometheus::Gauge* phase_gauge_locked(const FleetKey& k, const std::string& phase) {
    auto& slot = phases[k][phase];
    if (!slot) {
      slot = &rollout_phase.Add({{"namespace", k.first}, {"fleet", k.second}, {"phase", phase}});
    }
    return slot;
  }
};

OperatorMetrics::OperatorMetrics() : impl_(std::make_unique<Impl>()) {}

OperatorMetrics::~OperatorMetrics() = default;

void OperatorMetrics::reconcile_done(const std::string& controller, const std::string& result,
                                     double seconds) {
  std::lock_guard lock(impl_->mu);
  impl_->init_controller_locked(controller);
  impl_->reconcile_total.Add({{"controller", controller}, {"result", result}}).Increment();
  if (result == "error") impl_->reconcile_errors.Add({{"controller", controller}}).Increment();
  impl_->reconcile_time.Add({{"controller", controller}}, reconcile_buckets()).Observe(seconds);
}

void OperatorMetrics::set_workqueue_depth(const std::string& name, int64_t depth) {
  impl_->workqueue_depth.Add({{"name", name}}).Set(static_cast<double>(depth));
}

void OperatorMetrics::set_leader(const std::string& lease_name, bool leading) {
  impl_->leader.Add({{"name", lease_name}}).Set(leading ? 1 : 0);
}

void OperatorMetrics::set_rollout_phase(const std::string& ns, const std::string& fleet,
                                        const std::string& phase) {
  std::lock_guard lock(impl_->mu);
  const FleetKey k{ns, fleet};
  for (const char* p : kFleetPhases) impl_->phase_gauge_locked(k, p);
  impl_->phase_gauge_locked(k, phase);
  for (auto& [name, gauge] : impl_->phases[k]) gauge->Set(name == phase ? 1 : 0);
}

void OperatorMetrics::set_traffic_weight(const std::string& ns, const std::string& fleet,
                                         const std::string& target, int weight) {
  std::lock_guard lock(impl_->mu);
  auto& slot = impl_->weights[{ns, fleet}][target];
  if (!slot) {
    slot = &impl_->traffic_weight.Add({{"namespace", ns}, {"fleet", fleet}, {"target", target}});
  }
  slot->Set(weight);
}

void OperatorMetrics::set_active_connections(const std::string& ns, const std::string& fleet,
                                             const std::string& target, int64_t connections) {
  std::lock_guard lock(impl_->mu);
  auto& slot = impl_->connections[{ns, fleet}][target];
  if (!slot) {
    slot =
        &impl_->active_connections.Add({{"namespace", ns}, {"fleet", fleet}, {"target", target}});
  }
  slot->Set(static_cast<double>(connections));
}

void OperatorMetrics::rollout_finished(const std::string& ns, const std::string& fleet,
                                       const std::string& strategy, const std::string& outcome,
                                       double seconds) {
  std::lock_guard lock(impl_->mu);
  auto& slot = impl_->durations[{ns, fleet}][{strategy, outcome}];
  if (!slot) {
    slot = &impl_->rollout_duration.Add(
        {{"namespace", ns}, {"fleet", fleet}, {"strategy", strategy}, {"outcome", outcome}},
        rollout_buckets());
  }
  slot->Observe(seconds);
}

void OperatorMetrics::set_api_requests(uint64_t total) {
  std::lock_guard lock(impl_->mu);
  // A counter only goes up: add what is new since the last call. A smaller total (a new
  // client) restarts the baseline.
  if (total > impl_->api_requests_seen) {
    impl_->api_requests_counter.Increment(static_cast<double>(total - impl_->api_requests_seen));
  }
  impl_->api_requests_seen = total;
}

void OperatorMetrics::forget_fleet(const std::string& ns, const std::string& fleet) {
  std::lock_guard lock(impl_->mu);
  const FleetKey k{ns, fleet};
  auto drop = [&](auto& index, auto& family) {
    auto it = index.find(k);
    if (it == index.end()) return;
    for (auto& entry : it->second) family.Remove(entry.second);
    index.erase(it);
  };
  drop(impl_->phases, impl_->rollout_phase);
  drop(impl_->weights, impl_->traffic_weight);
  drop(impl_->connections, impl_->active_connections);
  drop(impl_->durations, impl_->rollout_duration);
}

std::string OperatorMetrics::serialize() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry->Collect());
}

}  // namespace ingressx::op
