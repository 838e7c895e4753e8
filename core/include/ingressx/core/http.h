#pragma once
// HTTP transport interface. The libcurl implementation lives in curl_transport.cpp and is
// the only file that includes curl. Transports are safe to share between threads; kept-alive
// connections sit in a small pool and are reused by the next request from any thread.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ingressx/core/error.h"

namespace ingressx {

struct RestConfig;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{0};  // whole request; 0 = none (watches)
  // PEM client certificate and key for this request (from an exec credential plugin); when
  // empty the transport uses the RestConfig's.
  std::string client_cert_pem, client_key_pem;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// What transports throw. `request_sent()` is false when the failure happened before the
// request could have reached the server (DNS, connect, TLS handshake), so even a
// non-idempotent request may be retried.
class TransportError : public Error {
 public:
  TransportError(std::string message, bool request_sent)
      : Error(Kind::kTransport, std::move(message)), request_sent_(request_sent) {}
  bool request_sent() const { return request_sent_; }

 private:
  bool request_sent_;
};

// Called with each chunk of a streamed body; return false to stop the stream.
using ChunkHandler = std::function<bool(const char* data, size_t len)>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Throws TransportError (kind kTransport) naming the URL on connect/TLS/timeout failures.
  virtual HttpResponse send(const HttpRequest& req) = 0;
  // Streams the body to `on_chunk`. The returned response has status and headers; the body
  // is only filled for non-2xx answers. Returns when the server closes, on_chunk returns
  // false, or `cancelled()` turns true (checked at least every 200 ms). An exception thrown
  // by on_chunk ends the stream and propagates out of stream().
  virtual HttpResponse stream(const HttpRequest& req, const ChunkHandler& on_chunk,
                              const std::function<bool()>& cancelled) = 0;
};

// TLS (CA, client certificate, server name, verification) comes from `cfg`; verification
// is on unless the config says insecure-skip-tls-verify.
std::unique_ptr<HttpTransport> make_curl_transport(const RestConfig& cfg);

}  // namespace ingressx
