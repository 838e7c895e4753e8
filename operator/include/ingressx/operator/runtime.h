#pragma once
// The operator's runtime pieces that are not reconcile logic: a de-duplicating work queue
// with delayed adds, the Prometheus metrics it exports, and the HTTP server for /healthz,
// /readyz and /metrics. No third-party headers here (prometheus-cpp and civetweb stay in
// their .cpp files).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace ingressx::op {

// Keys ("namespace/name") to reconcile. A key is handed to one worker at a time; adding a
// key that is queued is a no-op; adding a key that is being processed queues it again
// for after done(). add_after() keeps the earliest due time per key.
class WorkQueue {
 public:
  WorkQueue();
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  void add_after(const std::string& key, std::chrono::milliseconds delay);
  // Blocks until a key is due or shutdown(); nullopt after shutdown().
  std::optional<std::string> get();
  void done(const std::string& key);
  void shutdown();
  size_t depth() const;  // keys ready now (controller-runtime's workqueue_depth)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Notices a reconcile worker that is stuck: begin()/end() around each reconcile (the worker
// thread), stuck() from any thread (the /healthz handler). Time comes from `now`.
class Watchdog {
 public:
  using Now = std::function<std::chrono::steady_clock::time_point()>;
  Watchdog(std::chrono::milliseconds limit, Now now);
  void begin(const std::string& key);
  void end();
  // nullopt while no reconcile has run longer than the limit; else what is stuck, and since.
  std::optional<std::string> stuck() const;

 private:
  std::chrono::milliseconds limit_;
  Now now_;
  mutable std::mutex mu_;
  std::optional<std::chrono::steady_clock::time_point> since_;
  std::string key_;
};

// Metrics with controller-runtime's names where they apply
// (controller_runtime_reconcile_total{controller,result},
// controller_runtime_reconcile_errors_total{controller},
// controller_runtime_reconcile_time_seconds{controller}, workqueue_depth{name},
// leader_election_master_status{name}) plus ingressx's own:
// ingressx_rollout_phase{namespace,fleet,phase} (1 for the current phase, 0 otherwise),
// ingressx_traffic_weight{namespace,fleet,target}, ingressx_fleet_active_connections
// {namespace,fleet,target}, ingressx_rollout_duration_seconds{namespace,fleet,strategy,
// outcome} (histogram), ingressx_api_requests_total (the client's request count).
class OperatorMetrics {
 public:
  OperatorMetrics();
  ~OperatorMetrics();
  OperatorMetrics(const OperatorMetrics&) = delete;
  OperatorMetrics& operator=(const OperatorMetrics&) = delete;

  // result: success, error, requeue, requeue_after
  void reconcile_done(const std::string& controller, const std::string& result, double seconds);
  void set_workqueue_depth(const std::string& name, int64_t depth);
  void set_leader(const std::string& lease_name, bool leading);
  void set_rollout_phase(const std::string& ns, const std::string& fleet, const std::string& phase);
  void set_traffic_weight(const std::string& ns, const std::string& fleet,
                          const std::string& target, int weight);
  void set_active_connections(const std::string& ns, const std::string& fleet,
                              const std::string& target, int64_t connections);
  void rollout_finished(const std::string& ns, const std::string& fleet,
                        const std::string& strategy, const std::string& outcome, double seconds);
  void set_api_requests(uint64_t total);
  // Removes every series of a fleet (when the ProxyFleet is deleted).
  void forget_fleet(const std::string& ns, const std::string& fleet);

  std::string serialize() const;  // Prometheus text exposition format 0.0.4

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// GET /healthz (200 "ok" while healthy()), GET /readyz (200 while ready(), else 503 with
// the reason), GET /metrics (metrics()). Anything else 404, and so is a path whose handler
// is unset (/readyz is served when healthy or not_ready is set). Listens on "host:port"
// (":8080" = all addresses; port 0 picks a free port, see port()).
class HttpServer {
 public:
  struct Handlers {
    std::function<bool()> healthy;
    std::function<std::optional<std::string>()> not_ready;  // nullopt = ready, else why not
    std::function<std::string()> metrics;
  };
  HttpServer(const std::string& listen, Handlers h);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ingressx::op
