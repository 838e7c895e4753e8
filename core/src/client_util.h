#pragma once
// Pure helpers of the REST client: URL building, error mapping and body decoding. Internal to
// core; declared here so unit tests can reach them without a server.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingressx/core/client.h"
#include "ingressx/core/error.h"

namespace ingressx::detail {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

inline constexpr const char* kUserAgent = "ingressx/0.1";

// Percent-encodes everything except RFC 3986 unreserved characters (and, when `path` is
// true, the sub-delimiters ':' and '@' that are legal in a path segment).
std::string percent_encode(std::string_view s, bool path = false);
// "a=1&b=x%20y", or "" when there are no parameters.
std::string encode_query(const QueryParams& params);
// `path` plus "?query" if there are parameters.
std::string with_query(const std::string& path, const QueryParams& params);
// The query of a list (watch = false) or a watch (watch = true) request.
QueryParams list_query(const ListOptions& opts, bool watch);

std::string patch_content_type(PatchType t);
// The metav1.StatusReason client-go uses for an HTTP status without a Status body.
std::string default_reason(int http_status);

// The Error for a non-2xx answer: uses the metav1.Status body when there is one;
// "<METHOD> <url>: <message> (<reason>, HTTP <code>)".
Error api_error(const std::string& method, const std::string& url, int http_status,
                const std::string& body);
// Error for a metav1.Status object (watch ERROR events, Status bodies).
Error status_error(const std::string& method, const std::string& url, const json& status,
                   int fallback_code);
// Parses a JSON body; Error(kDecode, "<METHOD> <url>: response is not JSON: <first 80 chars>").
json decode_json(const std::string& method, const std::string& url, const std::string& body);

// The first `max` characters of the first line of `s`, whitespace-trimmed.
std::string first_line(std::string_view s, size_t max = 200);
// The first `max` characters of `s` with newlines folded to spaces, for messages.
std::string snippet(std::string_view s, size_t max = 80);

std::string base64_encode(std::string_view in);

// parse_retry_after() against a given "now", for tests of the HTTP-date form.
std::chrono::seconds parse_retry_after(const std::string& value,
                                       std::chrono::system_clock::time_point now);

}  // namespace ingressx::detail
