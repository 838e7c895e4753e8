#pragma once
// A TCP connection with one deadline for connect, send and read (non-blocking sockets and
// poll). Used by the cutover providers (HAProxy runtime API, DNS over TCP) and the fleet
// address check. Failures throw ingressx::Error(kTransport) as "<where>: <what>".

#include <chrono>
#include <cstddef>
#include <string>

namespace ingressx::op {

// True when a TCP connection to ip:port succeeds within `timeout` (IPv4 or IPv6 literal;
// a host name is taken as reachable: nothing to check here).
bool tcp_connects(const std::string& ip, int port, std::chrono::milliseconds timeout);

class TcpConn {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  // Connects to host:port (a name or a literal; every address is tried in turn).
  TcpConn(const std::string& host, const std::string& port, Deadline deadline, std::string where);
  ~TcpConn();
  TcpConn(const TcpConn&) = delete;
  TcpConn& operator=(const TcpConn&) = delete;

  void send_all(const void* data, size_t len);
  // Waits for data; returns how many bytes were read, 0 when the peer closed.
  size_t read_some(void* buf, size_t cap);

 private:
  void wait(short events, const char* what);
  int fd_ = -1;
  Deadline deadline_;
  std::string where_;
};

}  // namespace ingressx::op
