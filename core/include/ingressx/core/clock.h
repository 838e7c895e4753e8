#pragma once
// Time behind an interface so that timers (drain, pauses, lease expiry, backoff) are
// testable without sleeping. RealClock is thread-safe; FakeClock is for tests.

#include <chrono>
#include <mutex>
#include <string>

namespace ingressx {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Monotonic time: for measuring intervals and judging expiry.
  virtual TimePoint now() const = 0;
  // Wall-clock time: for timestamps written to the API (RFC 3339 / MicroTime).
  virtual std::chrono::system_clock::time_point wall_now() const = 0;
  virtual void sleep_for(Duration d) = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::now();
  }
  void sleep_for(Duration d) override;
};

// A clock that moves only when told; sleep_for advances it immediately.
class FakeClock final : public Clock {
 public:
  TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  std::chrono::system_clock::time_point wall_now() const override {
    std::lock_guard lock(mu_);
    return wall_base_ +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(now_ - TimePoint{});
  }
  void sleep_for(Duration d) override { advance(d); }
  void advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_{};
  std::chrono::system_clock::time_point wall_base_ =
      std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 50);
};

// RFC 3339 with microseconds in UTC ("2026-11-23T12:00:00.000000Z"), as metav1.MicroTime.
std::string format_micro_time(std::chrono::system_clock::time_point t);
// RFC 3339 in UTC without fractions, as metav1.Time.
std::string format_time(std::chrono::system_clock::time_point t);
// Parses RFC 3339 (fractions and offsets accepted); throws Error(kDecode) naming `what`.
std::chrono::system_clock::time_point parse_time(const std::string& s, const std::string& what);

}  // namespace ingressx
