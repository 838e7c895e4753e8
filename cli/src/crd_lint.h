#pragma once
// Offline validation of ingressx objects with the CRD's own rules: the OpenAPI schema
// (types, enums, required, bounds, patterns, list types) after applying the schema's
// defaults, then the x-kubernetes-validations (CEL) rules, each implemented here and matched
// to the CRD by its rule text, reported with the CRD's fieldPath, reason and message in the
// apiserver's format ("spec.proxy.drain.minDrain: Invalid value: \"object\": must not ...").

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace ingressx::cli {

struct LintResult {
  std::vector<std::string> errors;    // what the apiserver would refuse
  std::vector<std::string> warnings;  // unknown (pruned) fields, rules not checked offline
};

// `crd` is a CustomResourceDefinition (JSON); `obj` the object to check.
LintResult lint_object(const nlohmann::json& crd, const nlohmann::json& obj);

}  // namespace ingressx::cli
