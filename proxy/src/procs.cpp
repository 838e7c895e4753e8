#include "ingressx/proxy/procs.h"

#include <dirent.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "ingressx/core/error.h"
#include "text_util.h"

namespace ingressx::proxy {
namespace {

std::optional<ProcInfo> read_proc(const std::string& proc_root, int pid) {
  std::string dir = proc_root + "/" + std::to_string(pid);
  auto stat = read_file(dir + "/stat");
  auto comm = read_file(dir + "/comm");
  if (!stat || !comm) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; take the last ')'.
  auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  auto fields = split_ws(std::string_view(*stat).substr(close + 1));
  if (fields.size() < 2) return std::nullopt;
  ProcInfo p;
  p.pid = pid;
  p.ppid = static_cast<int>(to_int(fields[1]).value_or(0));
  p.comm = std::string(trim(*comm));
  auto cmdline = read_file(dir + "/cmdline").value_or("");
  while (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  p.cmdline = cmdline;
  return p;
}

}  // namespace

std::vector<ProcInfo> list_processes(const std::string& proc_root) {
  std::vector<ProcInfo> out;
  DIR* d = opendir(proc_root.c_str());
  if (!d) return out;
  while (auto* ent = readdir(d)) {
    auto pid = to_int(ent->d_name);
    if (!pid || *pid <= 0) continue;
    if (auto p = read_proc(proc_root, static_cast<int>(*pid))) out.push_back(std::move(*p));
  }
  closedir(d);
  return out;
}

std::optional<int> read_pid_file(const std::string& path, const std::string& proc_root) {
  auto text = read_file(path);
  if (!text) return std::nullopt;
  auto first = trim(split_lines(*text).empty() ? std::string_view() : split_lines(*text)[0]);
  auto pid = to_int(first);
  if (!pid || *pid <= 0) {
    throw Error(Error::Kind::kDecode,
                "pid file " + path + ": expected a process id, got '" + std::string(first) + "'");
  }
  if (!read_file(proc_root + "/" + std::to_string(*pid) + "/stat")) return std::nullopt;
  return static_cast<int>(*pid);
}

std::vector<int> find_roots(const std::vector<ProcInfo>& procs,
                            const std::vector<std::string>& names,
                            const std::string& cmdline_prefix) {
  auto is_named = [&](const ProcInfo& p) {
    return std::find(names.begin(), names.end(), p.comm) != names.end();
  };
  std::set<int> named;
  for (const auto& p : procs) {
    if (is_named(p)) named.insert(p.pid);
  }
  std::vector<int> out;
  for (const auto& p : procs) {
    if (!named.count(p.pid) || named.count(p.ppid)) continue;
    if (!cmdline_prefix.empty() && p.cmdline.rfind(cmdline_prefix, 0) != 0) continue;
    out.push_back(p.pid);
  }
  return out;
}

std::vector<int> with_descendants(const std::vector<ProcInfo>& procs,
                                  const std::vector<int>& pids) {
  std::set<int> all(pids.begin(), pids.end());
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& p : procs) {
      if (all.count(p.ppid) && all.insert(p.pid).second) grew = true;
    }
  }
  return {all.begin(), all.end()};
}

bool process_alive(int pid) {
  return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

}  // namespace ingressx::proxy
