#pragma once
// Sockets as the kernel lists them in /proc/net/tcp and /proc/net/tcp6 of this process's
// network namespace (in a pod: the pod's). Used to count a proxy's client connections
// without any metrics endpoint: ESTABLISHED sockets whose local port is a listen port.

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ingressx::proxy {

enum class TcpState : int { kEstablished = 0x01, kListen = 0x0A, kOther = 0 };

struct SocketEntry {
  std::string local_address;  // "127.0.0.1" or "::1" (textual)
  int local_port = 0;
  std::string remote_address;
  int remote_port = 0;
  int state = 0;  // the kernel's st column (TCP_ESTABLISHED = 1, TCP_LISTEN = 10, ...)
  unsigned long long inode = 0;
};

// Parses the text of /proc/net/tcp (ipv6 = false) or /proc/net/tcp6 (ipv6 = true). The
// header line is skipped. Throws Error(kDecode) naming `source`, the line number and the
// column on a malformed line.
std::vector<SocketEntry> parse_proc_net_tcp(std::string_view text, bool ipv6,
                                            const std::string& source);

// Reads and parses <proc_root>/net/tcp and <proc_root>/net/tcp6; a missing tcp6 (IPv6
// disabled) is not an error. Throws Error on a missing tcp or malformed content.
std::vector<SocketEntry> read_sockets(const std::string& proc_root = "/proc");

// ESTABLISHED sockets whose local port is in `ports`.
int count_established(const std::vector<SocketEntry>& sockets, const std::set<int>& ports);

// Local ports of LISTEN sockets. When `inodes` is non-empty, only sockets with one of
// those inodes (the sockets a process holds open) are considered.
std::set<int> listen_ports(const std::vector<SocketEntry>& sockets,
                           const std::set<unsigned long long>& inodes = {});

// Socket inodes held open by the given processes (from /proc/<pid>/fd). Processes or fds
// that cannot be read are skipped: the result may be empty.
std::set<unsigned long long> socket_inodes(const std::vector<int>& pids,
                                           const std::string& proc_root = "/proc");

}  // namespace ingressx::proxy
