#pragma once
// Client internals shared by client.cpp, client_watch.cpp and discovery.cpp.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "auth.h"
#include "client_util.h"
#include "ingressx/core/client.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/http.h"

namespace ingressx {

struct Client::Impl {
  // One API request, before auth and retries.
  struct Call {
    std::string method;
    std::string path;  // from the server root, with the query
    std::string body;
    std::string content_type;  // of the body
    bool idempotent = false;   // may be retried after it possibly reached the server
  };

  Impl(RestConfig config, std::unique_ptr<HttpTransport> transport, ProcessRunner* runner,
       Clock* clock);

  std::string url(const std::string& path) const { return cfg.server + path; }
  HttpRequest build(const Call& c, const detail::Credentials& creds,
                    std::chrono::milliseconds timeout) const;
  // Sends with retries and one credential refresh after a 401; returns the last response,
  // whatever its status. Throws TransportError when the last attempt failed to connect.
  HttpResponse send(const Call& c);
  // send(), then a non-2xx answer becomes an Error and the body is decoded as JSON.
  json call(const Call& c);

  RetryPolicy retry_policy() const;
  std::chrono::milliseconds backoff(const RetryPolicy& p, int next_attempt);
  // The namespace of an object verb: `ns`, else obj's metadata.namespace, else the config's.
  std::string object_ns(const ResourceRef& r, const std::string& ns, const json* obj) const;

  RestConfig cfg;
  std::unique_ptr<RealClock> own_clock;
  Clock* clock;
  std::unique_ptr<HttpTransport> transport;
  detail::Authenticator auth;
  std::atomic<uint64_t> requests{0}, retries{0};

  mutable std::mutex mu;  // guards policy and rng
  RetryPolicy policy;
  std::mt19937_64 rng{std::random_device{}()};

  std::mutex guard_mu;
  std::function<void(const std::string&, const std::string&)> write_guard;

  std::mutex discovery_mu;
  std::map<std::string, std::vector<ResourceRef>> discovery;  // by groupVersion
};

}  // namespace ingressx
