#include "ingressx/core/failpoint.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "ingressx/core/error.h"

namespace ingressx::failpoint {

namespace {

struct Point {
  enum class Action { kCrash, kError, kDelay } action = Action::kError;
  int delay_ms = 0;
  int at = 0;  // 0: every hit; K: the K-th hit
  bool and_after = false;
  int hits = 0;
};

struct Registry {
  std::mutex mu;
  std::map<std::string, Point> points;
  std::vector<std::string> history;
  std::atomic<bool> armed{false};
};

Registry& registry() {
  static Registry r;
  return r;
}

Error bad(const std::string& entry, const std::string& why) {
  return Error(Error::Kind::kInvalidInput,
               "INGRESSX_FAILPOINTS: \"" + entry + "\": " + why +
                   " (expected NAME=crash|error|delay:MS, optionally @K or @K+)");
}

std::map<std::string, Point> parse(const std::string& spec) {
  std::map<std::string, Point> out;
  size_t i = 0;
  while (i <= spec.size()) {
    size_t j = spec.find(';', i);
    if (j == std::string::npos) j = spec.size();
    const std::string entry = spec.substr(i, j - i);
    i = j + 1;
    if (entry.empty()) continue;
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) throw bad(entry, "no NAME=");
    Point p;
    std::string action = entry.substr(eq + 1);
    if (const size_t at = action.find('@'); at != std::string::npos) {
      std::string k = action.substr(at + 1);
      action.resize(at);
      if (!k.empty() && k.back() == '+') {
        p.and_after = true;
        k.pop_back();
      }
      if (k.empty() || k.find_first_not_of("0123456789") != std::string::npos || k.size() > 6)
        throw bad(entry, "@K needs a hit number");
      p.at = std::stoi(k);
      if (p.at < 1) throw bad(entry, "hits count from 1");
    }
    if (action == "crash") {
      p.action = Point::Action::kCrash;
    } else if (action == "error") {
      p.action = Point::Action::kError;
    } else if (action.rfind("delay:", 0) == 0) {
      const std::string ms = action.substr(6);
      if (ms.empty() || ms.find_first_not_of("0123456789") != std::string::npos || ms.size() > 7)
        throw bad(entry, "delay needs milliseconds");
      p.action = Point::Action::kDelay;
      p.delay_ms = std::stoi(ms);
    } else {
      throw bad(entry, "unknown action \"" + action + "\"");
    }
    out[entry.substr(0, eq)] = p;
  }
  return out;
}

#if INGRESSX_FAILPOINTS_ENABLED
void arm_from_env() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("INGRESSX_FAILPOINTS");
    if (!env || !*env) return;
    arm(env);
    spdlog::warn("failpoints armed: {}", env);
  });
}
#endif

}  // namespace

void arm(const std::string& spec) {
  auto points = parse(spec);
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.points = std::move(points);
  r.history.clear();
  r.armed = !r.points.empty();
}

std::vector<std::string> history() {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  return r.history;
}

#if INGRESSX_FAILPOINTS_ENABLED
void hit(const char* name) {
  arm_from_env();
  auto& r = registry();
  if (!r.armed.load(std::memory_order_relaxed)) return;
  Point p;
  {
    std::lock_guard lock(r.mu);
    auto it = r.points.find(name);
    if (it == r.points.end()) {
      r.history.emplace_back(name);
      return;
    }
    const int n = ++it->second.hits;
    const bool fires =
        it->second.at == 0 || n == it->second.at || (it->second.and_after && n > it->second.at);
    r.history.push_back(std::string(name) + (fires ? "!" : ""));
    if (!fires) return;
    p = it->second;
  }
  switch (p.action) {
    case Point::Action::kCrash:
      spdlog::critical("failpoint {}: crash", name);
      spdlog::default_logger()->flush();
      _exit(86);
    case Point::Action::kError:
      spdlog::warn("failpoint {}: error", name);
      throw Error(Error::Kind::kTransport, std::string("failpoint ") + name);
    case Point::Action::kDelay:
      spdlog::warn("failpoint {}: delay {} ms", name, p.delay_ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(p.delay_ms));
      return;
  }
}
#endif

}  // namespace ingressx::failpoint
