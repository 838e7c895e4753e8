// The service-annotations cutover provider (see cutover_kube.h): weight annotations on each
// fleet's Service, for load balancers that take their weights from Service annotations.

#include <spdlog/spdlog.h>

#include <charconv>

#include "cutover/cutover_kube.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"

namespace ingressx::op {

namespace {
constexpr std::string_view kPlaceholder = "{{weight}}";
constexpr std::string_view kFleetPlaceholder = "{{fleet}}";

// `tmpl` with every `placeholder` replaced by `value`.
std::string replace_all(const std::string& tmpl, std::string_view placeholder,
                        const std::string& value) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    auto at = tmpl.find(placeholder, pos);
    if (at == std::string::npos) break;
    out += tmpl.substr(pos, at - pos) + value;
    pos = at + placeholder.size();
  }
  return out + tmpl.substr(pos);
}

// The template with every "{{fleet}}" replaced by the fleet's name.
std::string with_fleet(const std::string& tmpl, const std::string& fleet) {
  return replace_all(tmpl, kFleetPlaceholder, fleet);
}
}  // namespace

std::string render_weight(const std::string& tmpl, int weight) {
  return replace_all(tmpl, kPlaceholder, std::to_string(weight));
}

int parse_weight(const std::string& tmpl, const std::string& value) {
  const auto at = tmpl.find(kPlaceholder);
  if (at == std::string::npos) return -1;
  const std::string prefix = tmpl.substr(0, at);
  if (value.compare(0, prefix.size(), prefix) != 0) return -1;
  const char* b = value.data() + prefix.size();
  const char* e = value.data() + value.size();
  int w = -1;
  auto [p, ec] = std::from_chars(b, e, w);
  if (ec != std::errc() || w < 0 || w > 100) return -1;
  // The rest must be what the template renders with this weight.
  if (render_weight(tmpl, w) != value) return -1;
  (void)p;
  return w;
}

namespace {

class ServiceAnnotationsCutover : public CutoverProvider {
 public:
  explicit ServiceAnnotationsCutover(ServiceAnnotationsCutoverConfig cfg) : cfg_(std::move(cfg)) {
    auto bad = [](const std::string& what) {
      return Error(Error::Kind::kInvalidInput, "service-annotations cutover: " + what);
    };
    if (!cfg_.client) throw bad("no API client");
    if (cfg_.annotations.empty()) throw bad("no annotations");
    for (const auto& [key, tmpl] : cfg_.annotations) {
      if (key.empty()) throw bad("an annotation has an empty key");
      if (weight_key_.empty() && tmpl.find(kPlaceholder) != std::string::npos) weight_key_ = key;
    }
    if (weight_key_.empty())
      throw bad("no annotation value holds {{weight}}, so no weight could be set or read back");
  }

  std::string name() const override {
    return "service-annotations " + cfg_.ns + " (" + weight_key_ + ")";
  }

  TrafficSplit apply(const std::vector<TrafficTarget>& targets) override {
    for (const auto& t : targets)
      if (t.weight < 0 || t.weight > 100)
        throw Error(Error::Kind::kInvalidInput, name() + ": fleet " + t.fleet + " has weight " +
                                                    std::to_string(t.weight) + ", not 0..100");
    // Raise first, then lower, so no moment has every fleet at 0.
    std::vector<const TrafficTarget*> order;
    for (const auto& t : targets)
      if (t.weight > 0) order.push_back(&t);
    for (const auto& t : targets)
      if (t.weight == 0) order.push_back(&t);
    for (const auto* t : order) {
      json annotations = json::object();
      for (const auto& [key, tmpl] : cfg_.annotations)
        annotations[key] = render_weight(with_fleet(tmpl, t->fleet), t->weight);
      const json patch = {{"metadata", {{"annotations", annotations}}}};
      try {
        cfg_.client->patch(refs::kServices, cfg_.ns, t->fleet, PatchType::kMerge, patch);
      } catch (const Error& e) {
        if (e.is_not_found() && t->weight == 0) continue;  // no Service: it gets nothing anyway
        throw Error(e.kind() == Error::Kind::kApi ? Error::Kind::kApi : e.kind(),
                    name() + ": setting weight " + std::to_string(t->weight) + " on Service " +
                        cfg_.ns + "/" + t->fleet + " failed: " + e.what());
      }
      spdlog::debug("{}: Service {} weight {}", name(), t->fleet, t->weight);
    }
    return read();
  }

  TrafficSplit read() override {
    TrafficSplit split;
    for (const auto& fleet : cfg_.fleets) {
      auto svc = cfg_.client->try_get(refs::kServices, cfg_.ns, fleet);
      if (!svc) {
        split[fleet] = 0;
        continue;
      }
      const json ann = (*svc)["metadata"].value("annotations", json::object());
      if (!ann.contains(weight_key_) || !ann[weight_key_].is_string()) {
        split[fleet] = 0;  // never set: the load balancer's default, not ours
        continue;
      }
      const std::string value = ann[weight_key_].get<std::string>();
      const std::string tmpl = with_fleet(cfg_.annotations.at(weight_key_), fleet);
      const int w = parse_weight(tmpl, value);
      if (w < 0)
        throw Error(Error::Kind::kDecode, name() + ": Service " + cfg_.ns + "/" + fleet +
                                              " annotation " + weight_key_ + " is '" + value +
                                              "', not of the form '" + tmpl + "'");
      split[fleet] = w;
    }
    return split;
  }

 private:
  ServiceAnnotationsCutoverConfig cfg_;
  std::string weight_key_;
};

}  // namespace

std::unique_ptr<CutoverProvider> make_service_annotations_cutover(
    ServiceAnnotationsCutoverConfig cfg) {
  return std::make_unique<ServiceAnnotationsCutover>(std::move(cfg));
}

}  // namespace ingressx::op
