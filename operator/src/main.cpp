// ingressx-operator: reconciles ProxyFleets. Every replica runs the informers and serves
// the probes and metrics; only the Lease holder reconciles. Losing the Lease without a
// shutdown exits with status 1 (as controller-runtime), so that a fresh process re-syncs;
// SIGTERM/SIGINT stop the reconciler, release the Lease and exit 0.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "ingressx/api/duration.h"
#include "ingressx/core/client.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"
#include "ingressx/core/events.h"
#include "ingressx/core/kubeconfig.h"
#include "ingressx/core/leader.h"
#include "ingressx/core/log.h"
#include "ingressx/operator/operator.h"
#include "ingressx/operator/runtime.h"

namespace ingressx::op {
namespace {

constexpr const char* kVersion = "0.1.0";
constexpr const char* kServiceAccountNamespace =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

struct Flags {
  std::string kubeconfig, context, watch_namespace;
  bool leader_elect = true;
  std::string election_namespace;  // default: in-cluster namespace, else "default"
  std::string election_id = "ingressx-operator";
  std::string lease_duration = "15s", renew_deadline = "10s", retry_period = "2s";
  std::string identity;  // default: hostname_<random>
  std::string metrics_address = ":8080", probe_address = ":8081";
  std::string hook_image = OperatorOptions{}.hook_image;
  std::string log_format = "text", log_level = "info";
  std::string traffic_resync = "1s", api_deadline, stuck_after = "5m";
};

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string in_cluster_namespace() {
  std::ifstream f(kServiceAccountNamespace);
  std::string ns;
  if (f) std::getline(f, ns);
  ns = trim(ns);
  return ns.empty() ? "default" : ns;
}

// client-go's convention: hostname + "_" + a unique suffix, so that a restarted pod with the
// same name is a different candidate.
std::string default_identity() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "ingressx-operator");
  }
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
  char suffix[40];
  const uint64_t a = rng(), b = rng();
  std::snprintf(suffix, sizeof suffix, "%08x-%04x-4%03x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return std::string(host) + "_" + suffix;
}

void flush_logs() {
  if (auto logger = spdlog::default_logger()) logger->flush();
  std::fflush(stdout);
  std::fflush(stderr);
}

// Exits at once without running destructors: other threads (the reconciler, the HTTP
// server, informers) may still be running.
[[noreturn]] void exit_now(int status) {
  flush_logs();
  std::_Exit(status);
}

// SIGTERM and SIGINT are blocked in every thread (block() runs before any thread starts)
// and taken here with sigtimedwait, so nothing runs in signal-handler context. The first
// signal asks for a graceful shutdown; a second one exits at once.
class SignalWatcher {
 public:
  static void block() {
    sigset_t set = signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }
  SignalWatcher() : thread_([this] { loop(); }) {}
  ~SignalWatcher() {
    quit_ = true;
    thread_.join();
  }
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  bool stopping() const { return stopping_.load(); }

 private:
  static sigset_t signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
  }
  void loop() {
    const sigset_t set = signals();
    while (!quit_) {
      timespec wait{0, 200 * 1000 * 1000};
      const int sig = sigtimedwait(&set, nullptr, &wait);
      if (sig < 0) continue;  // timeout or EINTR
      const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
      if (!stopping_.exchange(true)) {
        spdlog::info("shutting down ({})", name);
      } else {
        spdlog::warn("second {} while shutting down; exiting now", name);
        exit_now(1);
      }
    }
  }

  std::atomic<bool> stopping_{false}, quit_{false};
  std::thread thread_;
};

// /healthz and /readyz on the probe address, /metrics on the metrics address (one server
// when both are the same address; "0" disables the metrics server).
std::vector<std::unique_ptr<HttpServer>> start_http(const Flags& f, Operator& op,
                                                    OperatorMetrics& metrics, Client& client) {
  HttpServer::Handlers probes;
  probes.healthy = [&op] {
    if (auto why = op.unhealthy()) {
      spdlog::error("/healthz: not healthy: {}", *why);
      return false;
    }
    return true;
  };
  probes.not_ready = [&op]() -> std::optional<std::string> {
    if (op.synced()) return std::nullopt;
    return std::string("informers not synced");
  };
  std::function<std::string()> serve_metrics = [&metrics, &client] {
    metrics.set_api_requests(client.stats().requests);
    return metrics.serialize();
  };
  std::vector<std::unique_ptr<HttpServer>> servers;
  const bool metrics_on = f.metrics_address != "0";
  if (metrics_on && f.metrics_address == f.probe_address) {
    probes.metrics = serve_metrics;
    servers.push_back(std::make_unique<HttpServer>(f.probe_address, probes));
    spdlog::info("serving probes and metrics on {}", f.probe_address);
    return servers;
  }
  servers.push_back(std::make_unique<HttpServer>(f.probe_address, probes));
  spdlog::info("serving probes on {}", f.probe_address);
  if (metrics_on) {
    HttpServer::Handlers m;
    m.metrics = serve_metrics;
    servers.push_back(std::make_unique<HttpServer>(f.metrics_address, m));
    spdlog::info("serving metrics on {}", f.metrics_address);
  }
  return servers;
}

