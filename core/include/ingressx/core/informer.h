#pragma once
// An informer: list + watch into a local cache, with handlers.
//
// Guarantees: handlers run on the informer's thread, one at a time, in event order. After a
// relist (410 Gone, or reconnect after the apiserver restarts) the cache is diffed with the
// new list so each object's change is delivered exactly once: new objects as add, changed
// resourceVersions as update, vanished objects as delete. Watch streams carry bookmarks
// and resume from the last seen resourceVersion; reconnects back off (capped at 30 s).

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ingressx/core/client.h"

namespace ingressx {

struct InformerHandlers {
  std::function<void(const json& obj)> on_add;
  std::function<void(const json& old_obj, const json& new_obj)> on_update;
  std::function<void(const json& obj)> on_delete;
};

struct InformerStats {
  uint64_t lists = 0;
  uint64_t watches = 0;
  uint64_t gone = 0;  // 410s seen
  uint64_t events = 0;
};

class Informer {
 public:
  // ns "" = all namespaces (or cluster-scoped). selectors from `opts`.
  Informer(Client& client, ResourceRef ref, std::string ns, ListOptions opts = {});
  ~Informer();  // stops
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void add_handlers(InformerHandlers h);  // before start()
  void start();
  // Stops and joins. A later start() resumes watching from the last resourceVersion with
  // the cache kept, so changes made meanwhile are delivered once (relisting on 410).
  void stop();
  // True once the first list has been delivered to handlers.
  bool wait_for_sync(std::chrono::milliseconds timeout);
  bool has_synced() const;

  std::vector<json> list() const;
  std::optional<json> get(const std::string& ns, const std::string& name) const;
  std::string last_resource_version() const;
  InformerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The pure part of a relist: what to deliver when the cache `before` is replaced by `after`
// (keyed by namespace/name). Exposed for unit tests.
struct CacheDelta {
  enum class Type { kAdd, kUpdate, kDelete };
  Type type;
  json old_obj;  // update/delete
  json new_obj;  // add/update
};
std::vector<CacheDelta> diff_cache(const std::vector<json>& before, const std::vector<json>& after);
std::string object_key(const json& obj);  // "ns/name" or "name"

}  // namespace ingressx
