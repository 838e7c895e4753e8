#pragma once
// HTTP transport interface. The libcurl implementation lives in curl_transport.cpp and is
// the only file that includes curl. Transports are safe to share between threads; each
// thread gets its own connection pool slot (connections are reused per thread).

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ingressx {

struct RestConfig;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{0};  // whole request; 0 = none (watches)
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Called with each chunk of a streamed body; return false to stop the stream.
using ChunkHandler = std::function<bool(const char* data, size_t len)>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Throws Error(kTransport) naming the URL on connect/TLS/timeout failures.
  virtual HttpResponse send(const HttpRequest& req) = 0;
  // Streams the body to `on_chunk`. The returned response has status and headers; the body
  // is only filled for non-2xx answers. Returns when the server closes, on_chunk returns
  // false, or `cancelled()` turns true (checked at least every 200 ms).
  virtual HttpResponse stream(const HttpRequest& req, const ChunkHandler& on_chunk,
                              const std::function<bool()>& cancelled) = 0;
};

// TLS (CA, client certificate, server name, verification) comes from `cfg`; verification
// is on unless the config says insecure-skip-tls-verify.
std::unique_ptr<HttpTransport> make_curl_transport(const RestConfig& cfg);

}  // namespace ingressx
