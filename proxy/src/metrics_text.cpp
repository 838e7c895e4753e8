// Parsers for nginx stub_status and the Prometheus text format.
#include <cctype>

#include "ingressx/core/error.h"
#include "ingressx/proxy/metrics.h"
#include "text_util.h"

namespace ingressx::proxy {
namespace {

Error bad(const std::string& source, int line, const std::string& what) {
  return Error(Error::Kind::kDecode, source + " line " + std::to_string(line) + ": " + what);
}

long long need_int(std::string_view s, const std::string& source, int line, const char* field) {
  auto v = to_int(s);
  if (!v || *v < 0) {
    throw bad(source, line,
              std::string("expected a count for ") + field + ", got '" + std::string(s) + "'");
  }
  return *v;
}

std::vector<std::string_view> non_empty_lines(std::string_view text) {
  std::vector<std::string_view> out;
  for (auto l : split_lines(text)) out.push_back(trim(l));
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

}  // namespace

StubStatus parse_stub_status(std::string_view text, const std::string& source) {
  auto lines = non_empty_lines(text);
  if (lines.size() < 4) {
    throw bad(source, static_cast<int>(lines.size()),
              "expected 4 lines of stub_status, got " + std::to_string(lines.size()));
  }
  StubStatus s;
  const std::string_view active = "Active connections:";
  if (lines[0].substr(0, active.size()) != active) {
    throw bad(source, 1, "expected 'Active connections: N', got '" + std::string(lines[0]) + "'");
  }
  s.active = need_int(trim(lines[0].substr(active.size())), source, 1, "Active connections");
  auto counters = split_ws(lines[2]);
  if (counters.size() != 3) throw bad(source, 3, "expected 'accepts handled requests' counts");
  s.accepts = need_int(counters[0], source, 3, "accepts");
  s.handled = need_int(counters[1], source, 3, "handled");
  s.requests = need_int(counters[2], source, 3, "requests");
  auto rw = split_ws(lines[3]);
  if (rw.size() != 6 || rw[0] != "Reading:" || rw[2] != "Writing:" || rw[4] != "Waiting:") {
    throw bad(source, 4, "expected 'Reading: N Writing: N Waiting: N'");
  }
  s.reading = need_int(rw[1], source, 4, "Reading");
  s.writing = need_int(rw[3], source, 4, "Writing");
  s.waiting = need_int(rw[5], source, 4, "Waiting");
  return s;
}

namespace {

bool name_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

// Parses `{a="b",c="d"}` starting at line[pos] == '{'; leaves pos after '}'.
std::map<std::string, std::string> parse_labels(std::string_view line, size_t& pos,
                                                const std::string& source, int number) {
  std::map<std::string, std::string> labels;
  ++pos;
  while (true) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == ',')) ++pos;
    if (pos < line.size() && line[pos] == '}') return ++pos, labels;
    size_t start = pos;
    while (pos < line.size() && name_char(line[pos], pos == start)) ++pos;
    std::string key(line.substr(start, pos - start));
    if (key.empty() || pos + 1 >= line.size() || line[pos] != '=' || line[pos + 1] != '"') {
      throw bad(source, number, "expected label=\"value\" at column " + std::to_string(pos + 1));
    }
    pos += 2;
    std::string value;
    while (pos < line.size() && line[pos] != '"') {
      char c = line[pos++];
      if (c == '\\' && pos < line.size()) {
        char e = line[pos++];
        c = e == 'n' ? '\n' : e;
      }
      value += c;
    }
    if (pos >= line.size()) throw bad(source, number, "unterminated label value for " + key);
    ++pos;
    labels[key] = value;
  }
}

PromSample parse_sample(std::string_view line, const std::string& source, int number) {
  PromSample s;
  size_t pos = 0;
  while (pos < line.size() && name_char(line[pos], pos == 0)) ++pos;
  s.name = std::string(line.substr(0, pos));
  if (s.name.empty()) throw bad(source, number, "expected a metric name at column 1");
  if (pos < line.size() && line[pos] == '{') s.labels = parse_labels(line, pos, source, number);
  auto rest = split_ws(line.substr(pos));
  if (rest.empty() || rest.size() > 2) {
    throw bad(source, number, "expected a value (and optional timestamp) after " + s.name);
  }
  auto v = to_double(rest[0]);
  if (!v)
    throw bad(source, number,
              "expected a number for " + s.name + ", got '" + std::string(rest[0]) + "'");
  s.value = *v;
  return s;
}

}  // namespace

std::vector<PromSample> parse_prometheus(std::string_view text, const std::string& source) {
  std::vector<PromSample> out;
  int number = 0;
  for (auto raw : split_lines(text)) {
    ++number;
    auto line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    out.push_back(parse_sample(line, source, number));
  }
  return out;
}

std::optional<double> sum_samples(const std::vector<PromSample>& samples, std::string_view name,
                                  const std::map<std::string, std::string>& match) {
  std::optional<double> sum;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) ok = false;
    }
    if (ok) sum = sum.value_or(0) + s.value;
  }
  return sum;
}

}  // namespace ingressx::proxy
