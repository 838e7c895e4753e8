// HAProxy, Envoy and the generic adapter.
#include <signal.h>

#include <algorithm>

#include "adapter_util.h"
#include "ingressx/core/error.h"
#include "ingressx/proxy/local_io.h"
#include "ingressx/proxy/metrics.h"
#include "text_util.h"

namespace ingressx::proxy {
namespace {

// HAProxy: SIGUSR1 is the soft stop. In master-worker mode (-W/-Ws, how Debian's unit and
// the official image run it) the pid file names the master, which passes the soft stop
// to its workers and exits after them; without it, each process gets the signal.
class HaproxyAdapter : public ProxyAdapter {
 public:
  explicit HaproxyAdapter(AdapterOptions opts) : opts_(std::move(opts)) {}
  std::string_view kind() const override { return "haproxy"; }

  std::vector<int> find_targets() const override {
    return find_proxy_pids(opts_, {"/run/haproxy.pid", "/var/run/haproxy.pid"}, {"haproxy"});
  }

  StopReport graceful_stop(const std::vector<int>& targets) override {
    return signal_all(targets, SIGUSR1, kind());
  }

  // `show info` CurrConns: the current client sessions (the CLI session reading it is not
  // among them: checked against HAProxy 2.6).
  std::optional<int> metrics_connections() override {
    if (opts_.stats_socket.empty()) return std::nullopt;
    const auto& path = opts_.stats_socket;
    auto info = parse_haproxy_info(unix_socket_command(path, "show info"), path + " (show info)");
    auto it = info.find("CurrConns");
    auto v = it == info.end() ? std::nullopt : to_int(it->second);
    if (!v) throw Error(Error::Kind::kDecode, path + " (show info): no numeric CurrConns");
    return static_cast<int>(*v);
  }

 private:
  AdapterOptions opts_;
};

// Envoy: fail the health check (so the load balancers in front stop sending), then drain
// the listeners gracefully (HTTP/1 gets "Connection: close", HTTP/2 GOAWAY). Envoy keeps
// running; the pod's SIGTERM ends it after the hook.
class EnvoyAdapter : public ProxyAdapter {
 public:
  explicit EnvoyAdapter(AdapterOptions opts) : opts_(std::move(opts)) {
    if (opts_.admin_url.empty()) opts_.admin_url = "http://127.0.0.1:9901";
    while (!opts_.admin_url.empty() && opts_.admin_url.back() == '/') opts_.admin_url.pop_back();
  }
  std::string_view kind() const override { return "envoy"; }
  std::vector<int> find_targets() const override { return {}; }

  StopReport graceful_stop(const std::vector<int>&) override {
    post("/healthcheck/fail");
    post("/drain_listeners?graceful");
    return {{}, "POST /healthcheck/fail, POST /drain_listeners?graceful"};
  }

  // The kind's HTTP source (http_count.cpp), as the operator reads it from outside.
  std::optional<int> metrics_connections() override {
    const auto src = envoy_count({"", opts_.admin_url, 0});
    return src.count(http_get_ok(src.url), src.url);
  }

 private:
  void post(const std::string& path) {
    auto url = opts_.admin_url + path;
    auto r = http_request("POST", url);
    if (r.status != 200) {
      throw Error(Error::Kind::kTransport,
                  url + ": expected HTTP 200, got " + std::to_string(r.status));
    }
  }
  AdapterOptions opts_;
};

// Any other server: a configurable signal to the process from a pid file or by name;
// connections come from /proc only.
class GenericAdapter : public ProxyAdapter {
 public:
  explicit GenericAdapter(AdapterOptions opts) : opts_(std::move(opts)) {}
  std::string_view kind() const override { return "generic"; }

  std::vector<int> find_targets() const override {
    if (opts_.pid_file.empty() && opts_.process_name.empty()) {
      throw Error(Error::Kind::kInvalidInput, "generic proxy: give --pid-file or --process-name");
    }
    return find_proxy_pids(opts_, {}, {opts_.process_name});
  }

  StopReport graceful_stop(const std::vector<int>& targets) override {
    return signal_all(targets, opts_.signal == 0 ? SIGTERM : opts_.signal, kind());
  }

  std::optional<int> metrics_connections() override { return std::nullopt; }

 private:
  AdapterOptions opts_;
};

}  // namespace

std::unique_ptr<ProxyAdapter> make_haproxy(const AdapterOptions& opts) {
  return std::make_unique<HaproxyAdapter>(opts);
}
std::unique_ptr<ProxyAdapter> make_envoy(const AdapterOptions& opts) {
  return std::make_unique<EnvoyAdapter>(opts);
}
std::unique_ptr<ProxyAdapter> make_generic(const AdapterOptions& opts) {
  return std::make_unique<GenericAdapter>(opts);
}

}  // namespace ingressx::proxy
