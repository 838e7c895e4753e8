#pragma once
// Hook events: one log line each, text or JSON. The runner emits events through EventSink
// so that tests can capture them; the binary writes them through spdlog.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace ingressx::hook {

enum class Level { kDebug, kInfo, kWarn, kError };

struct Event {
  Level level = Level::kInfo;
  std::string name;     // stable machine name, e.g. "signalled", "drained", "max_drain"
  std::string message;  // for people
  nlohmann::json fields = nlohmann::json::object();  // counts, pids, durations (ms)
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void emit(const Event& e) = 0;
};

// spdlog-backed sink writing to stderr, or appending to `file` when not empty (e.g.
// /proc/1/fd/1, so that preStop lines appear in `kubectl logs`). `json`: one JSON object
// per line {"ts","level","event","msg",...fields}; otherwise "ts level msg key=value...".
// Throws Error(kInvalidInput) for an unknown level or a file that cannot be opened.
std::unique_ptr<EventSink> make_log_sink(bool json, const std::string& level,
                                         const std::string& file);

}  // namespace ingressx::hook
