#pragma once
// Where the hook reads active connections from.

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ingressx/proxy/adapter.h"

namespace ingressx::hook {

class ConnectionCounter {
 public:
  virtual ~ConnectionCounter() = default;
  // Active client connections; nullopt when they cannot be counted right now.
  virtual std::optional<int> count() = 0;
  virtual std::string source() const = 0;  // for the log: "proc:80,443", "metrics"
};

// ESTABLISHED sockets on `ports` in <proc_root>/net/tcp{,6}.
std::unique_ptr<ConnectionCounter> make_proc_counter(std::set<int> ports, std::string proc_root);

// The adapter's metrics; when they fail (the proxy closed its metrics listener while
// quitting) the fallback counts instead.
std::unique_ptr<ConnectionCounter> make_metrics_counter(
    proxy::ProxyAdapter& adapter, std::unique_ptr<ConnectionCounter> fallback);

// The proxy's listen ports: LISTEN sockets held by `pids` and their children; when none
// can be attributed (no pids, /proc/<pid>/fd unreadable), every LISTEN socket in the
// network namespace. Must be called before the graceful signal closes the listeners.
std::set<int> discover_ports(const std::vector<int>& pids, const std::string& proc_root,
                             bool* attributed);

// Parses "80,443" / "8080"; throws Error(kInvalidInput) naming the bad entry.
std::set<int> parse_ports(const std::vector<std::string>& specs);

}  // namespace ingressx::hook
