// The libcurl HttpTransport: the only file that includes curl.
//
// Connections are reused through a pool of easy handles (each keeps its own connection cache);
// a request borrows the most recently returned handle, so a thread issuing requests one after
// another keeps using one warm connection. Streams run on a private multi handle and poll
// every 100 ms so `cancelled()` is noticed quickly even when no data flows.

#include <curl/curl.h>
#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "ingressx/core/error.h"
#include "ingressx/core/http.h"
#include "ingressx/core/kubeconfig.h"

namespace ingressx {
namespace {

constexpr long kConnectTimeoutMs = 10000;
constexpr long kStallSeconds = 120;  // non-stream requests: abort below 1 byte/s for this long
constexpr long kPollMs = 100;
constexpr size_t kMaxIdleHandles = 16;

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using Multi = std::unique_ptr<CURLM, MultiDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw Error(Error::Kind::kInternal, "curl_global_init failed");
  });
}

// State of one transfer, shared with the callbacks.
struct Transfer {
  HttpResponse resp;
  const ChunkHandler* on_chunk = nullptr;  // set for streams
  bool stopped = false;                    // on_chunk returned false
  std::exception_ptr error;                // thrown by on_chunk
  char errbuf[CURL_ERROR_SIZE] = {};

  bool success() const { return resp.status >= 200 && resp.status < 300; }
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after 100 Continue, say)
    t->resp.headers.clear();
    size_t sp = line.find(' ');
    t->resp.status = sp == std::string::npos ? 0 : std::atoi(line.c_str() + sp + 1);
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = lower(trim(line.substr(0, colon)));
  std::string value = trim(line.substr(colon + 1));
  auto [it, inserted] = t->resp.headers.emplace(name, value);
  if (!inserted) it->second += ", " + value;
  return size * n;
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (!t->on_chunk || !t->success()) {
    t->resp.body.append(data, len);
    return len;
  }
  try {
    if (!(*t->on_chunk)(data, len)) {
      t->stopped = true;
      return 0;  // ends the transfer with CURLE_WRITE_ERROR
    }
  } catch (...) {
    t->error = std::current_exception();
    return 0;
  }
  return len;
}

// Child processes (exec credential plugins, tools) must not inherit API connections.
int on_socket(void*, curl_socket_t fd, curlsocktype) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  return CURL_SOCKOPT_OK;
}

