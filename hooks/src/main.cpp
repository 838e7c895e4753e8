// ingressx-hook: the preStop hook injected into proxy pods. Static, no shell needed.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "counters.h"
#include "hook_events.h"
#include "ingressx/api/defaults.h"
#include "ingressx/api/duration.h"
#include "ingressx/core/error.h"
#include "ingressx/proxy/adapter.h"
#include "prestop.h"
#include "run_lock.h"

namespace ingressx::hook {

// Flags take the flag form of a duration (a bare number of seconds too).
static Clock::Duration parse_duration(std::string_view text, const std::string& flag) {
  return api::parse_duration(text, flag, api::DurationForm::kFlag);
}
namespace {

constexpr const char* kVersion = "0.1.0";

// core's RealClock lives in the core library, which the static hook does not link.
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::now();
  }
  void sleep_for(Duration d) override { std::this_thread::sleep_for(d); }
};

struct Flags {
  std::string kind = "generic";
  // The API's defaults (spec.proxy.drain).
  std::string delay = api::defaults::kPropagationDelay, min_drain = api::defaults::kMinDrain,
              max_drain = api::defaults::kMaxDrain, poll = api::defaults::kPollInterval;
  int drained_at = api::defaults::kDrainedAt;
  std::vector<std::string> ports;
  std::string count_from = api::defaults::kConnectionSource;
  std::string run_dir, log_format = "text", log_level = "info", log_file, signal;
  proxy::AdapterOptions adapter;
};

void add_proxy_flags(CLI::App& cmd, Flags& f) {
  cmd.add_option("--proxy", f.kind,
                 "Proxy kind: nginx, openresty, ingress-nginx, apisix, haproxy, envoy, generic");
  cmd.add_option("--ports", f.ports, "Listen ports to count connections on (default: discovered)")
      ->delimiter(',');
  cmd.add_option("--count-from", f.count_from, "auto, proc or metrics")
      ->check(CLI::IsMember({"auto", "proc", "metrics"}));
  cmd.add_option("--pid-file", f.adapter.pid_file, "The proxy master's pid file");
  cmd.add_option("--admin-url", f.adapter.admin_url,
                 "stub_status, Prometheus metrics or Envoy admin URL");
  cmd.add_option("--stats-socket", f.adapter.stats_socket, "HAProxy stats socket");
  cmd.add_option("--process-name", f.adapter.process_name,
                 "generic: process name (comm) to signal");
  cmd.add_option("--signal", f.signal, "generic: signal to send (default SIGTERM)");
  cmd.add_option("--proc-root", f.adapter.proc_root, "Where /proc is mounted")
      ->capture_default_str();
}

std::unique_ptr<proxy::ProxyAdapter> make_adapter(Flags& f) {
  if (!f.signal.empty()) f.adapter.signal = proxy::parse_signal(f.signal);
  return proxy::adapter_info(f.kind).make(f.adapter);
}

bool use_metrics(const Flags& f) {
  if (f.count_from != "auto") return f.count_from == "metrics";
  return f.kind == "envoy" || !f.adapter.admin_url.empty() || !f.adapter.stats_socket.empty();
}

std::unique_ptr<ConnectionCounter> make_counter(const Flags& f, proxy::ProxyAdapter& adapter,
                                                const std::vector<int>& targets,
                                                EventSink* events) {
  auto ports = parse_ports(f.ports);
  if (ports.empty()) {
    bool attributed = false;
    ports = discover_ports(targets, f.adapter.proc_root, &attributed);
    if (events && !attributed) {
      events->emit(
          {Level::kWarn,
           "ports",
           "could not attribute listen sockets to the proxy; counting on every listen port",
           {}});
    }
  }
  auto proc = make_proc_counter(std::move(ports), f.adapter.proc_root);
  if (!use_metrics(f)) return proc;
  return make_metrics_counter(adapter, std::move(proc));
}

// The drain policy from the flags. A preStop hook that exits early stops the pod undrained,
// so a bad value never ends the hook: it is reported and replaced by a safe one (the
// default, or for an ordering error the larger bound), and the drain still runs.
proxy::DrainPolicy policy_from(const Flags& f, EventSink& events) {
  const Flags defaults;
  proxy::DrainPolicy p;
  p.propagation_delay = parse_duration(defaults.delay, "--propagation-delay");
  p.min_drain = parse_duration(defaults.min_drain, "--min-drain");
  p.max_drain = parse_duration(defaults.max_drain, "--max-drain");
  p.poll_interval = parse_duration(defaults.poll, "--poll-interval");
  auto take = [&](const std::string& text, const char* flag, Clock::Duration& out, bool positive) {
    try {
      const auto v = parse_duration(text, flag);
      if (v.count() < 0 || (positive && v.count() == 0))
        throw Error(Error::Kind::kInvalidInput, std::string(flag) + ": must be " +
                                                    (positive ? "greater than 0s" : "0s or more"));
      out = v;
    } catch (const Error& e) {
      events.emit({Level::kError,
                   "bad_flag",
                   std::string(e.what()) + "; using the default instead",
                   {{"flag", flag}, {"value", text}}});
    }
  };
  take(f.delay, "--propagation-delay", p.propagation_delay, false);
  take(f.min_drain, "--min-drain", p.min_drain, false);
  take(f.max_drain, "--max-drain", p.max_drain, true);
  take(f.poll, "--poll-interval", p.poll_interval, true);
  p.drained_at = f.drained_at >= 0 ? f.drained_at : 0;
  if (p.max_drain < p.min_drain) {
    events.emit({Level::kError,
                 "bad_flag",
                 "--max-drain is below --min-drain; draining for --min-drain at most",
                 {{"min_drain", f.min_drain}, {"max_drain", f.max_drain}}});
    p.max_drain = p.min_drain;
  }
  proxy::validate(p);
  return p;
}

