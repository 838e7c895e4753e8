// The one table of proxy kinds. Adding a proxy means adding a row here.
#include "adapter_util.h"
#include "ingressx/core/error.h"

namespace ingressx::proxy {
namespace {

const AdapterInfo kAdapters[] = {
    {"nginx", "SIGQUIT to the master (pid file or /proc)", "stub_status (--admin-url)", make_nginx,
     clone_unchanged, stub_status_count},
    {"openresty", "SIGQUIT to the master (pid file or /proc)", "stub_status (--admin-url)",
     make_openresty, clone_unchanged, stub_status_count},
    {"ingress-nginx",
     "SIGTERM to the controller (it runs nginx -s quit and waits), else SIGQUIT to nginx",
     "nginx_ingress_controller_nginx_process_connections{state=\"active\"} on :10254",
     make_ingress_nginx, clone_ingress_nginx, ingress_nginx_count},
    {"apisix", "SIGQUIT to the nginx master",
     "apisix_nginx_http_current_connections{state=\"active\"} on :9091", make_apisix,
     clone_unchanged, apisix_count},
    {"haproxy", "SIGUSR1 soft stop (to the master in master-worker mode)",
     "show info CurrConns on the stats socket (--stats-socket); from outside the pod, "
     "haproxy_process_current_connections at adminURL (its Prometheus exporter)",
     make_haproxy, clone_unchanged, haproxy_count},
    {"envoy", "admin POST /healthcheck/fail, then POST /drain_listeners?graceful",
     "sum of listener.*.downstream_cx_active (admin and per-worker excluded)", make_envoy,
     clone_unchanged, envoy_count},
    {"generic", "configurable signal (--signal, default SIGTERM)", "none: /proc/net/tcp only",
     make_generic, clone_unchanged, no_http_count},
};

}  // namespace

std::span<const AdapterInfo> adapters() {
  return kAdapters;
}

const AdapterInfo& adapter_info(std::string_view kind) {
  std::string known;
  for (const auto& a : kAdapters) {
    if (a.kind == kind) return a;
    known += (known.empty() ? "" : ", ") + std::string(a.kind);
  }
  throw Error(Error::Kind::kInvalidInput,
              "proxy kind '" + std::string(kind) + "': expected one of " + known);
}

}  // namespace ingressx::proxy
