#pragma once
// Small text helpers shared by the parsers (private to the proxy library).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ingressx::proxy {

std::string_view trim(std::string_view s);
std::vector<std::string_view> split_lines(std::string_view text);  // without '\n' / '\r'
std::vector<std::string_view> split_ws(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char sep);
// Parses a whole string as a decimal integer / a double; nullopt otherwise.
std::optional<long long> to_int(std::string_view s);
std::optional<double> to_double(std::string_view s);
// Whole file, or nullopt when it cannot be opened.
std::optional<std::string> read_file(const std::string& path);

}  // namespace ingressx::proxy
