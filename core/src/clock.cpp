#include "ingressx/core/clock.h"

#include <cstdio>
#include <ctime>
#include <string>
#include <thread>

#include "ingressx/core/error.h"

namespace ingressx {

namespace {

using SysClock = std::chrono::system_clock;

// Splits t into whole seconds since the epoch (rounded down) and the sub-second rest.
void split(SysClock::time_point t, std::time_t& secs, std::chrono::nanoseconds& frac) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  auto s = std::chrono::floor<std::chrono::seconds>(ns);
  secs = static_cast<std::time_t>(s.count());
  frac = ns - s;
}

std::string format_seconds(std::time_t secs) {
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// A cursor over the text being parsed; every read fails the whole parse on mismatch.
class TimeParser {
 public:
  explicit TimeParser(const std::string& s) : s_(s) {}

  bool digits(int n, int& out) {
    out = 0;
    for (int i = 0; i < n; ++i) {
      if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return false;
      out = out * 10 + (s_[pos_++] - '0');
    }
    return true;
  }
  bool literal(const char* any_of) {
    if (pos_ >= s_.size()) return false;
    for (const char* c = any_of; *c; ++c) {
      if (s_[pos_] == *c) {
        ++pos_;
        return true;
      }
    }
    return false;
  }
  bool peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  bool at_end() const { return pos_ == s_.size(); }
  // Fraction digits after '.', scaled to nanoseconds (digits past the 9th are dropped).
  bool fraction(long& ns) {
    ns = 0;
    int n = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (n < 9) ns = ns * 10 + (s_[pos_] - '0');
      ++n;
      ++pos_;
    }
    for (int i = n; i < 9; ++i) ns *= 10;
    return n > 0;
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

bool leap_year(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap_year(y) ? 29 : kDays[m - 1];
}

}  // namespace

void RealClock::sleep_for(Duration d) {
  std::this_thread::sleep_for(d);
}

std::string format_micro_time(std::chrono::system_clock::time_point t) {
  std::time_t secs;
  std::chrono::nanoseconds frac;
  split(t, secs, frac);
  char buf[32];
  std::snprintf(
      buf, sizeof buf, ".%06ldZ",
      static_cast<long>(std::chrono::duration_cast<std::chrono::microseconds>(frac).count()));
  return format_seconds(secs) + buf;
}

std::string format_time(std::chrono::system_clock::time_point t) {
  std::time_t secs;
  std::chrono::nanoseconds frac;
  split(t, secs, frac);
  return format_seconds(secs) + "Z";
}

std::chrono::system_clock::time_point parse_time(const std::string& s, const std::string& what) {
  auto fail = [&](const char* why) {
    return Error(Error::Kind::kDecode, what + ": invalid time \"" + s + "\": " + why +
                                           " (expected RFC 3339 such as 2026-11-23T12:00:00Z)");
  };
  TimeParser p(s);
  int year, month, day, hour, minute, second;
  if (!p.digits(4, year) || !p.literal("-") || !p.digits(2, month) || !p.literal("-") ||
      !p.digits(2, day) || !p.literal("Tt ") || !p.digits(2, hour) || !p.literal(":") ||
      !p.digits(2, minute) || !p.literal(":") || !p.digits(2, second)) {
    throw fail("malformed date or time");
  }
  long nanos = 0;
  if (p.literal(".") && !p.fraction(nanos)) throw fail("empty fraction");
  int offset_seconds = 0;
  if (!p.literal("Zz")) {
    bool negative = p.peek('-');
    int oh, om;
    if (!p.literal("+-") || !p.digits(2, oh) || !p.literal(":") || !p.digits(2, om)) {
      throw fail("missing or malformed zone (Z or +hh:mm)");
    }
    if (oh > 23 || om > 59) throw fail("zone offset out of range");
    offset_seconds = (negative ? -1 : 1) * (oh * 3600 + om * 60);
  }
  if (!p.at_end()) throw fail("trailing characters");
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    throw fail("field out of range");
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t secs = timegm(&tm) - offset_seconds;
  return SysClock::time_point(std::chrono::duration_cast<SysClock::duration>(
      std::chrono::seconds(secs) + std::chrono::nanoseconds(nanos)));
}

}  // namespace ingressx
