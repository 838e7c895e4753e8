#include "prestop.h"

#include "ingressx/core/error.h"

namespace ingressx::hook {
namespace {

using proxy::DrainVerdict;

long long ms(Clock::Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

nlohmann::json count_json(std::optional<int> n) {
  return n ? nlohmann::json(*n) : nlohmann::json();
}

void emit(const PrestopDeps& d, Level level, const char* name, std::string msg,
          nlohmann::json fields = nlohmann::json::object()) {
  d.events.emit({level, name, std::move(msg), std::move(fields)});
}

bool send_stop(const std::vector<int>& targets, const PrestopDeps& d) {
  try {
    auto report = d.adapter.graceful_stop(targets);
    d.lock.mark_signalled();
    emit(d, Level::kInfo, "signalled", "sent the graceful stop",
         {{"action", report.action},
          {"pids", report.signalled},
          {"active", count_json(d.counter.count())}});
    return true;
  } catch (const Error& e) {
    emit(d, Level::kError, "signal_failed", std::string("graceful stop failed: ") + e.what());
    return false;
  }
}

std::pair<DrainVerdict, std::optional<int>> wait_drain(const proxy::DrainPolicy& policy,
                                                       const PrestopDeps& d) {
  auto signalled_at = d.clock.now();
  std::optional<int> last;
  bool first = true;
  while (true) {
    auto active = d.counter.count();
    auto now = d.clock.now();
    if (first || active != last) {
      emit(d, Level::kInfo, "draining", "active connections",
           {{"active", count_json(active)}, {"elapsed_ms", ms(now - signalled_at)}});
    }
    first = false;
    last = active;
    auto decision = proxy::decide_drain(policy, signalled_at, now, active);
    if (decision.verdict != DrainVerdict::kWait) return {decision.verdict, active};
    d.clock.sleep_for(decision.wait);
  }
}

void report(DrainVerdict verdict, std::optional<int> active, Clock::Duration took,
            const PrestopDeps& d) {
  if (verdict == DrainVerdict::kDrained) {
    emit(d, Level::kInfo, "drained", "connections drained; exiting",
         {{"active", count_json(active)}, {"drain_ms", ms(took)}});
  } else {
    emit(d, Level::kWarn, "max_drain", "maximum drain reached with connections still open; exiting",
         {{"still_open", count_json(active)}, {"drain_ms", ms(took)}});
  }
}

}  // namespace

PrestopOutcome run_prestop(const proxy::DrainPolicy& policy, const std::vector<int>& targets,
                           const PrestopDeps& d) {
  PrestopOutcome out;
  if (!d.lock.try_acquire()) {
    emit(d, Level::kInfo, "already_running", "another invocation is running; waiting for it");
    auto limit = policy.propagation_delay + policy.max_drain + std::chrono::seconds(5);
    bool released = d.lock.wait_released(d.clock, limit);
    emit(d, Level::kInfo, "other_finished",
         released ? "the other invocation finished" : "gave up waiting for the other invocation",
         {{"active", count_json(d.counter.count())}});
    out.waited_for_other = true;
    return out;
  }
  if (d.lock.signalled_before()) {
    emit(d, Level::kInfo, "already_signalled",
         "an earlier invocation signalled; waiting for the drain");
  } else {
    emit(d, Level::kInfo, "propagation_delay", "serving while endpoint removal propagates",
         {{"delay_ms", ms(policy.propagation_delay)}, {"active", count_json(d.counter.count())}});
    d.clock.sleep_for(policy.propagation_delay);
    out.signalled = send_stop(targets, d);
  }
  auto start = d.clock.now();
  auto [verdict, active] = wait_drain(policy, d);
  report(verdict, active, d.clock.now() - start, d);
  out.verdict = verdict;
  out.still_open = active;
  return out;
}

}  // namespace ingressx::hook