LeaderElectionConfig election_config(const Flags& f) {
  LeaderElectionConfig cfg;
  cfg.lease_namespace = f.election_namespace;
  cfg.lease_name = f.election_id;
  cfg.identity = f.identity;
  cfg.lease_duration =
      api::parse_duration(f.lease_duration, "--lease-duration", api::DurationForm::kFlag);
  cfg.renew_deadline =
      api::parse_duration(f.renew_deadline, "--renew-deadline", api::DurationForm::kFlag);
  cfg.retry_period =
      api::parse_duration(f.retry_period, "--retry-period", api::DurationForm::kFlag);
  cfg.release_on_cancel = true;
  return cfg;
}

int lead(LeaderElector& elector, const LeaderElectionConfig& cfg, Operator& op,
         OperatorMetrics& metrics, SignalWatcher& signals) {
  const std::string lease = cfg.lease_namespace + "/" + cfg.lease_name;
  metrics.set_leader(cfg.lease_name, false);

  std::thread worker;
  bool worker_started = false;  // only touched on the elector's thread
  std::atomic<bool> worker_done{false}, worker_failed{false};

  LeaderCallbacks cb;
  cb.on_started_leading = [&] {
    spdlog::info("became leader (lease {}, identity {})", lease, cfg.identity);
    metrics.set_leader(cfg.lease_name, true);
    worker_started = true;
    worker = std::thread([&] {
      try {
        op.run([&] { return signals.stopping(); });
        if (!signals.stopping()) {
          spdlog::error("the reconciler returned while leading");
          worker_failed = true;
        }
      } catch (const std::exception& e) {
        spdlog::error("the reconciler failed: {}", e.what());
        worker_failed = true;
      }
      worker_done = true;  // the elector then steps down and releases the Lease
    });
  };
  cb.on_stopped_leading = [&] {
    metrics.set_leader(cfg.lease_name, false);
    if (worker_failed) {
      spdlog::error("stopped leading after a reconciler failure; exiting");
      exit_now(1);
    }
    if (signals.stopping()) {
      spdlog::info("stopped leading (lease {} released)", lease);
      return;
    }
    // The reconciler may still be running; exit before it can act without the Lease.
    spdlog::error("lost leadership (lease {}); exiting", lease);
    exit_now(1);
  };
  // Before leading, stop on a signal; while leading, only once the reconciler has stopped,
  // so that the Lease is released after the last write.
  try {
    elector.run(cb, [&] { return worker_started ? worker_done.load() : signals.stopping(); });
  } catch (const std::exception& e) {
    if (!worker.joinable()) throw;
    spdlog::error("leader election failed while leading: {}; exiting", e.what());
    exit_now(1);
  }
  if (worker.joinable()) worker.join();
  return worker_failed ? 1 : 0;
}

