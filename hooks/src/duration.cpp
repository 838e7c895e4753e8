#include "duration.h"

#include <charconv>
#include <cmath>

#include "ingressx/core/error.h"

namespace ingressx::hook {
namespace {

// Milliseconds per unit; nullopt-like 0 for an unknown unit.
double unit_ms(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60'000;
  if (unit == "h") return 3'600'000;
  return 0;
}

}  // namespace

Clock::Duration parse_duration(std::string_view text, const std::string& flag) {
  auto bad = [&] {
    return Error(
        Error::Kind::kInvalidInput,
        flag + " '" + std::string(text) + "': expected a duration such as 500ms, 5s, 2m, 1m30s");
  };
  if (text.empty()) throw bad();
  double total_ms = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    double v = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (ec != std::errc() || v < 0 || !std::isfinite(v)) throw bad();
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
    size_t n = 0;
    while (n < rest.size() && std::isalpha(static_cast<unsigned char>(rest[n]))) ++n;
    if (n == 0 && rest.empty() && total_ms == 0)
      return std::chrono::milliseconds(std::llround(v * 1000));
    double per = unit_ms(rest.substr(0, n));
    if (per == 0) throw bad();
    total_ms += v * per;
    rest.remove_prefix(n);
  }
  if (total_ms > 1e12) throw bad();
  return std::chrono::milliseconds(std::llround(total_ms));
}

}  // namespace ingressx::hook
