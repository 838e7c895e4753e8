// The probe and metrics server on civetweb's C API. Every request is answered from the
// begin_request callback (no document root, nothing served from disk).
#include <civetweb.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingressx/core/error.h"
#include "ingressx/operator/runtime.h"

namespace ingressx::op {

namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

int reply(mg_connection* conn, bool head, int status, const char* content_type,
          const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\n"
            "Content-Type: %s\r\n"
            "Content-Length: %zu\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n"
            "\r\n",
            status, reason_phrase(status), content_type, body.size());
  if (!head && !body.empty()) mg_write(conn, body.data(), body.size());
  return status;
}

// ":8080" -> "8080" (every address), "127.0.0.1:0" as is, "8080" as is. Throws on a port
// that is not a number in 0..65535.
std::string listening_ports(const std::string& listen) {
  const auto colon = listen.rfind(':');
  const std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  const std::string port = colon == std::string::npos ? listen : listen.substr(colon + 1);
  bool valid = !port.empty() && port.size() <= 5 &&
               port.find_first_not_of("0123456789") == std::string::npos;
  if (valid && std::stoi(port) > 65535) valid = false;
  if (!valid) {
    throw Error(Error::Kind::kInvalidInput,
                "listen address \"" + listen + "\": expected host:port or :port");
  }
  return host.empty() ? port : host + ":" + port;
}

// The address a local client reaches the listener on: loopback for the wildcard addresses.
std::string wake_host(const std::string& listen) {
  const auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

// Opens and closes one connection to host:port; failures are ignored.
void poke(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return;
  for (addrinfo* a = res; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const bool ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    ::close(fd);
    if (ok) break;
  }
  freeaddrinfo(res);
}

// civetweb's messages while mg_start2 runs on this thread (they say why a bind failed).
thread_local std::vector<std::string>* startup_messages = nullptr;

int log_message(const mg_connection*, const char* message) {
  if (startup_messages && message) startup_messages->emplace_back(message);
  spdlog::debug("http server: {}", message ? message : "");
  return 1;  // handled: civetweb writes nothing itself
}

}  // namespace

struct HttpServer::Impl {
  Handlers handlers;
  mg_context* ctx = nullptr;
  int port = 0;
  std::string wake;  // where to connect to wake civetweb's accept loop on stop

  int handle(mg_connection* conn) {
    const mg_request_info* ri = mg_get_request_info(conn);
    const std::string method = ri && ri->request_method ? ri->request_method : "";
    const std::string uri = ri && ri->local_uri ? ri->local_uri : "";
    const bool head = method == "HEAD";
    constexpr const char* kText = "text/plain; charset=utf-8";
    try {
      // A path whose handler is unset is not served (the metrics and the probe servers
      // can be separate, as controller-runtime's).
      const bool served = (uri == "/healthz" && handlers.healthy) ||
                          (uri == "/readyz" && (handlers.healthy || handlers.not_ready)) ||
                          (uri == "/metrics" && handlers.metrics);
      if (!served) return reply(conn, head, 404, kText, "404 page not found\n");
      if (method != "GET" && !head) return reply(conn, head, 405, kText, "method not allowed\n");
      if (uri == "/healthz") {
        const bool ok = handlers.healthy();
        return ok ? reply(conn, head, 200, kText, "ok")
                  : reply(conn, head, 503, kText, "not healthy");
      }
      if (uri == "/readyz") {
        std::optional<std::string> why;
        if (handlers.not_ready) why = handlers.not_ready();
        return why ? reply(conn, head, 503, kText, *why) : reply(conn, head, 200, kText, "ok");
      }
      const std::string body = handlers.metrics();
      return reply(conn, head, 200, "text/plain; version=0.0.4; charset=utf-8", body);
    } catch (const std::exception& e) {
      spdlog::warn("http server: {} {}: {}", method, uri, e.what());
      return reply(conn, head, 500, kText, std::string("internal error: ") + e.what() + "\n");
    }
  }

  static int begin_request(mg_connection* conn) {
    auto* self = static_cast<Impl*>(mg_get_user_data(mg_get_context(conn)));
    return self->handle(conn);
  }
};

HttpServer::HttpServer(const std::string& listen, Handlers h) : impl_(std::make_unique<Impl>()) {
  impl_->handlers = std::move(h);
  const std::string ports = listening_ports(listen);

  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(0); });

  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof callbacks);
  callbacks.begin_request = &Impl::begin_request;
  callbacks.log_message = &log_message;
  const char* options[] = {"listening_ports",    ports.c_str(), "num_threads", "2",
                           "request_timeout_ms", "10000",       nullptr};
  mg_init_data init{&callbacks, impl_.get(), options};
  unsigned code = 0;
  char text[256] = {0};
  mg_error_data err{&code, text, sizeof text};
  std::vector<std::string> messages;
  startup_messages = &messages;
  impl_->ctx = mg_start2(&init, &err);
  startup_messages = nullptr;
  if (!impl_->ctx) {
    // civetweb's log says why ("cannot bind to ...: 98 (Address already in use)"); the
    // error text only "Failed to setup server ports".
    std::string why;
    for (const auto& m : messages) {
      if (m == text) continue;
      why += (why.empty() ? "" : "; ") + m;
    }
    if (why.empty()) why = text[0] ? std::string(text) : "cannot start the HTTP server";
    throw Error(Error::Kind::kInvalidInput, "cannot listen on " + listen + ": " + why);
  }
  mg_server_port sp[4];
  std::memset(sp, 0, sizeof sp);
  const int n = mg_get_server_ports(impl_->ctx, 4, sp);
  if (n <= 0) {
    mg_stop(impl_->ctx);
    impl_->ctx = nullptr;
    throw Error(Error::Kind::kInternal, "cannot read the port listening on " + listen);
  }
  impl_->port = sp[0].port;
  impl_->wake = wake_host(listen);
  spdlog::debug("http server listening on {} (port {})", listen, impl_->port);
}

HttpServer::~HttpServer() {
  if (!impl_ || !impl_->ctx) return;
  // civetweb's accept loop polls with a 2 s quantum before it sees the stop flag; a
  // connection wakes it, so that stopping takes milliseconds rather than seconds.
  std::atomic<bool> stopped{false};
  std::thread waker([this, &stopped] {
    while (!stopped) {
      poke(impl_->wake, impl_->port);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  mg_stop(impl_->ctx);
  stopped = true;
  waker.join();
}

int HttpServer::port() const {
  return impl_->port;
}

}  // namespace ingressx::op