int run_prestop_command(Flags& f) {
  auto events = make_log_sink(f.log_format == "json", f.log_level, f.log_file);
  auto policy = policy_from(f, *events);
  auto adapter = make_adapter(f);
  std::vector<int> targets;
  try {
    targets = adapter->find_targets();
  } catch (const Error& e) {
    events->emit(
        {Level::kError, "find_failed", std::string("cannot find the proxy: ") + e.what(), {}});
  }
  auto counter = make_counter(f, *adapter, targets, events.get());
  const std::string key = run_key(f.kind, targets, f.adapter.proc_root);
  FileRunLock lock(f.run_dir.empty() ? default_run_dir() : f.run_dir, key);
  events->emit({Level::kInfo,
                "start",
                "preStop hook started",
                {{"proxy", f.kind},
                 {"pids", targets},
                 {"count_from", counter->source()},
                 {"lock", lock.path()}}});
  SteadyClock clock;
  run_prestop(policy, targets, {*adapter, *counter, lock, clock, *events});
  return 0;
}

int run_connections_command(Flags& f) {
  auto adapter = make_adapter(f);
  std::vector<int> targets;
  try {
    targets = adapter->find_targets();
  } catch (const Error&) {
    // Counting needs no target: the ports are then every listen port.
  }
  auto counter = make_counter(f, *adapter, targets, nullptr);
  auto n = counter->count();
  nlohmann::json out = {{"proxy", f.kind},
                        {"source", counter->source()},
                        {"active", n ? nlohmann::json(*n) : nlohmann::json()}};
  std::cout << out.dump() << "\n";
  return n ? 0 : 1;
}

void print_proxies() {
  for (const auto& a : proxy::adapters()) {
    std::cout << a.kind << "\n  quit: " << a.graceful << "\n  metrics: " << a.metrics << "\n";
  }
}

int run(int argc, char** argv) {
  CLI::App app{"ingressx-hook: graceful preStop hook for ingress proxies"};
  app.require_subcommand(1);
  Flags f;
  auto* prestop =
      app.add_subcommand("prestop", "Delay, quit gracefully, wait for the drain, exit 0");
  add_proxy_flags(*prestop, f);
  prestop->add_option("--propagation-delay", f.delay, "Keep serving this long first")
      ->capture_default_str();
  prestop->add_option("--min-drain", f.min_drain, "Never exit earlier after the signal")
      ->capture_default_str();
  prestop->add_option("--max-drain", f.max_drain, "Exit at the latest this long after the signal")
      ->capture_default_str();
  prestop->add_option("--drained-at", f.drained_at, "Connections at or below this count as drained")
      ->capture_default_str();
  prestop->add_option("--poll-interval", f.poll, "How often to count")->capture_default_str();
  prestop->add_option("--run-dir", f.run_dir,
                      "Directory for the run lock (default /dev/shm or /tmp)");
  prestop->add_option("--log-format", f.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  prestop->add_option("--log-level", f.log_level, "debug, info, warn, error");
  prestop->add_option("--log-file", f.log_file,
                      "Append log lines here (e.g. /proc/1/fd/1) instead of stderr");
  auto* connections =
      app.add_subcommand("connections", "Print the active connection count as JSON");
  add_proxy_flags(*connections, f);
  auto* proxies = app.add_subcommand("proxies", "List the supported proxy kinds");
  auto* version = app.add_subcommand("version", "Print the version");
  CLI11_PARSE(app, argc, argv);
  try {
    if (*prestop) return run_prestop_command(f);
    if (*connections) return run_connections_command(f);
    if (*proxies) print_proxies();
    if (*version) std::cout << "ingressx-hook " << kVersion << "\n";
    return 0;
  } catch (const Error& e) {
    std::cerr << "ingressx-hook: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace
}  // namespace ingressx::hook

int main(int argc, char** argv) {
  return ingressx::hook::run(argc, argv);
}
