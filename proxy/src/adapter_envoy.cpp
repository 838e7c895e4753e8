// Envoy: the admin API's health-check fail and listener drain, and its stats.
#include <signal.h>

#include <algorithm>

#include "adapter_util.h"
#include "ingressx/core/error.h"
#include "ingressx/proxy/local_io.h"
#include "ingressx/proxy/metrics.h"
#include "text_util.h"

namespace ingressx::proxy {
namespace {

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

}  // namespace

std::unique_ptr<ProxyAdapter> make_envoy(const AdapterOptions& opts) {
  return std::make_unique<EnvoyAdapter>(opts);
}

}  // namespace ingressx::proxy
