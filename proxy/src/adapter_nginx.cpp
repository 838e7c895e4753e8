// nginx-based proxies: plain nginx, OpenResty, APISIX and ingress-nginx. All quit
// gracefully on SIGQUIT to the master; ingress-nginx's controller does that itself on
// SIGTERM (and would otherwise respawn nginx), so it gets SIGTERM when it is found.
#include <signal.h>

#include <algorithm>

#include "adapter_util.h"
#include "ingressx/core/error.h"
#include "ingressx/proxy/local_io.h"
#include "ingressx/proxy/metrics.h"
#include "ingressx/proxy/procs.h"
#include "text_util.h"

namespace ingressx::proxy {
namespace {

// How the reading connection counts itself in nginx's active connections.
int minus_self(double active) {
  return std::max(0, static_cast<int>(active) - 1);
}

struct NginxFlavour {
  std::string_view kind;
  std::vector<std::string> pid_files;
  std::string default_metrics_url;  // empty: stub_status only when --admin-url is given
  std::string metric;               // Prometheus metric; empty: admin_url is stub_status
};

class NginxAdapter : public ProxyAdapter {
 public:
  NginxAdapter(NginxFlavour flavour, AdapterOptions opts)
      : flavour_(std::move(flavour)), opts_(std::move(opts)) {}

  std::string_view kind() const override { return flavour_.kind; }

  std::vector<int> find_targets() const override {
    return find_proxy_pids(opts_, flavour_.pid_files, {"nginx", "openresty"},
                           "nginx: master process");
  }

  StopReport graceful_stop(const std::vector<int>& targets) override {
    return signal_all(targets, SIGQUIT, flavour_.kind);
  }

  std::optional<int> metrics_connections() override {
    std::string url = opts_.admin_url.empty() ? flavour_.default_metrics_url : opts_.admin_url;
    if (url.empty()) return std::nullopt;
    auto body = http_get_ok(url);
    if (flavour_.metric.empty())
      return minus_self(static_cast<double>(parse_stub_status(body, url).active));
    auto sum = sum_samples(parse_prometheus(body, url), flavour_.metric, {{"state", "active"}});
    if (!sum) {
      throw Error(Error::Kind::kDecode,
                  url + ": no " + flavour_.metric + "{state=\"active\"} sample");
    }
    return minus_self(*sum);
  }

 protected:
  const AdapterOptions& options() const { return opts_; }

 private:
  NginxFlavour flavour_;
  AdapterOptions opts_;
};

class IngressNginxAdapter : public NginxAdapter {
 public:
  using NginxAdapter::NginxAdapter;

  std::vector<int> find_targets() const override {
    if (options().pid_file.empty()) {
      auto controllers = find_roots(list_processes(options().proc_root), {"nginx-ingress-c"});
      if (!controllers.empty()) return controllers;
    }
    return NginxAdapter::find_targets();
  }

  StopReport graceful_stop(const std::vector<int>& targets) override {
    std::vector<int> controllers, masters;
    for (int pid : targets) {
      auto comm = read_file(options().proc_root + "/" + std::to_string(pid) + "/comm");
      (comm && trim(*comm) == "nginx-ingress-c" ? controllers : masters).push_back(pid);
    }
    if (controllers.empty()) return NginxAdapter::graceful_stop(masters);
    return signal_all(controllers, SIGTERM, kind());
  }
};

}  // namespace

std::unique_ptr<ProxyAdapter> make_nginx(const AdapterOptions& opts) {
  return std::make_unique<NginxAdapter>(
      NginxFlavour{"nginx",
                   {"/run/nginx.pid", "/var/run/nginx.pid", "/usr/local/nginx/logs/nginx.pid"},
                   "",
                   ""},
      opts);
}

std::unique_ptr<ProxyAdapter> make_openresty(const AdapterOptions& opts) {
  return std::make_unique<NginxAdapter>(NginxFlavour{"openresty",
                                                     {"/usr/local/openresty/nginx/logs/nginx.pid",
                                                      "/run/openresty.pid", "/run/nginx.pid"},
                                                     "",
                                                     ""},
                                        opts);
}

std::unique_ptr<ProxyAdapter> make_apisix(const AdapterOptions& opts) {
  return std::make_unique<NginxAdapter>(
      NginxFlavour{"apisix",
                   {"/usr/local/apisix/logs/nginx.pid"},
                   "http://127.0.0.1:9091/apisix/prometheus/metrics",
                   "apisix_nginx_http_current_connections"},
      opts);
}

std::unique_ptr<ProxyAdapter> make_ingress_nginx(const AdapterOptions& opts) {
  return std::make_unique<IngressNginxAdapter>(
      NginxFlavour{"ingress-nginx",
                   {"/tmp/nginx/nginx.pid", "/tmp/nginx.pid"},
                   "http://127.0.0.1:10254/metrics",
                   "nginx_ingress_controller_nginx_process_connections"},
      opts);
}

}  // namespace ingressx::proxy
