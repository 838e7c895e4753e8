#pragma once
// Finding a proxy's processes: from a pid file, or by scanning /proc of this process's
// PID namespace (in a pod with a shared or the container's namespace: the proxy's).

#include <optional>
#include <string>
#include <vector>

namespace ingressx::proxy {

struct ProcInfo {
  int pid = 0;
  int ppid = 0;
  std::string comm;     // /proc/<pid>/comm (at most 15 characters)
  std::string cmdline;  // argv joined with spaces
};

// Processes visible in `proc_root`; unreadable entries (exited meanwhile) are skipped.
std::vector<ProcInfo> list_processes(const std::string& proc_root = "/proc");

// The pid in a pid file if that process exists; nullopt if the file is missing. Throws
// Error(kDecode) naming the file when its content is not a pid.
std::optional<int> read_pid_file(const std::string& path, const std::string& proc_root = "/proc");

// Processes whose comm is one of `names` and whose parent is not such a process: the
// masters of a master/worker proxy. `cmdline_prefix`, when not empty, must also match.
std::vector<int> find_roots(const std::vector<ProcInfo>& procs,
                            const std::vector<std::string>& names,
                            const std::string& cmdline_prefix = "");

// `pids` and all their descendants.
std::vector<int> with_descendants(const std::vector<ProcInfo>& procs, const std::vector<int>& pids);

bool process_alive(int pid);

}  // namespace ingressx::proxy
