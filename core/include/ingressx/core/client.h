#pragma once
// The Kubernetes REST client: typed-by-path access to any resource, as JSON.
//
// Thread safety: a Client may be shared between threads.
// Errors: every method throws ingressx::Error; API failures carry the HTTP status and the
// metav1.Status reason and message; transport failures name the URL.
// Retries: 429 and 503 (honouring Retry-After, capped), other 5xx and connection errors for
// idempotent verbs (GET, PUT, DELETE, apply, and a PATCH made conditional by
// metadata.resourceVersion), with exponential backoff and jitter, at most
// RetryPolicy::max_attempts attempts within RetryPolicy::deadline. Streams (watch) are not
// retried here.
// Auth: bearer token, token file (re-read at most every minute), client certificates, basic
// auth, exec credential plugins (client.authentication.k8s.io/v1: run without a shell with
// KUBERNETES_EXEC_INFO set, cached until expirationTimestamp, re-run once on a 401).

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "ingressx/core/http.h"  // complete HttpTransport for the constructor's default
#include "ingressx/core/kubeconfig.h"

namespace ingressx {

class ProcessRunner;
class Clock;

using json = nlohmann::json;

// Identifies a resource collection: /api/v1/... for the core group, /apis/G/V/... otherwise.
struct ResourceRef {
  std::string group;  // "" for core
  std::string version;
  std::string resource;  // plural, lower-case
  bool namespaced = true;
  std::string kind;  // for messages and for apply bodies

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // Path of the collection (ns may be "" for all namespaces or cluster-scoped) or an object.
  std::string path(const std::string& ns, const std::string& name = "") const;
};

namespace refs {
extern const ResourceRef kConfigMaps, kSecrets, kServices, kPods, kNamespaces, kEndpoints,
    kDeployments, kLeases, kEvents, kCRDs, kServiceAccounts;
}

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;  // 0 = server default (no paging)
  std::string continue_token;
  std::string resource_version;
  std::string resource_version_match;  // NotOlderThan | Exact
  int timeout_seconds = 0;             // watch only
  bool allow_watch_bookmarks = false;  // watch only
};

enum class PatchType { kMerge, kJson, kStrategicMerge };

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds base_delay{200};
  std::chrono::milliseconds max_delay{10000};
  // The whole call, every attempt and wait included; 0 = none. Each attempt's timeout is
  // cut to what is left, and no retry starts that could not finish in time. Watches are
  // not bounded by it.
  std::chrono::milliseconds deadline{0};
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  json object;
};

// Statistics, for benchmarks and tests (e.g. "API requests per rollout").
struct ClientStats {
  uint64_t requests = 0;
  uint64_t retries = 0;
  uint64_t exec_plugin_runs = 0;
};

class Client {
 public:
  // `transport`, `runner` and `clock` default to the real ones.
  explicit Client(RestConfig cfg, std::unique_ptr<HttpTransport> transport = nullptr,
                  ProcessRunner* runner = nullptr, Clock* clock = nullptr);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const RestConfig& config() const;
  const std::string& default_namespace() const;
  void set_retry_policy(RetryPolicy p);
  // Called before every request that may change something (all but GET/HEAD/OPTIONS and
  // watches); when it throws, the request is not sent. Fencing: a leader that can no longer
  // prove its Lease makes its own writes fail (see LeaderElector::may_act).
  void set_write_guard(std::function<void(const std::string& method, const std::string& path)> g);
  ClientStats stats() const;

  // Object verbs (get, create, update, remove, patch, apply) on a namespaced resource with an
  // empty `ns` use the object's metadata.namespace, else the config's default namespace.
  json get(const ResourceRef& r, const std::string& ns, const std::string& name);
  // Returns nullopt on 404 instead of throwing.
  std::optional<json> try_get(const ResourceRef& r, const std::string& ns, const std::string& name);
  // One page; the List's metadata.continue holds the next token.
  json list(const ResourceRef& r, const std::string& ns, const ListOptions& opts = {});
  // Follows continue tokens (page size opts.limit, 500 if 0) and returns one List holding
  // every item; metadata.resourceVersion is the first page's. Relists from scratch if a
  // continue token expires (410).
  json list_all(const ResourceRef& r, const std::string& ns, ListOptions opts = {});
  json create(const ResourceRef& r, const std::string& ns, const json& obj);
  json update(const ResourceRef& r, const std::string& ns, const json& obj);
  json update_status(const ResourceRef& r, const std::string& ns, const json& obj);
  // Deletes; returns false if it did not exist. propagation: Foreground|Background|Orphan.
  bool remove(const ResourceRef& r, const std::string& ns, const std::string& name,
              const std::string& propagation = "Background");
  json patch(const ResourceRef& r, const std::string& ns, const std::string& name, PatchType type,
             const json& patch, const std::string& subresource = "");
  // Server-side apply (application/apply-patch+yaml with a JSON body).
  json apply(const ResourceRef& r, const std::string& ns, const json& obj,
             const std::string& field_manager, bool force = false,
             const std::string& subresource = "");

  // One watch stream from opts.resource_version. Calls `on_event` for each event until the
  // server ends the stream, on_event returns false, or cancelled() is true. Throws an
  // Error with is_gone() on HTTP 410 and on an ERROR event whose Status code is 410.
  void watch(const ResourceRef& r, const std::string& ns, const ListOptions& opts,
             const std::function<bool(const WatchEvent&)>& on_event,
             const std::function<bool()>& cancelled);

  // Discovery: maps apiVersion + kind to its resource (cached; refreshed on a miss).
  ResourceRef resolve(const std::string& api_version, const std::string& kind);

  // A raw request relative to the server (path starts with '/'); retries as above. A 2xx
  // body that is neither JSON nor labelled JSON (/healthz's "ok") is returned as a string.
  json raw(const std::string& method, const std::string& path, const std::string& body = "",
           const std::string& content_type = "application/json");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses Retry-After (seconds or HTTP date); returns 0 if absent or unparsable.
std::chrono::seconds parse_retry_after(const std::string& value);
// Backoff before attempt `attempt` (1-based), with up to 20% jitter from `jitter01` in [0,1).
std::chrono::milliseconds backoff_delay(const RetryPolicy& p, int attempt, double jitter01);

}  // namespace ingressx
