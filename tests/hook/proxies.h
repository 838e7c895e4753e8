#pragma once
// Real proxies for the hook tests, each with its own config, pid file and logs in a temp
// directory, listening on free loopback ports, killed by PID when the object goes away.

#include <memory>
#include <string>
#include <vector>

#include "child.h"

namespace hooktest {

struct Content {
  size_t slow_bytes = 100 * 1024;   // /slow.bin at 50 KB/s: about 2 s
  size_t stream_bytes = 64 * 1024;  // /stream.bin at 16 KB/s: about 4 s
};

class ProxyUnderTest {
 public:
  virtual ~ProxyUnderTest() = default;
  virtual std::string name() const = 0;
  virtual int port() const = 0;  // where the clients connect
  virtual std::vector<std::string> hook_args() const = 0;
  // The seed's shell preStop hook, adapted to this proxy's files and process group.
  virtual std::string shell_hook(const std::string& delay) const = 0;
  // Flags that make the hook count from the proxy's own metrics.
  virtual std::vector<std::string> metrics_args() const = 0;
  virtual Child& process() = 0;
  // How many graceful-quit signals the proxy itself logged; -1 when it does not log them.
  virtual int quit_signals_logged() const = 0;
};

// nginx serving /fast, /slow.bin and /stream.bin itself (rate-limited static files).
std::unique_ptr<ProxyUnderTest> start_nginx(const std::string& dir, const Content& content);

// HAProxy (master-worker, -W) in front of a backend nginx that serves the same content.
std::unique_ptr<ProxyUnderTest> start_haproxy(const std::string& dir, const Content& content);

}  // namespace hooktest
