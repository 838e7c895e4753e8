#pragma once
// YAML <-> JSON, the only place yaml-cpp is used. Scalars are typed as YAML 1.1/1.2 core
// schema would (true/false, null, integers, floats; quoted scalars stay strings).

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ingressx {

// Parses one YAML document. Throws Error(kDecode) naming `source` with line and column.
nlohmann::json yaml_to_json(const std::string& text, const std::string& source);
// Parses a multi-document stream ("---" separated); empty documents are skipped.
std::vector<nlohmann::json> yaml_to_json_all(const std::string& text, const std::string& source);
std::string json_to_yaml(const nlohmann::json& value);

}  // namespace ingressx
