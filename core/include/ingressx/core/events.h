#pragma once
// An events.k8s.io/v1 recorder that aggregates repeats.
//
// The first occurrence of (regarding object, type, reason, action, note) creates an Event;
// repeats within the series window (6 minutes, as client-go's events library) patch its
// `series` (count, lastObservedTime) instead of creating new objects. Reasons are
// UpperCamelCase. Recording never throws: failures are logged and dropped, since events
// are best-effort. Thread-safe.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace ingressx {

class Client;
class Clock;

// Where events go; the real one uses Client, tests use a fake.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual nlohmann::json create(const std::string& ns, const nlohmann::json& event) = 0;
  virtual nlohmann::json patch(const std::string& ns, const std::string& name,
                               const nlohmann::json& merge_patch) = 0;
};

std::unique_ptr<EventSink> make_event_sink(Client& client);

class EventRecorder {
 public:
  // controller: reportingController (e.g. "ingressx.io/operator"); instance: reportingInstance.
  EventRecorder(EventSink& sink, std::string controller, std::string instance, Clock& clock);

  // type: "Normal" or "Warning". `regarding` is the object (needs apiVersion, kind,
  // metadata.name/namespace/uid). Throws Error(kInvalidInput) if reason is not UpperCamelCase.
  void record(const nlohmann::json& regarding, const std::string& type, const std::string& reason,
              const std::string& action, const std::string& note);

  static constexpr std::chrono::minutes kSeriesWindow{6};

 private:
  struct Series {
    std::string ns, name;
    int32_t count = 1;
    std::chrono::steady_clock::time_point last;
  };
  EventSink& sink_;
  std::string controller_, instance_;
  Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Series> series_;
};

}  // namespace ingressx
