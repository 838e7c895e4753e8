#include "ingressx/proxy/local_io.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ingressx/core/error.h"
#include "text_util.h"

namespace ingressx::proxy {
namespace {

using Clock = std::chrono::steady_clock;

Error transport(const std::string& where, const std::string& what) {
  return Error(Error::Kind::kTransport, where + ": " + what);
}

// Owns a socket descriptor.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void wait_ready(int fd, short events, Clock::time_point deadline, const std::string& where) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  pollfd p{fd, events, 0};
  int r = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count())) : 0;
  if (r == 0) throw transport(where, "timed out");
  if (r < 0) throw transport(where, std::strerror(errno));
}

void connect_to(int fd, const sockaddr* addr, socklen_t len, Clock::time_point deadline,
                const std::string& where) {
  if (connect(fd, addr, len) == 0) return;
  if (errno != EINPROGRESS) throw transport(where, std::string("connect: ") + std::strerror(errno));
  wait_ready(fd, POLLOUT, deadline, where);
  int err = 0;
  socklen_t l = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
  if (err != 0) throw transport(where, std::string("connect: ") + std::strerror(err));
}

void send_all(int fd, const std::string& data, Clock::time_point deadline,
              const std::string& where) {
  size_t sent = 0;
  while (sent < data.size()) {
    wait_ready(fd, POLLOUT, deadline, where);
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN)
      throw transport(where, std::string("send: ") + std::strerror(errno));
    if (n > 0) sent += static_cast<size_t>(n);
  }
}

std::string read_all(int fd, Clock::time_point deadline, const std::string& where) {
  std::string out;
  char buf[16384];
  while (true) {
    wait_ready(fd, POLLIN, deadline, where);
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return out;
    if (n < 0 && errno != EAGAIN)
      throw transport(where, std::string("recv: ") + std::strerror(errno));
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    if (out.size() > (64u << 20)) throw transport(where, "response larger than 64 MiB");
  }
}

HttpResponse parse_response(const std::string& raw, const std::string& url) {
  auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) {
    throw Error(Error::Kind::kDecode, url + ": expected an HTTP response with headers");
  }
  auto lines = split_lines(std::string_view(raw).substr(0, end));
  auto parts = split_ws(lines[0]);
  auto status = parts.size() >= 2 ? to_int(parts[1]) : std::nullopt;
  if (!status)
    throw Error(Error::Kind::kDecode, url + ": bad status line '" + std::string(lines[0]) + "'");
  HttpResponse r{static_cast<int>(*status), raw.substr(end + 4)};
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string h(lines[i]);
    for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (h.rfind("transfer-encoding:", 0) == 0 && h.find("chunked") != std::string::npos) {
      r.body = decode_chunked(r.body, url);
    }
  }
  return r;
}

}  // namespace

HttpUrl parse_http_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) {
    throw Error(Error::Kind::kInvalidInput,
                "admin URL '" + url + "': expected http://HOST:PORT/PATH");
  }
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  HttpUrl u;
  if (slash != std::string::npos) u.path = rest.substr(slash);
  std::string port;
  if (!hostport.empty() && hostport[0] == '[') {
    auto close = hostport.find(']');
    if (close == std::string::npos)
      throw Error(Error::Kind::kInvalidInput, "admin URL '" + url + "': unterminated '['");
    u.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':')
      port = hostport.substr(close + 2);
  } else {
    auto colon = hostport.find(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) port = hostport.substr(colon + 1);
  }
  if (u.host == "localhost") u.host = "127.0.0.1";
  if (!port.empty()) {
    auto p = to_int(port);
    if (!p || *p <= 0 || *p > 65535)
      throw Error(Error::Kind::kInvalidInput, "admin URL '" + url + "': bad port '" + port + "'");
    u.port = static_cast<int>(*p);
  }
  if (u.host.empty())
    throw Error(Error::Kind::kInvalidInput, "admin URL '" + url + "': missing host");
  return u;
}

std::string decode_chunked(const std::string& body, const std::string& source) {
  std::string out;
  size_t pos = 0;
  while (true) {
    auto eol = body.find("\r\n", pos);
    if (eol == std::string::npos)
      throw Error(Error::Kind::kDecode, source + ": truncated chunk size");
    std::string size_hex = body.substr(pos, eol - pos);
    size_hex = size_hex.substr(0, size_hex.find(';'));
    size_t size = 0;
    try {
      size = std::stoul(size_hex, nullptr, 16);
    } catch (const std::exception&) {
      throw Error(Error::Kind::kDecode, source + ": bad chunk size '" + size_hex + "'");
    }
    pos = eol + 2;
    if (size == 0) return out;
    if (pos + size > body.size()) throw Error(Error::Kind::kDecode, source + ": truncated chunk");
    out.append(body, pos, size);
    pos += size + 2;
  }
}

HttpResponse http_request(const std::string& method, const std::string& url,
                          std::chrono::milliseconds timeout) {
  auto u = parse_http_url(url);
  auto deadline = Clock::now() + timeout;
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, u.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(u.port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, u.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(u.port));
    len = sizeof *v6;
  } else {
    throw Error(Error::Kind::kInvalidInput,
                "admin URL '" + url + "': host must be an IP literal or localhost");
  }
  Fd s{socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) throw transport(url, std::string("socket: ") + std::strerror(errno));
  connect_to(s.fd, reinterpret_cast<sockaddr*>(&ss), len, deadline, url);
  std::string req = method + " " + u.path + " HTTP/1.1\r\nHost: " + u.host + ":" +
                    std::to_string(u.port) +
                    "\r\nUser-Agent: ingressx-hook\r\nAccept: */*\r\nConnection: close\r\n";
  if (method == "POST") req += "Content-Length: 0\r\n";
  req += "\r\n";
  send_all(s.fd, req, deadline, url);
  return parse_response(read_all(s.fd, deadline, url), url);
}

std::string unix_socket_command(const std::string& path, const std::string& command,
                                std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw transport(path, "socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd s{socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) throw transport(path, std::string("socket: ") + std::strerror(errno));
  connect_to(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr, deadline, path);
  send_all(s.fd, command + "\n", deadline, path);
  return read_all(s.fd, deadline, path);
}

}  // namespace ingressx::proxy
