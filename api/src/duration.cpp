#include "ingressx/api/duration.h"

#include <cmath>
#include <cstdint>

#include "ingressx/core/error.h"

namespace ingressx::api {
namespace {

// Nanoseconds per unit; 0 for a unit the form does not admit.
double unit_ns(std::string_view unit, DurationForm form) {
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "m") return 60e9;
  if (unit == "h") return 3600e9;
  if (form == DurationForm::kFlag) {
    if (unit == "ns") return 1;
    if (unit == "us" || unit == "\u00b5s") return 1e3;
  }
  return 0;
}

bool digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::chrono::milliseconds parse_duration(std::string_view text, const std::string& what,
                                         DurationForm form) {
  auto bad = [&](const std::string& why) {
    return Error(Error::Kind::kInvalidInput,
                 what + ": invalid duration \"" + std::string(text) + "\": " + why +
                     (form == DurationForm::kApi
                          ? " (expected one or more <number><unit> with unit ms, s, m or h, "
                            "e.g. 500ms, 10s, 1.5s, 9m30s)"
                          : " (expected <number><unit> with unit ns, us, ms, s, m or h, or a "
                            "number of seconds, e.g. 500ms, 30s, 1m30s, 2h)"));
  };
  std::string_view rest = text;
  if (rest.empty()) throw bad("empty");
  if (rest.front() == '-') throw bad("must not be negative");
  if (form == DurationForm::kFlag && rest.front() == '+') rest.remove_prefix(1);
  double total_ns = 0;
  bool first = true;
  while (!rest.empty()) {
    // <digits>[.<digits>]
    size_t i = 0;
    while (i < rest.size() && digit(rest[i])) ++i;
    const size_t whole = i;
    size_t frac = 0;
    if (i < rest.size() && rest[i] == '.') {
      ++i;
      while (i < rest.size() && digit(rest[i])) ++i, ++frac;
      if (frac == 0) throw bad("a '.' must be followed by digits");
    }
    if (whole == 0) throw bad("a number must start with a digit");
    const double v = std::stod(std::string(rest.substr(0, i)));
    rest.remove_prefix(i);
    size_t u = 0;
    while (u < rest.size() && !digit(rest[u]) && rest[u] != '.') ++u;
    const std::string_view unit = rest.substr(0, u);
    if (unit.empty()) {
      // A bare whole number: seconds (as kubectl's --request-timeout), for flags only, and
      // only alone.
      if (form == DurationForm::kFlag && first && rest.empty() && frac == 0 &&
          text.find('.') == std::string_view::npos) {
        total_ns = v * 1e9;
        break;
      }
      throw bad("a unit is missing");
    }
    const double per = unit_ns(unit, form);
    if (per == 0) throw bad("unknown unit \"" + std::string(unit) + "\"");
    total_ns += v * per;
    rest.remove_prefix(u);
    first = false;
  }
  // More than about 292 years does not fit in Go's time.Duration either.
  if (!std::isfinite(total_ns) || total_ns > 9.2e18) throw bad("too large");
  return std::chrono::milliseconds(std::llround(total_ns / 1e6));
}

bool is_api_duration(std::string_view text) {
  try {
    parse_duration(text, "", DurationForm::kApi);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace ingressx::api
