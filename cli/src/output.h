#pragma once
// Printing: tables, -o json|yaml|name|wide|jsonpath=, ages and times.

#include <nlohmann/json_fwd.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "cli.h"

namespace ingressx::cli {

struct Table {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};
// Columns separated by three spaces, like kubectl.
void print_table(std::ostream& out, const Table& t);

// Validates -o; CliError(kExitUsage) for an unknown format.
void check_output_flag(const std::string& output, bool wide_allowed = true);
// True for json, yaml, name and jsonpath=...: print_objects handles those.
bool structured_output(const Globals& g);
// Prints one object, or a v1 List of `items` when `as_list`, in the -o format.
void print_objects(std::ostream& out, const Globals& g, const std::vector<nlohmann::json>& items,
                   bool as_list);
// A small JSONPath subset: {.a.b}, {.items[0].x}, {.items[*].metadata.name}, ['key'],
// literal text around the braces; several results are joined by a space.
std::string eval_jsonpath(const nlohmann::json& root, const std::string& tmpl);

// "5m3s", "2d4h" from an RFC 3339 time to now; "<unknown>" if absent.
std::string age(const std::string& rfc3339);
// "14:02:05" (UTC) from an RFC 3339 time; "" if absent.
std::string clock_time(const std::string& rfc3339);
// "1m3s" between two RFC 3339 times (the second "" = now).
std::string duration_between(const std::string& from, const std::string& to);
std::string format_duration(long long seconds);
// "edge=20 edge-temp=80" from [{fleet, weight}].
std::string traffic_string(const nlohmann::json& split);

}  // namespace ingressx::cli
