#include "counters.h"

#include <charconv>

#include "ingressx/core/error.h"
#include "ingressx/proxy/proc_net.h"
#include "ingressx/proxy/procs.h"

namespace ingressx::hook {
namespace {

class ProcCounter : public ConnectionCounter {
 public:
  ProcCounter(std::set<int> ports, std::string proc_root)
      : ports_(std::move(ports)), proc_root_(std::move(proc_root)) {}
  std::optional<int> count() override {
    try {
      return proxy::count_established(proxy::read_sockets(proc_root_), ports_);
    } catch (const Error&) {
      return std::nullopt;
    }
  }
  std::string source() const override {
    std::string s = "proc:";
    for (int p : ports_) {
      if (s.size() > 5) s += ',';
      s += std::to_string(p);
    }
    return s;
  }

 private:
  std::set<int> ports_;
  std::string proc_root_;
};

class MetricsCounter : public ConnectionCounter {
 public:
  MetricsCounter(proxy::ProxyAdapter& adapter, std::unique_ptr<ConnectionCounter> fallback)
      : adapter_(adapter), fallback_(std::move(fallback)) {}
  std::optional<int> count() override {
    try {
      if (auto n = adapter_.metrics_connections()) return n;
    } catch (const Error&) {
      // The metrics endpoint goes away while the proxy quits; /proc still answers.
    }
    return fallback_->count();
  }
  std::string source() const override { return "metrics (fallback " + fallback_->source() + ")"; }

 private:
  proxy::ProxyAdapter& adapter_;
  std::unique_ptr<ConnectionCounter> fallback_;
};

}  // namespace

std::unique_ptr<ConnectionCounter> make_proc_counter(std::set<int> ports, std::string proc_root) {
  return std::make_unique<ProcCounter>(std::move(ports), std::move(proc_root));
}

std::unique_ptr<ConnectionCounter> make_metrics_counter(
    proxy::ProxyAdapter& adapter, std::unique_ptr<ConnectionCounter> fallback) {
  return std::make_unique<MetricsCounter>(adapter, std::move(fallback));
}

std::set<int> discover_ports(const std::vector<int>& pids, const std::string& proc_root,
                             bool* attributed) {
  auto sockets = proxy::read_sockets(proc_root);
  std::set<int> ports;
  if (!pids.empty()) {
    auto all = proxy::with_descendants(proxy::list_processes(proc_root), pids);
    auto inodes = proxy::socket_inodes(all, proc_root);
    if (!inodes.empty()) ports = proxy::listen_ports(sockets, inodes);
  }
  *attributed = !ports.empty();
  return ports.empty() ? proxy::listen_ports(sockets) : ports;
}

std::set<int> parse_ports(const std::vector<std::string>& specs) {
  std::set<int> out;
  for (const auto& spec : specs) {
    std::string_view rest = spec;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto item = rest.substr(0, comma);
      int port = 0;
      auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), port);
      if (item.empty() || ec != std::errc() || end != item.data() + item.size() || port <= 0 ||
          port > 65535) {
        throw Error(Error::Kind::kInvalidInput,
                    "--ports: expected port numbers 1-65535 separated by commas, got '" +
                        std::string(item) + "'");
      }
      out.insert(port);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return out;
}

}  // namespace ingressx::hook
