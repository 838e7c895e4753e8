// events.k8s.io/v1 recorder with client-go's series aggregation.

#include "ingressx/core/events.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>

#include "ingressx/core/client.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"

namespace ingressx {

namespace {

using json = nlohmann::json;

constexpr size_t kMaxNoteBytes = 1024;   // events.k8s.io/v1 validation limit
constexpr size_t kMaxNameBytes = 253;    // DNS subdomain
constexpr size_t kSuffixBytes = 1 + 16;  // "." + 16 hex digits

class ClientEventSink final : public EventSink {
 public:
  explicit ClientEventSink(Client& client) : client_(client) {}
  json create(const std::string& ns, const json& event) override {
    return client_.create(refs::kEvents, ns, event);
  }
  json patch(const std::string& ns, const std::string& name, const json& merge_patch) override {
    return client_.patch(refs::kEvents, ns, name, PatchType::kMerge, merge_patch);
  }

 private:
  Client& client_;
};

bool is_upper_camel_case(const std::string& s) {
  if (s.empty() || s[0] < 'A' || s[0] > 'Z') return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string string_at(const json& obj, const char* field) {
  if (!obj.is_object()) return "";
  auto it = obj.find(field);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

// Cuts to at most `max` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

// `<regarding name>.<16 hex digits>`, as client-go's `%v.%x` of the time, made unique within
// the process by a counter (a fake clock may stand still).
std::string event_name(const std::string& regarding_name, std::chrono::system_clock::time_point t) {
  static std::atomic<uint64_t> counter{0};
  const auto nanos = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx",
                static_cast<unsigned long long>(nanos + counter.fetch_add(1)));
  return regarding_name.substr(0, kMaxNameBytes - kSuffixBytes) + "." + suffix;
}

}  // namespace

std::unique_ptr<EventSink> make_event_sink(Client& client) {
  return std::make_unique<ClientEventSink>(client);
}

EventRecorder::EventRecorder(EventSink& sink, std::string controller, std::string instance,
                             Clock& clock)
    : sink_(sink),
      controller_(std::move(controller)),
      instance_(std::move(instance)),
      clock_(clock) {}

void EventRecorder::record(const json& regarding, const std::string& type,
                           const std::string& reason, const std::string& action,
                           const std::string& note) {
  if (!is_upper_camel_case(reason)) {
    throw Error(Error::Kind::kInvalidInput,
                "event reason \"" + reason + "\" must be UpperCamelCase ([A-Z][A-Za-z0-9]*)");
  }
  const json meta = regarding.is_object() ? regarding.value("metadata", json::object()) : json();
  const std::string name = string_at(meta, "name");
  const std::string kind = string_at(regarding, "kind");
  if (name.empty()) {
    spdlog::warn("event {} dropped: its regarding object (kind \"{}\") has no metadata.name",
                 reason, kind);
    return;
  }
  const std::string obj_ns = string_at(meta, "namespace");
  const std::string ns = obj_ns.empty() ? "default" : obj_ns;
  const std::string uid = string_at(meta, "uid");
  const std::string short_note = truncate_utf8(note, kMaxNoteBytes);
  const std::string key = uid + '\n' + kind + '\n' + obj_ns + '\n' + name + '\n' + type + '\n' +
                          reason + '\n' + action + '\n' + short_note;
  const auto now = clock_.now();
  const std::string stamp = format_micro_time(clock_.wall_now());

  // Decide under the lock; talk to the API outside it so a slow server stalls only this call.
  std::string series_name;
  int32_t count = 1;
  {
    std::lock_guard lock(mu_);
    auto it = series_.find(key);
    if (it != series_.end() && now - it->second.last <= kSeriesWindow) {
      it->second.count += 1;
      it->second.last = now;
      series_name = it->second.name;
      count = it->second.count;
    } else {
      std::erase_if(series_, [&](const auto& kv) { return now - kv.second.last > kSeriesWindow; });
    }
  }

  if (!series_name.empty()) {
    json patch = {{"series", {{"count", count}, {"lastObservedTime", stamp}}}};
    try {
      sink_.patch(ns, series_name, patch);
      return;
    } catch (const Error& e) {
      if (!e.is_not_found()) {
        spdlog::warn("event {}/{} ({} x{}) dropped: {}", ns, series_name, reason, count, e.what());
        return;
      }
      // Deleted behind our back (TTL, kubectl): start over with a new Event.
    } catch (const std::exception& e) {
      spdlog::warn("event {}/{} ({} x{}) dropped: {}", ns, series_name, reason, count, e.what());
      return;
    }
  }

  json ref = {{"apiVersion", string_at(regarding, "apiVersion")}, {"kind", kind}, {"name", name}};
  if (!obj_ns.empty()) ref["namespace"] = obj_ns;
  if (!uid.empty()) ref["uid"] = uid;
  if (std::string rv = string_at(meta, "resourceVersion"); !rv.empty()) {
    ref["resourceVersion"] = rv;
  }
  const std::string event_name_str = event_name(name, clock_.wall_now());
  json event = {{"apiVersion", "events.k8s.io/v1"},
                {"kind", "Event"},
                {"metadata", {{"name", event_name_str}, {"namespace", ns}}},
                {"eventTime", stamp},
                {"reportingController", controller_},
                {"reportingInstance", instance_},
                {"action", action},
                {"reason", reason},
                {"note", short_note},
                {"type", type},
                {"regarding", ref}};
  {
    std::lock_guard lock(mu_);
    series_[key] = Series{ns, event_name_str, 1, now};
  }
  try {
    sink_.create(ns, event);
  } catch (const std::exception& e) {
    spdlog::warn("event {}/{} ({} on {} {}) dropped: {}", ns, event_name_str, reason, kind, name,
                 e.what());
    std::lock_guard lock(mu_);
    auto it = series_.find(key);
    if (it != series_.end() && it->second.name == event_name_str) series_.erase(it);
  }
}

}  // namespace ingressx
