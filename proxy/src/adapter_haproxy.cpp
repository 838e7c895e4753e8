// HAProxy: the soft stop and the stats socket's count.
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

}  // namespace

std::unique_ptr<ProxyAdapter> make_haproxy(const AdapterOptions& opts) {
  return std::make_unique<HaproxyAdapter>(opts);
}

}  // namespace ingressx::proxy
