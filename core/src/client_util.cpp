#include "client_util.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <locale>
#include <sstream>

namespace ingressx {
namespace detail {

std::string percent_encode(std::string_view s, bool path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool keep = std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
                (path && (c == ':' || c == '@'));
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string encode_query(const QueryParams& params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (!q.empty()) q += '&';
    q += percent_encode(k) + '=' + percent_encode(v);
  }
  return q;
}

std::string with_query(const std::string& path, const QueryParams& params) {
  std::string q = encode_query(params);
  if (q.empty()) return path;
  return path + (path.find('?') == std::string::npos ? '?' : '&') + q;
}

QueryParams list_query(const ListOptions& opts, bool watch) {
  QueryParams q;
  if (watch) q.emplace_back("watch", "1");
  if (!opts.label_selector.empty()) q.emplace_back("labelSelector", opts.label_selector);
  if (!opts.field_selector.empty()) q.emplace_back("fieldSelector", opts.field_selector);
  if (!watch && opts.limit > 0) q.emplace_back("limit", std::to_string(opts.limit));
  if (!watch && !opts.continue_token.empty()) q.emplace_back("continue", opts.continue_token);
  if (!opts.resource_version.empty()) q.emplace_back("resourceVersion", opts.resource_version);
  if (!watch && !opts.resource_version_match.empty())
    q.emplace_back("resourceVersionMatch", opts.resource_version_match);
  if (watch && opts.allow_watch_bookmarks) q.emplace_back("allowWatchBookmarks", "true");
  if (watch && opts.timeout_seconds > 0)
    q.emplace_back("timeoutSeconds", std::to_string(opts.timeout_seconds));
  return q;
}

std::string patch_content_type(PatchType t) {
  switch (t) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
  }
  return "application/merge-patch+json";
}

std::string default_reason(int http_status) {
  switch (http_status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}

namespace {

Error make_api_error(const std::string& method, const std::string& url, int code,
                     std::string reason, std::string message) {
  if (reason.empty()) reason = default_reason(code);
  if (message.empty()) message = "the server answered HTTP " + std::to_string(code);
  return Error(
      code, reason,
      method + " " + url + ": " + message + " (" + reason + ", HTTP " + std::to_string(code) + ")");
}

bool is_status(const json& j) {
  return j.is_object() && j.value("kind", "") == "Status" && j.contains("status");
}

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Error api_error(const std::string& method, const std::string& url, int http_status,
                const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (is_status(j))
    return make_api_error(method, url, http_status, string_field(j, "reason"),
                          string_field(j, "message"));
  return make_api_error(method, url, http_status, "", snippet(body));
}

Error status_error(const std::string& method, const std::string& url, const json& status,
                   int fallback_code) {
  int code = fallback_code;
  if (status.is_object() && status.contains("code") && status["code"].is_number_integer())
    code = status["code"].get<int>();
  std::string reason = status.is_object() ? string_field(status, "reason") : "";
  std::string message = status.is_object() ? string_field(status, "message") : "";
  if (code == 410 && reason.empty()) reason = "Expired";
  return make_api_error(method, url, code, reason, message);
}

json decode_json(const std::string& method, const std::string& url, const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    throw Error(Error::Kind::kDecode,
                method + " " + url + ": response is not JSON: " +
                    (body.empty() ? std::string("(empty body)") : snippet(body)));
  return j;
}

std::string first_line(std::string_view s, size_t max) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  auto begin = std::find_if(s.begin(), s.end(), not_space);
  s.remove_prefix(static_cast<size_t>(begin - s.begin()));
  s = s.substr(0, s.find('\n'));
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s.substr(0, max));
}

std::string snippet(std::string_view s, size_t max) {
  std::string out(s.substr(0, max));
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return out;
}

std::string base64_encode(std::string_view in) {
  static constexpr char kChars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n =
        (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += kChars[(n >> 18) & 63];
    out += kChars[(n >> 12) & 63];
    out += kChars[(n >> 6) & 63];
    out += kChars[n & 63];
  }
  if (i < in.size()) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) n |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kChars[(n >> 18) & 63];
    out += kChars[(n >> 12) & 63];
    out += i + 1 < in.size() ? kChars[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::chrono::seconds parse_retry_after(const std::string& value,
                                       std::chrono::system_clock::time_point now) {
  std::string v = first_line(value);
  if (v.empty()) return std::chrono::seconds(0);
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (v.size() > 9) return std::chrono::seconds(0);  // absurd; treat as unparsable
    return std::chrono::seconds(std::stol(v));
  }
  // HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime forms.
  for (const char* format :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"}) {
    std::tm tm{};
    std::istringstream in(v);
    in.imbue(std::locale::classic());
    in >> std::get_time(&tm, format);
    if (in.fail()) continue;
    auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
    auto delta = std::chrono::ceil<std::chrono::seconds>(when - now);
    return delta.count() > 0 ? delta : std::chrono::seconds(0);
  }
  return std::chrono::seconds(0);
}

}  // namespace detail

std::chrono::seconds parse_retry_after(const std::string& value) {
  return detail::parse_retry_after(value, std::chrono::system_clock::now());
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& p, int attempt, double jitter01) {
  if (attempt <= 1) return std::chrono::milliseconds(0);
  // base * 2^(attempt-2), capped; jitter shortens by up to 20% so the cap is never exceeded
  // and clients at the cap still spread out.
  double nominal = static_cast<double>(p.base_delay.count()) * std::exp2(std::min(attempt - 2, 60));
  nominal = std::min(nominal, static_cast<double>(p.max_delay.count()));
  double j = std::clamp(jitter01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(nominal * (1.0 - 0.2 * j))));
}

}  // namespace ingressx
