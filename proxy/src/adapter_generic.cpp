// Any other server: a configurable signal; connections from /proc only.
#include <signal.h>

#include <algorithm>

#include "adapter_util.h"
#include "ingressx/core/error.h"
#include "ingressx/proxy/local_io.h"
#include "ingressx/proxy/metrics.h"
#include "text_util.h"

namespace ingressx::proxy {
namespace {

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

std::unique_ptr<ProxyAdapter> make_generic(const AdapterOptions& opts) {
  return std::make_unique<GenericAdapter>(opts);
}

}  // namespace ingressx::proxy
