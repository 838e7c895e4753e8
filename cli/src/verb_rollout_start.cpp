// rollout start FLEET (--image CONTAINER=IMAGE... | -f PATCH) [--strategy] [--wait]
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "ingressx/core/error.h"
#include "ingressx/core/yaml.h"
#include "rollout_view.h"
#include "session.h"

namespace ingressx::cli {

namespace {

std::string read_input(const std::string& file) {
  if (file == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(file);
  if (!in) throw CliError(kExitUsage, "-f " + file + ": cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The template patch in FILE: a PodTemplateSpec patch, or a ProxyFleet (its spec.template).
json template_patch(const std::string& file) {
  json doc;
  try {
    doc = yaml_to_json(read_input(file), file);
  } catch (const Error& e) {
    throw CliError(kExitUsage, e.what());
  }
  if (!doc.is_object()) throw CliError(kExitUsage, "-f " + file + ": expected a mapping");
  if (doc.contains("spec") && doc["spec"].is_object() && doc["spec"].contains("template"))
    doc = doc["spec"]["template"];
  if (!doc.is_object() || doc.empty())
    throw CliError(kExitUsage, "-f " + file + ": the template patch is empty");
  for (const auto& [k, v] : doc.items()) {
    if (k != "metadata" && k != "spec")
      throw CliError(kExitUsage, "-f " + file + ": unexpected key \"" + k +
                                     "\" (a template patch has metadata and spec)");
  }
  return doc;
}

}  // namespace

int rollout_start(const Globals& g, const StartOptions& o) {
  if (o.images.empty() && o.file.empty())
    throw CliError(kExitUsage, "rollout start: give --image CONTAINER=IMAGE or -f PATCH");
  if (!o.strategy.empty() && o.strategy != "TempFleet" && o.strategy != "BlueGreen")
    throw CliError(kExitUsage, "--strategy " + o.strategy + ": expected TempFleet or BlueGreen");
  std::vector<std::pair<std::string, std::string>> images;
  for (const auto& i : o.images) {
    auto eq = i.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == i.size())
      throw CliError(kExitUsage, "--image " + i + ": expected CONTAINER=IMAGE");
    images.emplace_back(i.substr(0, eq), i.substr(eq + 1));
  }
  WaitOptions w;
  w.timeout = parse_flag_duration(o.timeout, "--timeout");
  w.poll = parse_flag_duration(o.poll, "--poll-interval");
  if (w.poll.count() <= 0) w.poll = std::chrono::milliseconds(1000);
  json tpatch = o.file.empty() ? json::object() : template_patch(o.file);

  Session s(g);
  json patched;
  for (int attempt = 1;; ++attempt) {
    json fleet = s.get_fleet(o.fleet);
    json patch = {{"metadata", {{"resourceVersion", fleet["metadata"]["resourceVersion"]}}},
                  {"spec", json::object()}};
    if (!tpatch.empty()) patch["spec"]["template"] = tpatch;
    if (!images.empty()) {
      // A merge patch replaces a list: send every container, with the new images.
      json tmpl = fleet["spec"]["template"];
      tmpl.merge_patch(tpatch);
      json containers = tmpl["spec"].value("containers", json::array());
      for (const auto& [name, image] : images) {
        bool found = false;
        for (auto& c : containers) {
          if (c.value("name", "") == name) {
            c["image"] = image;
            found = true;
          }
        }
        if (!found) {
          std::string names;
          for (const auto& c : containers)
            names += (names.empty() ? "" : ", ") + c.value("name", "");
          throw CliError(kExitUsage, "--image " + name + "=" + image + ": proxyfleet " + o.fleet +
                                         " has no container \"" + name +
                                         "\" (containers: " + names + ")");
        }
      }
      patch["spec"]["template"]["spec"]["containers"] = containers;
    }
    if (!o.strategy.empty()) patch["spec"]["strategy"] = {{"type", o.strategy}};
    try {
      patched = s.client().patch(kProxyFleets, s.ns(), o.fleet, PatchType::kMerge, patch);
      break;
    } catch (const Error& e) {
      if (e.is_conflict() && attempt < 5) continue;
      throw;
    }
  }
  int64_t generation = patched["metadata"].value("generation", int64_t{0});
  std::cout << object_ref(patched) << " template updated (generation " << generation << ")\n"
            << std::flush;
  if (!o.wait) return kExitOk;
  w.min_generation = generation;
  w.until = Until::kCompleted;
  return wait_for_rollout(s, o.fleet, w);
}

}  // namespace ingressx::cli
