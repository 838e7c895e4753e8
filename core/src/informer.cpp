// Informer: a reflector thread (list, then watch from the list's resourceVersion) feeding a
// keyed cache. The cache doubles as the record of what handlers have been told, so a relist
// diffed against it delivers each change exactly once.

#include "ingressx/core/informer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "ingressx/core/error.h"

namespace ingressx {

namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr milliseconds kInitialBackoff{500};
constexpr milliseconds kMaxBackoff{30000};
// A stream that lasted this long, or delivered anything, counts as healthy.
constexpr milliseconds kHealthyStream{1000};
constexpr int kMinWatchTimeoutSeconds = 300;  // client-go: 5 min * (1 + rand)

std::string string_at(const json& obj, const char* field) {
  if (!obj.is_object()) return "";
  auto it = obj.find(field);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& metadata_of(const json& obj) {
  static const json kEmpty = json::object();
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find("metadata");
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}

std::string rv_of(const json& obj) {
  return string_at(metadata_of(obj), "resourceVersion");
}

// Same version: equal resourceVersions, or (without any) equal content.
bool same_version(const json& a, const json& b) {
  std::string ra = rv_of(a), rb = rv_of(b);
  if (ra.empty() && rb.empty()) return a == b;
  return ra == rb;
}

class Backoff {
 public:
  milliseconds next() {
    delay_ = delay_.count() == 0 ? kInitialBackoff : std::min(delay_ * 2, kMaxBackoff);
    return delay_;
  }
  void reset() { delay_ = milliseconds{0}; }

 private:
  milliseconds delay_{0};
};

}  // namespace

std::string object_key(const json& obj) {
  const json& meta = metadata_of(obj);
  std::string ns = string_at(meta, "namespace");
  std::string name = string_at(meta, "name");
  return ns.empty() ? name : ns + "/" + name;
}

std::vector<CacheDelta> diff_cache(const std::vector<json>& before,
                                   const std::vector<json>& after) {
  std::unordered_map<std::string, const json*> old_by_key;
  for (const json& obj : before) old_by_key[object_key(obj)] = &obj;

  std::vector<CacheDelta> out;
  for (const json& obj : after) {
    auto it = old_by_key.find(object_key(obj));
    if (it == old_by_key.end()) {
      out.push_back({CacheDelta::Type::kAdd, json(), obj});
      continue;
    }
    if (!same_version(*it->second, obj)) {
      out.push_back({CacheDelta::Type::kUpdate, *it->second, obj});
    }
    old_by_key.erase(it);
  }
  for (const json& obj : before) {
    auto it = old_by_key.find(object_key(obj));
    if (it == old_by_key.end()) continue;  // still present, or already reported
    out.push_back({CacheDelta::Type::kDelete, obj, json()});
    old_by_key.erase(it);
  }
  return out;
}

struct Informer::Impl {
  Impl(Client& c, ResourceRef r, std::string n, ListOptions o)
      : client(c), ref(std::move(r)), ns(std::move(n)), opts(std::move(o)) {}

  Client& client;
  const ResourceRef ref;
  const std::string ns;
  const ListOptions opts;
  std::vector<InformerHandlers> handlers;  // fixed once started

  mutable std::mutex mu;
  std::condition_variable cv;  // sync and stop
  std::map<std::string, json> cache;
  std::string rv;
  InformerStats stats;
  bool synced = false;
  std::atomic<bool> cancel{false};
  std::thread thread;
  uint64_t stream_events = 0;  // informer thread only
  std::mt19937 rng{std::random_device{}()};

  std::string what() const { return ref.resource + (ns.empty() ? "" : " in " + ns); }
  std::string current_rv() const;