// True when curl gave up before any of the request could have reached the server.
bool before_request(CURL* h, CURLcode rc) {
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      return true;
    default:
      break;
  }
  curl_off_t pretransfer = 0;
  return curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer) == CURLE_OK &&
         pretransfer == 0;
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(const RestConfig& cfg) : cfg_(cfg) {
    init_curl_once();
    if (!cfg_.tls_server_name.empty()) prepare_server_name();
  }

  HttpResponse send(const HttpRequest& req) override {
    Lease h(*this);
    Transfer t;
    Slist headers = header_list(req);
    configure(h.get(), req, t, headers.get(), /*streaming=*/false);
    CURLcode rc = curl_easy_perform(h.get());
    if (rc != CURLE_OK) fail(h.get(), req, rc, t);
    if (t.resp.status == 0) {
      long code = 0;
      curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &code);
      t.resp.status = static_cast<int>(code);
    }
    return std::move(t.resp);
  }

  HttpResponse stream(const HttpRequest& req, const ChunkHandler& on_chunk,
                      const std::function<bool()>& cancelled) override {
    Lease h(*this);
    Transfer t;
    t.on_chunk = &on_chunk;
    Slist headers = header_list(req);
    configure(h.get(), req, t, headers.get(), /*streaming=*/true);
    Multi multi(curl_multi_init());
    if (!multi) throw Error(Error::Kind::kInternal, "curl_multi_init failed");
    curl_multi_add_handle(multi.get(), h.get());
    std::optional<CURLcode> done;
    std::exception_ptr cancel_error;
    CURLMcode mc = CURLM_OK;
    while (!done) {
      int running = 0;
      mc = curl_multi_perform(multi.get(), &running);
      if (mc != CURLM_OK) break;
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi.get(), &queued))
        if (msg->msg == CURLMSG_DONE) done = msg->data.result;
      if (done || t.error || t.stopped) break;
      try {
        if (cancelled && cancelled()) break;
      } catch (...) {
        cancel_error = std::current_exception();
        break;
      }
      curl_multi_poll(multi.get(), nullptr, 0, kPollMs, nullptr);
    }
    curl_multi_remove_handle(multi.get(), h.get());
    if (t.error) std::rethrow_exception(t.error);
    if (cancel_error) std::rethrow_exception(cancel_error);
    if (mc != CURLM_OK)
      throw TransportError(req.method + " " + req.url + ": " + curl_multi_strerror(mc), true);
    if (done && *done != CURLE_OK && !(t.stopped && *done == CURLE_WRITE_ERROR))
      fail(h.get(), req, *done, t);
    return std::move(t.resp);
  }

 private:
  // Borrows an easy handle from the pool and gives it back.
  class Lease {
   public:
    explicit Lease(CurlTransport& owner) : owner_(owner), h_(owner.acquire()) {}
    ~Lease() { owner_.release(std::move(h_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    CURL* get() const { return h_.get(); }

   private:
    CurlTransport& owner_;
    Easy h_;
  };

  Easy acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        Easy h = std::move(idle_.back());
        idle_.pop_back();
        return h;
      }
    }
    Easy h(curl_easy_init());
    if (!h) throw Error(Error::Kind::kInternal, "curl_easy_init failed");
    return h;
  }

  void release(Easy h) {
    if (!h) return;
    // Drops pointers into the finished transfer; keeps live connections, DNS and TLS caches.
    curl_easy_reset(h.get());
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(h));
  }

  Slist header_list(const HttpRequest& req) const {
    curl_slist* list = nullptr;
    auto add = [&list](const std::string& line) {
      curl_slist* next = curl_slist_append(list, line.c_str());
      if (!next) {
        curl_slist_free_all(list);
        throw Error(Error::Kind::kInternal, "curl_slist_append failed");
      }
      list = next;
    };
    for (const auto& [name, value] : req.headers) add(name + ": " + value);
    add("Expect:");  // no 100-continue round trip
    return Slist(list);
  }

  void configure(CURL* h, const HttpRequest& req, Transfer& t, curl_slist* headers,
                 bool streaming) const {
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, on_socket);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t.errbuf);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
    if (req.timeout.count() > 0)
      curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
    if (!streaming) {
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
      curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    }
    configure_url(h, req.url);
    configure_method(h, req);
    configure_tls(h, req);
    if (!cfg_.proxy_url.empty()) curl_easy_setopt(h, CURLOPT_PROXY, cfg_.proxy_url.c_str());
  }

  void configure_url(CURL* h, const std::string& url) const {
    // With tls-server-name, the URL names that host (for SNI and certificate verification)
    // and CONNECT_TO sends the connection to the real server.
    if (connect_to_ && url.rfind(cfg_.server, 0) == 0) {
      std::string rewritten = server_name_url_ + url.substr(cfg_.server.size());
      curl_easy_setopt(h, CURLOPT_URL, rewritten.c_str());  // curl copies the string
      curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to_.get());
    } else {
      curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    }
  }

  static void configure_method(CURL* h, const HttpRequest& req) {
    if (req.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
      return;
    }
    if (req.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
      return;
    }
    if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH" || !req.body.empty()) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    }
    if (req.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  static void set_blob(CURL* h, CURLoption opt, const std::string& data) {
    curl_blob blob{const_cast<char*>(data.data()), data.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h, opt, &blob);
  }

  void configure_tls(CURL* h, const HttpRequest& req) const {
    if (cfg_.insecure_skip_tls_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    // A configured CA replaces the system trust store, as in kubectl.
    if (!cfg_.ca_data.empty()) {
      set_blob(h, CURLOPT_CAINFO_BLOB, cfg_.ca_data);
      curl_easy_setopt(h, CURLOPT_CAINFO, nullptr);
      curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
    } else if (!cfg_.ca_file.empty()) {
      curl_easy_setopt(h, CURLOPT_CAINFO, cfg_.ca_file.c_str());
      curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
    }
    if (!req.client_cert_pem.empty()) {
      curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
      set_blob(h, CURLOPT_SSLCERT_BLOB, req.client_cert_pem);
      curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
      set_blob(h, CURLOPT_SSLKEY_BLOB, req.client_key_pem);
      return;
    }
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    if (!cfg_.client_cert_data.empty())
      set_blob(h, CURLOPT_SSLCERT_BLOB, cfg_.client_cert_data);
    else if (!cfg_.client_cert_file.empty())
      curl_easy_setopt(h, CURLOPT_SSLCERT, cfg_.client_cert_file.c_str());
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    if (!cfg_.client_key_data.empty())
      set_blob(h, CURLOPT_SSLKEY_BLOB, cfg_.client_key_data);
    else if (!cfg_.client_key_file.empty())
      curl_easy_setopt(h, CURLOPT_SSLKEY, cfg_.client_key_file.c_str());
  }

  void prepare_server_name() {
    std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
    if (!u || curl_url_set(u.get(), CURLUPART_URL, cfg_.server.c_str(), 0) != CURLUE_OK)
      throw Error(
          Error::Kind::kInvalidInput,
          "server URL \"" + cfg_.server + "\" is not a valid URL (from " + cfg_.source + ")");
    char* host = nullptr;
    char* port = nullptr;
    curl_url_get(u.get(), CURLUPART_HOST, &host, 0);
    curl_url_get(u.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    std::string h = host ? host : "", p = port ? port : "443";
    curl_free(host);
    curl_free(port);
    if (h.empty() || h == cfg_.tls_server_name) return;
    server_name_url_ = "https://" + cfg_.tls_server_name + ":" + p;
    std::string entry = cfg_.tls_server_name + ":" + p + ":" + h + ":" + p;
    connect_to_.reset(curl_slist_append(nullptr, entry.c_str()));
  }

  [[noreturn]] static void fail(CURL* h, const HttpRequest& req, CURLcode rc, const Transfer& t) {
    std::string detail = t.errbuf[0] ? t.errbuf : curl_easy_strerror(rc);
    throw TransportError(req.method + " " + req.url + ": " + detail, !before_request(h, rc));
  }

  const RestConfig cfg_;
  std::string server_name_url_;  // https://<tls-server-name>:<port>
  Slist connect_to_;
  std::mutex mu_;
  std::vector<Easy> idle_;
};

}  // namespace

std::unique_ptr<HttpTransport> make_curl_transport(const RestConfig& cfg) {
  if (cfg.server.empty())
    throw Error(Error::Kind::kInvalidInput,
                "the client configuration has no server URL" +
                    (cfg.source.empty() ? std::string() : " (from " + cfg.source + ")"));
  return std::make_unique<CurlTransport>(cfg);
}

}  // namespace ingressx
