#pragma once
// Minimal clients for a proxy's local admin endpoints: HTTP/1.1 over TCP to a numeric
// address (no DNS, no TLS, no libcurl: the hook is a small static binary) and a command
// on a unix socket (HAProxy's stats socket). Each call opens one connection and closes it.

#include <chrono>
#include <string>

namespace ingressx::proxy {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// `url` is http://HOST:PORT/PATH where HOST is an IPv4 or bracketed IPv6 literal or
// "localhost". Throws Error(kInvalidInput) for another URL, Error(kTransport) on a
// connect, read or timeout failure, Error(kDecode) on a malformed response.
HttpResponse http_request(const std::string& method, const std::string& url,
                          std::chrono::milliseconds timeout = std::chrono::seconds(2));

// Splits http://host:port/path; exposed for tests. Throws Error(kInvalidInput).
struct HttpUrl {
  std::string host;
  int port = 80;
  std::string path = "/";
};
HttpUrl parse_http_url(const std::string& url);

// Decodes a chunked transfer-encoded body. Throws Error(kDecode) naming `source`.
std::string decode_chunked(const std::string& body, const std::string& source);

// Sends `command` (a newline is appended) to a unix stream socket and returns everything
// read until the peer closes. Throws Error(kTransport).
std::string unix_socket_command(const std::string& path, const std::string& command,
                                std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace ingressx::proxy
