#include "cutover/tcp.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "ingressx/core/error.h"

namespace ingressx::op {

namespace {
Error transport(const std::string& where, const std::string& what) {
  return Error(Error::Kind::kTransport, where + ": " + what);
}
}  // namespace

TcpConn::TcpConn(const std::string& host, const std::string& port, Deadline deadline,
                 std::string where)
    : deadline_(deadline), where_(std::move(where)) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    throw transport(where_, "cannot resolve " + host + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, freeaddrinfo);

  std::string last_error = "no address";
  for (auto* ai = res; ai; ai = ai->ai_next) {
    fd_ = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd_ < 0) {
      last_error = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    int err = 0;
    if (connect(fd_, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        try {
          wait(POLLOUT, "connect");
        } catch (...) {
          // A constructor that throws runs no destructor: close the socket here.
          close(fd_);
          fd_ = -1;
          throw;
        }
        socklen_t len = sizeof err;
        getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
    if (err == 0) return;
    last_error = std::string("connect: ") + std::strerror(err);
    close(fd_);
    fd_ = -1;
  }
  throw transport(where_, last_error);
}

TcpConn::~TcpConn() {
  if (fd_ >= 0) close(fd_);
}

void TcpConn::wait(short events, const char* what) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw transport(where_, std::string(what) + ": timed out");
    pollfd p{fd_, events, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return;
    if (r < 0 && errno != EINTR)
      throw transport(where_, std::string(what) + ": " + std::strerror(errno));
  }
}

void TcpConn::send_all(const void* data, size_t len) {
  const auto* p = static_cast<const char*>(data);
  for (size_t sent = 0; sent < len;) {
    wait(POLLOUT, "send");
    ssize_t n = send(fd_, p + sent, len - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      throw transport(where_, std::string("send: ") + std::strerror(errno));
    if (n > 0) sent += static_cast<size_t>(n);
  }
}

size_t TcpConn::read_some(void* buf, size_t cap) {
  for (;;) {
    wait(POLLIN, "read");
    ssize_t n = recv(fd_, buf, cap, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EAGAIN && errno != EINTR)
      throw transport(where_, std::string("read: ") + std::strerror(errno));
  }
}

bool tcp_connects(const std::string& ip, int port, std::chrono::milliseconds timeout) {
  in6_addr a{};
  if (inet_pton(AF_INET, ip.c_str(), &a) != 1 && inet_pton(AF_INET6, ip.c_str(), &a) != 1)
    return true;  // a host name (LoadBalancer hostname): nothing to check here
  try {
    TcpConn conn(ip, std::to_string(port), std::chrono::steady_clock::now() + timeout, ip);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace ingressx::op
