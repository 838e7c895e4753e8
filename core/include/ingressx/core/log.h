#pragma once
// Logging setup. Code logs through spdlog directly (one line per event); this sets the
// format once per process: human-readable by default, one JSON object per line on request.

#include <string>

namespace ingressx {

enum class LogFormat { kText, kJson };

// level: trace, debug, info, warn, error. Throws Error(kInvalidInput) on an unknown level.
void setup_logging(LogFormat format, const std::string& level);

// Escapes a string for embedding into a JSON log line.
std::string json_escape(const std::string& s);

}  // namespace ingressx
