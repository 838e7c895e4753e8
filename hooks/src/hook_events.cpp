#include "hook_events.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "ingressx/core/error.h"

namespace ingressx::hook {
namespace {

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::string text_fields(const nlohmann::json& fields) {
  std::string out;
  for (const auto& [k, v] : fields.items()) {
    out += " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

class SpdlogSink : public EventSink {
 public:
  SpdlogSink(std::shared_ptr<spdlog::logger> logger, bool json)
      : logger_(std::move(logger)), json_(json) {}

  void emit(const Event& e) override {
    if (!json_) {
      logger_->log(to_spdlog(e.level), "{}{}", e.message, text_fields(e.fields));
      return;
    }
    nlohmann::json line = {{"event", e.name}, {"msg", e.message}};
    for (const auto& [k, v] : e.fields.items()) line[k] = v;
    // The pattern supplies {"ts":...,"level":...,  and this closes the object.
    std::string body = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    logger_->log(to_spdlog(e.level), "{}", body.substr(1));
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  bool json_;
};

}  // namespace

std::unique_ptr<EventSink> make_log_sink(bool json, const std::string& level,
                                         const std::string& file) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    throw Error(Error::Kind::kInvalidInput,
                "--log-level '" + level + "': expected debug, info, warn or error");
  }
  spdlog::sink_ptr sink;
  try {
    if (file.empty()) {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, false);
    }
  } catch (const spdlog::spdlog_ex& ex) {
    throw Error(Error::Kind::kInvalidInput, "--log-file '" + file + "': " + ex.what());
  }
  auto logger = std::make_shared<spdlog::logger>("ingressx-hook", sink);
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  if (json) {
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v)",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l ingressx-hook: %v",
                        spdlog::pattern_time_type::utc);
  }
  return std::make_unique<SpdlogSink>(std::move(logger), json);
}

}  // namespace ingressx::hook
