// lint -f FILE...: validate ProxyFleet (and FleetRollout) manifests offline with the same
// rules as the CRDs in crds/ (embedded at build time). Exit 0 valid, 1 invalid, 2 unreadable.
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crd_data.h"
#include "crd_lint.h"
#include "ingressx/core/error.h"
#include "ingressx/core/yaml.h"
#include "output.h"

namespace ingressx::cli {

using json = nlohmann::json;

namespace {

std::string read_file(const std::string& file) {
  if (file == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(file);
  if (!in) throw CliError(kExitUsage, "lint: cannot read " + file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const json& crd_for(const std::string& kind) {
  static const json pf = yaml_to_json(kProxyFleetCrdYaml, "crds/ingressx.io_proxyfleets.yaml");
  static const json fr = yaml_to_json(kFleetRolloutCrdYaml, "crds/ingressx.io_fleetrollouts.yaml");
  return kind == "FleetRollout" ? fr : pf;
}

}  // namespace

int lint(const Globals& g, const std::vector<std::string>& files) {
  if (!g.output.empty() && g.output != "json" && g.output != "yaml")
    throw CliError(kExitUsage, "lint: -o " + g.output + " is not supported (json or yaml)");
  json report = json::array();
  bool invalid = false;
  for (const auto& file : files) {
    std::vector<json> docs;
    try {
      docs = yaml_to_json_all(read_file(file), file);
    } catch (const Error& e) {
      throw CliError(kExitUsage, e.what());
    }
    std::vector<json> objects;
    for (auto& d : docs) {
      if (d.is_object() && d.value("kind", "") == "List" && d.contains("items")) {
        for (auto& i : d["items"]) objects.push_back(i);
      } else {
        objects.push_back(d);
      }
    }
    for (const auto& obj : objects) {
      std::string kind = obj.is_object() ? obj.value("kind", "") : "";
      std::string name;
      if (obj.is_object() && obj.contains("metadata") && obj["metadata"].is_object())
        name = obj["metadata"].value("name", "");
      json entry = {{"file", file}, {"kind", kind}, {"name", name}};
      if (kind != "ProxyFleet" && kind != "FleetRollout") {
        entry["skipped"] = true;
        entry["warnings"] = {"not an ingressx.io kind (ProxyFleet, FleetRollout): skipped"};
        if (g.output.empty())
          std::cerr << file << ": " << (kind.empty() ? "a document without kind" : kind) << " "
                    << name << ": skipped (not ProxyFleet or FleetRollout)\n";
        report.push_back(entry);
        continue;
      }
      LintResult r = lint_object(crd_for(kind), obj);
      entry["valid"] = r.errors.empty();
      entry["errors"] = r.errors;
      entry["warnings"] = r.warnings;
      invalid = invalid || !r.errors.empty();
      report.push_back(entry);
      if (!g.output.empty()) continue;
      std::string what = file + ": " + kind + " \"" + name + "\"";
      for (const auto& w : r.warnings) std::cerr << what << ": warning: " << w << "\n";
      if (r.errors.empty()) {
        std::cout << what << " is valid\n";
      } else {
        std::cout << what << " is invalid:\n";
        for (const auto& e : r.errors) std::cout << "  " << e << "\n";
      }
    }
  }
  if (!g.output.empty()) print_objects(std::cout, g, {report}, false);
  return invalid ? kExitFailed : kExitOk;
}

}  // namespace ingressx::cli
