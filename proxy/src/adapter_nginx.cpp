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

struct NginxFlavour {
  std::string_view kind;
  std::vector<std::string> pid_files;
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

  // The kind's HTTP source (http_count.cpp), as the operator reads it from outside.
  std::optional<int> metrics_connections() override {
    const auto src = adapter_info(flavour_.kind).http_count({"", opts_.admin_url, 0});
    if (src.url.empty()) return std::nullopt;
    return src.count(http_get_ok(src.url), src.url);
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
                   {"/run/nginx.pid", "/var/run/nginx.pid", "/usr/local/nginx/logs/nginx.pid"}},
      opts);
}

std::unique_ptr<ProxyAdapter> make_openresty(const AdapterOptions& opts) {
  return std::make_unique<NginxAdapter>(NginxFlavour{"openresty",
                                                     {"/usr/local/openresty/nginx/logs/nginx.pid",
                                                      "/run/openresty.pid", "/run/nginx.pid"}},
                                        opts);
}

std::unique_ptr<ProxyAdapter> make_apisix(const AdapterOptions& opts) {
  return std::make_unique<NginxAdapter>(
      NginxFlavour{"apisix", {"/usr/local/apisix/logs/nginx.pid"}}, opts);
}

std::unique_ptr<ProxyAdapter> make_ingress_nginx(const AdapterOptions& opts) {
  return std::make_unique<IngressNginxAdapter>(
      NginxFlavour{"ingress-nginx", {"/tmp/nginx/nginx.pid", "/tmp/nginx.pid"}}, opts);
}

}  // namespace ingressx::proxy
