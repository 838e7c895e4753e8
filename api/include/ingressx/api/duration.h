#pragma once
// The one duration parser: API fields (the CRDs' pattern), command-line flags and
// kubeconfig values.

#include <chrono>
#include <string>
#include <string_view>

namespace ingressx::api {

enum class DurationForm {
  // An API field: one or more <number>[.<fraction>]<unit>, unit ms, s, m or h ("500ms",
  // "10s", "1.5s", "9m30s"), exactly what the CRDs' pattern admits.
  kApi,
  // A flag or kubeconfig value: the API form, plus the units ns, us and µs, a leading '+',
  // and a bare whole number meaning seconds ("30"), as kubectl's --request-timeout.
  kFlag,
};

// Milliseconds (sub-millisecond parts rounded). Throws Error(kInvalidInput):
//   <what>: invalid duration "<text>": <why> (expected <number><unit> ..., e.g. 500ms, 10s)
std::chrono::milliseconds parse_duration(std::string_view text, const std::string& what,
                                         DurationForm form = DurationForm::kApi);

// Whether `text` has the API form (the CRDs' pattern).
bool is_api_duration(std::string_view text);

}  // namespace ingressx::api
