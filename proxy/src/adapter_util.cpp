#include "adapter_util.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ingressx/core/error.h"
#include "ingressx/proxy/local_io.h"
#include "ingressx/proxy/procs.h"
#include "text_util.h"

namespace ingressx::proxy {

std::vector<int> find_proxy_pids(const AdapterOptions& opts, const std::vector<std::string>& paths,
                                 const std::vector<std::string>& names,
                                 const std::string& cmdline_prefix) {
  auto named = [&](int pid) {
    auto comm = read_file(opts.proc_root + "/" + std::to_string(pid) + "/comm");
    return comm && std::find(names.begin(), names.end(), std::string(trim(*comm))) != names.end();
  };
  if (!opts.pid_file.empty()) {
    // An explicit pid file is trusted as it is: its process may have any name.
    auto pid = read_pid_file(opts.pid_file, opts.proc_root);
    return pid ? std::vector<int>{*pid} : std::vector<int>{};
  }
  for (const auto& path : paths) {
    auto pid = read_pid_file(path, opts.proc_root);
    if (pid && named(*pid)) return {*pid};
  }
  return find_roots(list_processes(opts.proc_root), names, cmdline_prefix);
}

StopReport signal_all(const std::vector<int>& pids, int sig, std::string_view kind) {
  if (pids.empty()) {
    throw Error(Error::Kind::kNotFound, std::string(kind) + ": no process to signal was found");
  }
  StopReport r;
  r.action = signal_name(sig);
  std::string errors;
  for (int pid : pids) {
    if (kill(pid, sig) == 0) {
      r.signalled.push_back(pid);
    } else {
      errors += " pid " + std::to_string(pid) + ": " + std::strerror(errno) + ";";
    }
  }
  if (r.signalled.empty()) {
    throw Error(Error::Kind::kNotFound, std::string(kind) + ": " + r.action + " failed:" + errors);
  }
  return r;
}

namespace {
constexpr std::pair<int, std::string_view> kSignals[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGKILL, "SIGKILL"},
    {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}, {SIGTERM, "SIGTERM"}, {SIGWINCH, "SIGWINCH"},
};
}  // namespace

std::string signal_name(int sig) {
  for (auto [n, name] : kSignals) {
    if (n == sig) return std::string(name);
  }
  return "signal " + std::to_string(sig);
}

int parse_signal(std::string_view name) {
  std::string full = name.substr(0, 3) == "SIG" ? std::string(name) : "SIG" + std::string(name);
  for (auto [n, known] : kSignals) {
    if (known == full) return n;
  }
  if (auto v = to_int(name); v && *v > 0 && *v < 65) return static_cast<int>(*v);
  throw Error(Error::Kind::kInvalidInput,
              "signal '" + std::string(name) + "': expected a name such as SIGTERM or a number");
}

std::string http_get_ok(const std::string& url) {
  auto r = http_request("GET", url);
  if (r.status != 200) {
    throw Error(Error::Kind::kTransport,
                url + ": expected HTTP 200, got " + std::to_string(r.status));
  }
  return r.body;
}

}  // namespace ingressx::proxy
