#pragma once

#include <string>
#include <string_view>

#include "ingressx/core/clock.h"

namespace ingressx::hook {

// "250ms", "5s", "2m", "1h", "1m30s" (Go style) or a bare number of seconds ("5", "0.5").
// Throws Error(kInvalidInput) naming `flag` and the expected form.
Clock::Duration parse_duration(std::string_view text, const std::string& flag);

}  // namespace ingressx::hook
