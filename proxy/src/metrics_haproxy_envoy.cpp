// Parsers for HAProxy's stats socket output and Envoy's admin /stats.
#include <algorithm>

#include "ingressx/core/error.h"
#include "ingressx/proxy/metrics.h"
#include "text_util.h"

namespace ingressx::proxy {
namespace {

Error bad(const std::string& source, int line, const std::string& what) {
  return Error(Error::Kind::kDecode, source + " line " + std::to_string(line) + ": " + what);
}

}  // namespace

std::map<std::string, std::string> parse_haproxy_info(std::string_view text,
                                                      const std::string& source) {
  std::map<std::string, std::string> out;
  int number = 0;
  for (auto raw : split_lines(text)) {
    ++number;
    auto line = trim(raw);
    if (line.empty()) continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      throw bad(source, number, "expected 'Name: value', got '" + std::string(line) + "'");
    }
    out[std::string(trim(line.substr(0, colon)))] = std::string(trim(line.substr(colon + 1)));
  }
  if (out.empty()) throw bad(source, number, "empty 'show info' output");
  return out;
}

std::vector<std::map<std::string, std::string>> parse_haproxy_stat(std::string_view text,
                                                                   const std::string& source) {
  auto lines = split_lines(text);
  if (lines.empty() || trim(lines[0]).substr(0, 2) != "# ") {
    throw bad(source, 1, "expected the CSV header '# pxname,svname,...'");
  }
  auto header = split(trim(lines[0]).substr(2), ',');
  std::vector<std::map<std::string, std::string>> rows;
  for (size_t i = 1; i < lines.size(); ++i) {
    auto line = trim(lines[i]);
    if (line.empty()) continue;
    auto cells = split(line, ',');
    // HAProxy ends every line with a comma; both files therefore have an empty last cell.
    if (cells.size() != header.size()) {
      throw bad(source, static_cast<int>(i + 1),
                "expected " + std::to_string(header.size()) + " CSV fields, got " +
                    std::to_string(cells.size()));
    }
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < header.size(); ++c) {
      if (!header[c].empty()) row[std::string(header[c])] = std::string(cells[c]);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

long long haproxy_frontend_sessions(const std::vector<std::map<std::string, std::string>>& rows,
                                    const std::vector<std::string>& exclude,
                                    const std::string& source) {
  long long sum = 0;
  for (const auto& row : rows) {
    auto sv = row.find("svname");
    auto px = row.find("pxname");
    auto scur = row.find("scur");
    if (sv == row.end() || px == row.end() || scur == row.end()) {
      throw Error(Error::Kind::kDecode, source + ": missing pxname, svname or scur column");
    }
    if (sv->second != "FRONTEND") continue;
    if (std::find(exclude.begin(), exclude.end(), px->second) != exclude.end()) continue;
    auto v = to_int(scur->second);
    if (!v || *v < 0) {
      throw Error(Error::Kind::kDecode, source + ": frontend " + px->second +
                                            ": expected a count in scur, got '" + scur->second +
                                            "'");
    }
    sum += *v;
  }
  return sum;
}

std::map<std::string, long long> parse_envoy_stats(std::string_view text,
                                                   const std::string& source) {
  std::map<std::string, long long> out;
  int number = 0;
  for (auto raw : split_lines(text)) {
    ++number;
    auto line = trim(raw);
    if (line.empty()) continue;
    auto colon = line.rfind(": ");
    if (colon == std::string_view::npos || colon == 0) {
      throw bad(source, number, "expected 'name: value', got '" + std::string(line) + "'");
    }
    auto name = line.substr(0, colon);
    auto value = trim(line.substr(colon + 2));
    if (value.substr(0, 2) == "P0" || value.find("(") != std::string_view::npos ||
        value == "No recorded values") {
      continue;  // a histogram summary
    }
    auto v = to_int(value);
    if (!v) {
      throw bad(source, number,
                "expected an integer value for " + std::string(name) + ", got '" +
                    std::string(value) + "'");
    }
    out[std::string(name)] = *v;
  }
  return out;
}

long long envoy_active_connections(const std::map<std::string, long long>& stats) {
  const std::string_view prefix = "listener.";
  const std::string_view suffix = ".downstream_cx_active";
  long long sum = 0;
  for (const auto& [name, value] : stats) {
    std::string_view n = name;
    if (n.size() <= prefix.size() + suffix.size()) continue;
    if (n.substr(0, prefix.size()) != prefix) continue;
    if (n.substr(n.size() - suffix.size()) != suffix) continue;
    auto listener = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
    if (listener == "admin" || listener.substr(0, 6) == "admin." ||
        listener.find(".worker_") != std::string_view::npos)
      continue;
    sum += value;
  }
  return sum;
}

}  // namespace ingressx::proxy
