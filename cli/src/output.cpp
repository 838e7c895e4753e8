#include "output.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"
#include "ingressx/core/yaml.h"
#include "session.h"

namespace ingressx::cli {

void print_table(std::ostream& out, const Table& t) {
  std::vector<size_t> width(t.headers.size(), 0);
  for (size_t i = 0; i < t.headers.size(); ++i) width[i] = t.headers[i].size();
  for (const auto& r : t.rows)
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i) {
      s += cells[i];
      if (i + 1 < cells.size()) s += std::string(width[i] - cells[i].size() + 3, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  line(t.headers);
  for (const auto& r : t.rows) line(r);
}

void check_output_flag(const std::string& output, bool wide_allowed) {
  if (output.empty() || output == "json" || output == "yaml" || output == "name") return;
  if (output == "wide" && wide_allowed) return;
  if (output.rfind("jsonpath=", 0) == 0 && output.size() > 9) return;
  throw CliError(kExitUsage, "unknown output format \"" + output +
                                 "\": use json, yaml, name, wide or jsonpath=TEMPLATE");
}

bool structured_output(const Globals& g) {
  return !g.output.empty() && g.output != "wide";
}

void print_objects(std::ostream& out, const Globals& g, const std::vector<nlohmann::json>& items,
                   bool as_list) {
  // Like kubectl (--show-managed-fields=false), without metadata.managedFields.
  std::vector<nlohmann::json> shown = items;
  for (auto& i : shown)
    if (i.is_object() && i.contains("metadata") && i["metadata"].is_object())
      i["metadata"].erase("managedFields");
  nlohmann::json doc;
  if (as_list) {
    doc = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", shown}, {"metadata", json::object()}};
  } else {
    doc = shown.empty() ? json::object() : shown.front();
  }
  if (g.output == "json") {
    out << doc.dump(4) << "\n";
  } else if (g.output == "yaml") {
    out << json_to_yaml(doc);
    if (out.good()) out.flush();
  } else if (g.output == "name") {
    for (const auto& i : shown) out << object_ref(i) << "\n";
  } else if (g.output.rfind("jsonpath=", 0) == 0) {
    out << eval_jsonpath(doc, g.output.substr(9)) << "\n";
  }
}

namespace {

// Applies one path to a set of nodes: ".a", "['a']", "[0]", "[*]", "..": only the first four.
std::vector<nlohmann::json> apply_path(const std::vector<nlohmann::json>& nodes,
                                       const std::string& path) {
  std::vector<nlohmann::json> cur = nodes;
  size_t i = 0;
  auto bad = [&](const std::string& why) {
    throw CliError(kExitUsage, "jsonpath {" + path + "}: " + why);
  };
  while (i < path.size()) {
    std::vector<nlohmann::json> next;
    if (path[i] == '.') {
      ++i;
      if (i >= path.size()) break;  // "{.}" is the root
      size_t j = i;
      while (j < path.size() && path[j] != '.' && path[j] != '[') ++j;
      std::string key = path.substr(i, j - i);
      if (key.empty()) bad("empty field name");
      for (const auto& n : cur)
        if (n.is_object() && n.contains(key)) next.push_back(n[key]);
      i = j;
    } else if (path[i] == '[') {
      size_t j = path.find(']', i);
      if (j == std::string::npos) bad("unclosed [");
      std::string sel = path.substr(i + 1, j - i - 1);
      if (sel == "*") {
        for (const auto& n : cur) {
          if (n.is_array() || n.is_object())
            for (const auto& v : n) next.push_back(v);
        }
      } else if (!sel.empty() && (sel.front() == '\'' || sel.front() == '"')) {
        std::string key = sel.substr(1, sel.size() >= 2 ? sel.size() - 2 : 0);
        for (const auto& n : cur)
          if (n.is_object() && n.contains(key)) next.push_back(n[key]);
      } else {
        long idx = 0;
        try {
          idx = std::stol(sel);
        } catch (...) {
          bad("unsupported selector [" + sel + "]");
        }
        for (const auto& n : cur) {
          if (!n.is_array()) continue;
          long k = idx < 0 ? static_cast<long>(n.size()) + idx : idx;
          if (k >= 0 && k < static_cast<long>(n.size())) next.push_back(n[k]);
        }
      }
      i = j + 1;
    } else {
      bad("expected '.' or '[' at \"" + path.substr(i) + "\"");
    }
    cur = std::move(next);
  }
  return cur;
}

}  // namespace

std::string eval_jsonpath(const nlohmann::json& root, const std::string& tmpl) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t open = tmpl.find('{', i);
    if (open == std::string::npos) {
      out += tmpl.substr(i);
      break;
    }
    out += tmpl.substr(i, open - i);
    size_t close = tmpl.find('}', open);
    if (close == std::string::npos) throw CliError(kExitUsage, "jsonpath: unclosed {");
    std::string expr = tmpl.substr(open + 1, close - open - 1);
    if (expr.rfind("range", 0) == 0 || expr == "end")
      throw CliError(kExitUsage, "jsonpath: {range} is not supported; use [*]");
    if (expr.empty() || (expr[0] != '.' && expr[0] != '['))
      throw CliError(kExitUsage, "jsonpath: expected {.path}, got {" + expr + "}");
    std::string joined;
    for (const auto& v : apply_path({root}, expr)) {
      if (!joined.empty()) joined += " ";
      joined += v.is_string() ? v.get<std::string>() : v.dump();
    }
    out += joined;
    i = close + 1;
  }
  return out;
}

std::string format_duration(long long s) {
  if (s < 0) s = 0;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + (s % 60 ? std::to_string(s % 60) + "s" : "");
  if (s < 86400)
    return std::to_string(s / 3600) + "h" +
           (s % 3600 / 60 ? std::to_string(s % 3600 / 60) + "m" : "");
  return std::to_string(s / 86400) + "d" +
         (s % 86400 / 3600 ? std::to_string(s % 86400 / 3600) + "h" : "");
}

namespace {
std::optional<std::chrono::system_clock::time_point> parse(const std::string& t) {
  if (t.empty()) return std::nullopt;
  try {
    return parse_time(t, "time");
  } catch (const Error&) {
    return std::nullopt;
  }
}
}  // namespace

std::string age(const std::string& rfc3339) {
  auto t = parse(rfc3339);
  if (!t) return "<unknown>";
  return format_duration(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - *t)
          .count());
}

std::string clock_time(const std::string& rfc3339) {
  auto t = parse(rfc3339);
  if (!t) return "";
  std::time_t tt = std::chrono::system_clock::to_time_t(*t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::string duration_between(const std::string& from, const std::string& to) {
  auto a = parse(from);
  if (!a) return "";
  auto b = to.empty() ? std::optional(std::chrono::system_clock::now()) : parse(to);
  if (!b) return "";
  return format_duration(std::chrono::duration_cast<std::chrono::seconds>(*b - *a).count());
}

std::string traffic_string(const nlohmann::json& split) {
  std::string s;
  if (!split.is_array()) return s;
  for (const auto& e : split) {
    if (!s.empty()) s += " ";
    s += e.value("fleet", "?") + "=" + std::to_string(e.value("weight", 0));
  }
  return s;
}

}  // namespace ingressx::cli