  void run();
  void relist();
  void watch_once();
  void apply(const WatchEvent& ev);
  void deliver(const std::vector<CacheDelta>& deltas);
  // Sleeps unless stopped first; false if stopped.
  bool sleep(milliseconds d);
  void fill_type_meta(json& item, const json& list) const;
};

void Informer::Impl::run() {
  // A restarted informer resumes its watch from the last resourceVersion it saw.
  bool need_list = current_rv().empty();
  Backoff backoff;
  while (!cancel) {
    const bool listing = need_list;
    if (need_list) {
      try {
        relist();
        need_list = false;
      } catch (const std::exception& e) {
        milliseconds d = backoff.next();
        spdlog::warn("informer {}: list failed: {}; retrying in {} ms", what(), e.what(),
                     d.count());
        sleep(d);
        continue;
      }
    }
    const auto started = SteadyClock::now();
    stream_events = 0;
    std::string reason;
    bool ended = false, gone = false;
    try {
      watch_once();
      ended = true;
    } catch (const Error& e) {
      gone = e.is_gone();
      reason = e.what();
    } catch (const std::exception& e) {
      reason = e.what();
    }
    if (cancel) break;
    const bool healthy = stream_events > 0 || SteadyClock::now() - started >= kHealthyStream;
    if (healthy) backoff.reset();
    std::string last_rv = current_rv();
    if (gone) {
      {
        std::lock_guard lock(mu);
        ++stats.gone;
      }
      spdlog::info("informer {}: resourceVersion {} expired ({}); relisting", what(), last_rv,
                   reason);
      need_list = true;
      // A list followed at once by 410 again must not spin.
      if (listing && !healthy) sleep(backoff.next());
    } else if (healthy && ended) {
      spdlog::debug("informer {}: watch stream ended after {} events; re-watching from {}", what(),
                    stream_events, last_rv);
    } else {
      milliseconds d = backoff.next();
      if (ended) reason = "stream closed immediately without events";
      spdlog::warn("informer {}: watch ended ({}); re-watching from {} in {} ms", what(), reason,
                   last_rv, d.count());
      sleep(d);
    }
  }
}

std::string Informer::Impl::current_rv() const {
  std::lock_guard lock(mu);
  return rv;
}

void Informer::Impl::fill_type_meta(json& item, const json& list) const {
  // List items carry no apiVersion/kind; watch events do. Make both look the same.
  if (!item.is_object()) return;
  if (!item.contains("apiVersion")) item["apiVersion"] = ref.api_version();
  if (!item.contains("kind")) {
    std::string kind = ref.kind;
    std::string list_kind = string_at(list, "kind");
    if (kind.empty() && list_kind.size() > 4 && list_kind.ends_with("List")) {
      kind = list_kind.substr(0, list_kind.size() - 4);
    }
    if (!kind.empty()) item["kind"] = kind;
  }
}

void Informer::Impl::relist() {
  ListOptions lo;
  lo.label_selector = opts.label_selector;
  lo.field_selector = opts.field_selector;
  lo.limit = opts.limit;
  // resourceVersion "" = a consistent read: never older than what the cache has seen.
  json list = client.list_all(ref, ns, lo);

  std::vector<json> after;
  if (auto items = list.find("items"); items != list.end() && items->is_array()) {
    after.reserve(items->size());
    for (json& item : *items) {
      fill_type_meta(item, list);
      after.push_back(std::move(item));
    }
  }
  const std::string list_rv = rv_of(list);

  std::vector<CacheDelta> deltas;
  {
    std::lock_guard lock(mu);
    std::vector<json> before;
    before.reserve(cache.size());
    for (auto& [key, obj] : cache) before.push_back(std::move(obj));
    deltas = diff_cache(before, after);
    cache.clear();
    for (json& obj : after) {
      std::string key = object_key(obj);
      cache.insert_or_assign(std::move(key), std::move(obj));
    }
    rv = list_rv;
    ++stats.lists;
  }
  spdlog::info("informer {}: listed {} objects at resourceVersion {} ({} changes)", what(),
               after.size(), list_rv, deltas.size());
  deliver(deltas);
  {
    std::lock_guard lock(mu);
    synced = true;
  }
  cv.notify_all();
}

void Informer::Impl::watch_once() {
  ListOptions wo;
  wo.label_selector = opts.label_selector;
  wo.field_selector = opts.field_selector;
  wo.resource_version = current_rv();
  wo.allow_watch_bookmarks = true;
  wo.timeout_seconds = std::uniform_int_distribution<int>(kMinWatchTimeoutSeconds,
                                                          2 * kMinWatchTimeoutSeconds - 1)(rng);
  {
    std::lock_guard lock(mu);
    ++stats.watches;
  }
  std::optional<Error> stream_error;
  client.watch(
      ref, ns, wo,
      [&](const WatchEvent& ev) {
        if (cancel) return false;
        if (ev.type == "ERROR") {
          const json& st = ev.object;
          int code = st.is_object() ? st.value("code", 500) : 500;
          stream_error.emplace(code, string_at(st, "reason"),
                               "watch " + ref.path(ns) + ": " + string_at(st, "message"));
          return false;
        }
        ++stream_events;
        apply(ev);
        return !cancel;
      },
      [&] { return cancel.load(); });
  if (stream_error) throw *stream_error;
}

void Informer::Impl::apply(const WatchEvent& ev) {
  if (ev.type == "BOOKMARK") {
    std::string bookmark_rv = rv_of(ev.object);
    std::lock_guard lock(mu);
    if (!bookmark_rv.empty()) rv = bookmark_rv;
    return;
  }
  const bool upsert = ev.type == "ADDED" || ev.type == "MODIFIED";
  if (!upsert && ev.type != "DELETED") {
    spdlog::warn("informer {}: ignoring watch event of unknown type {}", what(), ev.type);
    return;
  }
  const std::string key = object_key(ev.object);
  const std::string event_rv = rv_of(ev.object);
  std::vector<CacheDelta> deltas;
  {
    std::lock_guard lock(mu);
    ++stats.events;
    if (!event_rv.empty()) rv = event_rv;
    auto it = cache.find(key);
    if (upsert && it == cache.end()) {
      deltas.push_back({CacheDelta::Type::kAdd, json(), ev.object});
      cache.emplace(key, ev.object);
    } else if (upsert && !same_version(it->second, ev.object)) {
      deltas.push_back({CacheDelta::Type::kUpdate, std::move(it->second), ev.object});
      it->second = ev.object;
    } else if (!upsert && it != cache.end()) {
      deltas.push_back({CacheDelta::Type::kDelete, std::move(it->second), json()});
      // Deliver the object's final state, as the watch reported it.
      if (ev.object.is_object()) deltas.back().old_obj = ev.object;
      cache.erase(it);
    }
  }
  deliver(deltas);
}

void Informer::Impl::deliver(const std::vector<CacheDelta>& deltas) {
  for (const CacheDelta& d : deltas) {
    for (const InformerHandlers& h : handlers) {
      try {
        switch (d.type) {
          case CacheDelta::Type::kAdd:
            if (h.on_add) h.on_add(d.new_obj);
            break;
          case CacheDelta::Type::kUpdate:
            if (h.on_update) h.on_update(d.old_obj, d.new_obj);
            break;
          case CacheDelta::Type::kDelete:
            if (h.on_delete) h.on_delete(d.old_obj);
            break;
        }
      } catch (const std::exception& e) {
        spdlog::error("informer {}: handler for {} threw: {}", what(),
                      object_key(d.type == CacheDelta::Type::kDelete ? d.old_obj : d.new_obj),
                      e.what());
      }
    }
  }
}

bool Informer::Impl::sleep(milliseconds d) {
  std::unique_lock lock(mu);
  return !cv.wait_for(lock, d, [&] { return cancel.load(); });
}

Informer::Informer(Client& client, ResourceRef ref, std::string ns, ListOptions opts)
    : impl_(std::make_unique<Impl>(client, std::move(ref), std::move(ns), std::move(opts))) {}

Informer::~Informer() {
  stop();
}

void Informer::add_handlers(InformerHandlers h) {
  if (impl_->thread.joinable()) {
    throw Error(Error::Kind::kInternal,
                "informer " + impl_->what() + ": add_handlers called after start()");
  }
  impl_->handlers.push_back(std::move(h));
}

void Informer::start() {
  if (impl_->thread.joinable() && !impl_->cancel) return;  // already running
  if (impl_->thread.joinable()) impl_->thread.join();      // stopped: start again
  impl_->cancel = false;
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void Informer::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->cancel = true;
  }
  impl_->cv.notify_all();
  // A handler calling stop() only raises the flag; the owner's stop()/destructor joins.
  if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id()) {
    impl_->thread.join();
  }
}

bool Informer::wait_for_sync(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait_for(lock, timeout, [&] { return impl_->synced || impl_->cancel.load(); });
  return impl_->synced;
}

bool Informer::has_synced() const {
  std::lock_guard lock(impl_->mu);
  return impl_->synced;
}

std::vector<json> Informer::list() const {
  std::lock_guard lock(impl_->mu);
  std::vector<json> out;
  out.reserve(impl_->cache.size());
  for (const auto& [key, obj] : impl_->cache) out.push_back(obj);
  return out;
}

std::optional<json> Informer::get(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->cache.find(ns.empty() ? name : ns + "/" + name);
  if (it == impl_->cache.end()) return std::nullopt;
  return it->second;
}

std::string Informer::last_resource_version() const {
  return impl_->current_rv();
}

InformerStats Informer::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace ingressx