int run_operator(Flags& f) {
  setup_logging(f.log_format == "json" ? LogFormat::kJson : LogFormat::kText, f.log_level);
  SignalWatcher::block();
  SignalWatcher signals;

  if (f.identity.empty()) f.identity = default_identity();
  if (f.election_namespace.empty()) f.election_namespace = in_cluster_namespace();
  const LeaderElectionConfig election = election_config(f);
  spdlog::info(
      "ingressx-operator {} starting (identity {}, watching {})", kVersion, f.identity,
      f.watch_namespace.empty() ? std::string("all namespaces") : "namespace " + f.watch_namespace);

  LoadOptions lo;
  lo.kubeconfig = f.kubeconfig;
  lo.context = f.context;
  const RestConfig rest = load_rest_config(lo);
  Client client(rest);
  spdlog::info("API server {} (config from {})", client.config().server, client.config().source);
  // Every API call has a deadline, shorter than the renew deadline: a call cannot outlive
  // the leadership it was made under by more than that.
  RetryPolicy policy;
  // Default: the renew deadline less one retry period (8 s with the defaults).
  policy.deadline =
      f.api_deadline.empty()
          ? std::max<std::chrono::milliseconds>(std::chrono::seconds(1),
                                                election.renew_deadline - election.retry_period)
          : api::parse_duration(f.api_deadline, "--api-deadline", api::DurationForm::kFlag);
  if (f.api_deadline.empty()) f.api_deadline = std::to_string(policy.deadline.count()) + "ms";
  if (policy.deadline.count() <= 0)
    throw Error(Error::Kind::kInvalidInput, "--api-deadline: must be greater than 0s");
  client.set_retry_policy(policy);
  RealClock clock;
  // The Lease has a client of its own (its own connections, its own deadline of one retry
  // period per attempt), so that the fence on the operator's client never blocks a renewal.
  std::unique_ptr<Client> lease_client;
  std::unique_ptr<LeaseStore> lease_store;
  std::unique_ptr<LeaderElector> elector;
  if (f.leader_elect) {  // before anything starts: the constructor validates the durations
    lease_client = std::make_unique<Client>(rest);
    RetryPolicy lease_policy;
    lease_policy.max_attempts = 1;
    lease_policy.deadline = election.retry_period;
    lease_client->set_retry_policy(lease_policy);
    lease_store = make_lease_store(*lease_client, election.lease_namespace, election.lease_name);
    elector = std::make_unique<LeaderElector>(*lease_store, election, clock);
    if (policy.deadline >= election.renew_deadline)
      throw Error(Error::Kind::kInvalidInput, "--api-deadline (" + f.api_deadline +
                                                  ") must be shorter than --renew-deadline (" +
                                                  f.renew_deadline + ")");
    // Fencing: once the Lease cannot be proven (no renewal began within the renew
    // deadline), no write leaves this process; the elector then steps down and exits.
    LeaderElector* el = elector.get();
    client.set_write_guard([el](const std::string& method, const std::string& path) {
      if (!el->may_act())
        throw Error(Error::Kind::kTransport, method + " " + path +
                                                 ": not sent: this replica no longer holds the "
                                                 "leader Lease (fenced)");
    });
  }
  OperatorMetrics metrics;
  auto sink = make_event_sink(client);
  EventRecorder events(*sink, "ingressx-operator", f.identity, clock);

  OperatorOptions opts;
  opts.watch_namespace = f.watch_namespace;
  opts.hook_image = f.hook_image;
  opts.traffic_resync =
      api::parse_duration(f.traffic_resync, "--traffic-resync", api::DurationForm::kFlag);
  if (opts.traffic_resync.count() <= 0)
    throw Error(Error::Kind::kInvalidInput, "--traffic-resync: must be greater than 0s");
  opts.stuck_after = api::parse_duration(f.stuck_after, "--stuck-after", api::DurationForm::kFlag);
  if (elector) {
    LeaderElector* el = elector.get();
    opts.may_act = [el] { return el->may_act(); };
  }
  Operator op(client, opts, clock, metrics, events);
  op.start();
  auto servers = start_http(f, op, metrics, client);

  int status = 0;
  if (elector) {
    status = lead(*elector, election, op, metrics, signals);
  } else {
    spdlog::info("leader election disabled; reconciling");
    op.run([&] { return signals.stopping(); });
  }
  spdlog::info("stopped");
  return status;
}

int run(int argc, char** argv) {
  CLI::App app{"ingressx-operator: upgrades ingress proxy fleets with zero downtime"};
  Flags f;
  app.set_version_flag("--version", std::string("ingressx-operator ") + kVersion);
  app.add_option("--kubeconfig", f.kubeconfig,
                 "Kubeconfig file (default: KUBECONFIG, ~/.kube/config, else in-cluster)");
  app.add_option("--context", f.context, "Kubeconfig context to use");
  app.add_option("--namespace", f.watch_namespace,
                 "Namespace to watch for ProxyFleets (default: all namespaces)");
  app.add_flag("--leader-elect", f.leader_elect,
               "Elect a leader through a Lease so that only one replica reconciles "
               "(default true; --leader-elect=false to disable)");
  app.add_option("--leader-election-namespace", f.election_namespace,
                 "Namespace of the Lease (default: the pod's namespace, else \"default\")");
  app.add_option("--leader-election-id", f.election_id, "Name of the Lease")->capture_default_str();
  app.add_option("--lease-duration", f.lease_duration,
                 "How long non-leaders wait before taking over an unrenewed Lease")
      ->capture_default_str();
  app.add_option("--renew-deadline", f.renew_deadline,
                 "How long the leader retries renewing before stepping down")
      ->capture_default_str();
  app.add_option("--retry-period", f.retry_period, "Time between election attempts")
      ->capture_default_str();
  app.add_option("--identity", f.identity,
                 "This candidate's identity in the Lease (default: hostname_<random>)");
  app.add_option("--metrics-bind-address", f.metrics_address,
                 "Address for /metrics (\"0\" disables)")
      ->capture_default_str();
  app.add_option("--health-probe-bind-address", f.probe_address, "Address for /healthz and /readyz")
      ->capture_default_str();
  app.add_option("--hook-image", f.hook_image,
                 "Image holding /ingressx-hook, injected into proxy pods")
      ->capture_default_str();
  app.add_option("--log-format", f.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--traffic-resync", f.traffic_resync,
                 "How often each fleet's traffic split is read from its cutover provider and "
                 "put back when it differs (a reloaded front door)")
      ->capture_default_str();
  app.add_option("--api-deadline", f.api_deadline,
                 "Deadline of one API call, retries included; shorter than --renew-deadline "
                 "(default: --renew-deadline less --retry-period)");
  app.add_option("--stuck-after", f.stuck_after,
                 "/healthz fails once one reconcile has run this long")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    return run_operator(f);
  } catch (const std::exception& e) {
    spdlog::error("ingressx-operator: {}", e.what());
    flush_logs();
    return 1;
  }
}

}  // namespace
}  // namespace ingressx::op

int main(int argc, char** argv) {
  return ingressx::op::run(argc, argv);
}
