#pragma once
// Helpers shared by the adapters (private to the proxy library).

#include <memory>
#include <string>
#include <vector>

#include "ingressx/proxy/adapter.h"

namespace ingressx::proxy {

// The first existing pid file among `paths` whose process's comm is one of `names`;
// otherwise the root processes named `names` in /proc (see find_roots).
std::vector<int> find_proxy_pids(const AdapterOptions& opts, const std::vector<std::string>& paths,
                                 const std::vector<std::string>& names,
                                 const std::string& cmdline_prefix = "");

// Sends `sig` to every pid; throws Error(kNotFound) when `pids` is empty or no signal
// could be delivered.
StopReport signal_all(const std::vector<int>& pids, int sig, std::string_view kind);

// GET `url`, throwing Error(kTransport) naming it on a non-200 answer.
std::string http_get_ok(const std::string& url);

// Each kind's HTTP metrics source (http_count.cpp).
HttpCount stub_status_count(const HttpCountSettings& s);
HttpCount ingress_nginx_count(const HttpCountSettings& s);
HttpCount apisix_count(const HttpCountSettings& s);
HttpCount haproxy_count(const HttpCountSettings& s);
HttpCount envoy_count(const HttpCountSettings& s);
HttpCount no_http_count(const HttpCountSettings& s);

// The nginx-family, HAProxy, Envoy and generic adapters (see adapter_table.cpp).
std::unique_ptr<ProxyAdapter> make_nginx(const AdapterOptions& opts);
std::unique_ptr<ProxyAdapter> make_openresty(const AdapterOptions& opts);
std::unique_ptr<ProxyAdapter> make_ingress_nginx(const AdapterOptions& opts);
std::unique_ptr<ProxyAdapter> make_apisix(const AdapterOptions& opts);
std::unique_ptr<ProxyAdapter> make_haproxy(const AdapterOptions& opts);
std::unique_ptr<ProxyAdapter> make_envoy(const AdapterOptions& opts);
std::unique_ptr<ProxyAdapter> make_generic(const AdapterOptions& opts);

}  // namespace ingressx::proxy
