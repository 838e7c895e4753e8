// The external-dns cutover provider (see cutover_kube.h): external-dns annotations on the
// serving fleet's Service, removed from the others; convergence and read() through DNS
// with dns::Checker (cutover_rfc2136.cpp), the same query path as the rfc2136 provider.

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <set>

#include "cutover/cutover_kube.h"
#include "cutover/cutover_rfc2136.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"

namespace ingressx::op {

namespace {

using json = nlohmann::json;

class ExternalDnsCutover : public CutoverProvider {
 public:
  explicit ExternalDnsCutover(ExternalDnsCutoverConfig cfg)
      : cfg_(std::move(cfg)), checker_(checker_config(cfg_)) {
    auto bad = [&](const std::string& what) {
      return Error(Error::Kind::kInvalidInput, "external-dns cutover: " + what);
    };
    if (!cfg_.client) throw bad("no API client");
    if (cfg_.hostname.empty() || !dns::is_name(cfg_.hostname))
      throw bad("externalDNS.hostname '" + cfg_.hostname + "' is not a DNS name");
    host_ = dns::absolute_name(cfg_.hostname, cfg_.hostname);  // a name in itself: as is
    if (cfg_.ttl < 1 || cfg_.ttl > 86400)
      throw bad("externalDNS.ttl " + std::to_string(cfg_.ttl) + " is not 1..86400");
    if (cfg_.nameservers.empty())
      throw bad(
          "externalDNS.nameservers is empty: without a name server to query the "
          "operator cannot tell when DNS answers the new fleet");
    const auto& prefix = cfg_.annotation_prefix;
    if (prefix.size() < 2 || prefix.back() != '/' ||
        !dns::is_name(prefix.substr(0, prefix.size() - 1)))
      throw bad("externalDNS.annotationPrefix '" + prefix +
                "' is not a DNS name followed by '/' (external-dns's --annotation-prefix)");
    if (!cfg_.zone.empty() && !dns::is_name(cfg_.zone))
      throw bad("externalDNS.zone '" + cfg_.zone + "' is not a DNS name");
    if (!cfg_.zone.empty() && !dns::in_zone(host_, dns::absolute_name("@", cfg_.zone)))
      throw bad("externalDNS.hostname " + cfg_.hostname + " is not in externalDNS.zone " +
                cfg_.zone);
  }

  std::string name() const override {
    return "external-dns " + host_.substr(0, host_.size() - 1) + " (Services in " + cfg_.ns + ")";
  }

  TrafficSplit apply(const std::vector<TrafficTarget>& requested) override {
    // The fleet's address: the target's, else the one the operator knows.
    std::vector<TrafficTarget> targets = requested;
    for (auto& t : targets)
      if (t.address.empty())
        if (auto a = cfg_.fleet_addresses.find(t.fleet); a != cfg_.fleet_addresses.end())
          t.address = a->second;
    const TrafficTarget& to = dns::serving_target(targets, name());
    const dns::Record want = dns::serving_record(to, name());
    const std::string want_text = std::string(dns::type_name(want.type)) + " " + want.data;

    // The serving fleet first, so the name never has no Service behind it (external-dns
    // would delete the record in between); then the others lose the annotations.
    json serving = {{key("hostname"), host_.substr(0, host_.size() - 1)},
                    {key("ttl"), std::to_string(cfg_.ttl)},
                    {key("target"), to.address}};
    if (!cfg_.set_identifier.empty()) serving[key("set-identifier")] = cfg_.set_identifier;
    const auto start = std::chrono::steady_clock::now();
    bool changed = annotate(to.fleet, serving, true);
    std::set<std::string> others(cfg_.fleets.begin(), cfg_.fleets.end());
    for (const auto& t : targets) others.insert(t.fleet);
    others.erase(to.fleet);
    json removed = {{key("hostname"), nullptr},
                    {key("ttl"), nullptr},
                    {key("target"), nullptr},
                    {key("set-identifier"), nullptr}};
    for (const auto& fleet : others) changed = annotate(fleet, removed, false) || changed;
    if (changed)
      spdlog::info("{}: Service {}/{} carries the external-dns annotations ({} ttl {})", name(),
                   cfg_.ns, to.fleet, want_text, cfg_.ttl);

    const std::string context = name() + ": Service " + cfg_.ns + "/" + to.fleet +
                                " carries the annotations for " + want_text + " (ttl " +
                                std::to_string(cfg_.ttl) + ")";
    size_t servers = 0;
    try {
      servers = checker_.wait_converged({host_}, want, cfg_.ttl, context);
    } catch (const Error& e) {
      throw Error(e.kind(), std::string(e.what()) +
                                " (external-dns must run with --source=service, a "
                                "--domain-filter that covers the hostname, a --namespace "
                                "that includes " +
                                cfg_.ns + " and --annotation-prefix=" + cfg_.annotation_prefix +
                                ")");
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (changed)
      spdlog::info("{}: {} name server(s) answer {} after {} ms", name(), servers, want_text,
                   took.count());
    return read();
  }

  TrafficSplit read() override {
    TrafficSplit split;
    for (const auto& f : cfg_.fleets) split[f] = 0;
    for (const auto& [fleet, address] : cfg_.fleet_addresses) split[fleet] = 0;
    const std::string host_text = host_.substr(0, host_.size() - 1);
    std::string first_label, first_what;
    std::set<std::string> first_records, fleets;
    bool first = true;
    for (const auto& server : checker_.authoritative_servers()) {
      dns::NameAnswer answer;
      try {
        answer = checker_.read_name(server, host_, checker_.deadline_from_now());
      } catch (const Error& e) {
        throw Error(e.kind(), name() + ": reading " + host_text + ": " + e.what());
      }
      if (first) {
        first = false;
        first_label = server.label;
        first_what = answer.describe();
        first_records = answer.records;
        fleets = dns::fleets_answered(answer, cfg_.fleet_addresses);
      } else if (answer.records != first_records) {
        throw Error(Error::Kind::kTransport,
                    name() + ": the name servers disagree on " + host_text + ": " + first_label +
                        " answers " + first_what + ", " + server.label + " answers " +
                        answer.describe() + " (external-dns changed it and not every server " +
                        "has the change yet, or someone else writes the name)");
      }
    }
    // Every server answers the same: each fleet among the answers gets an equal share
    // (one fleet: 100); an answer that is no fleet's address sends no traffic to a fleet.
    if (!fleets.empty()) {
      const int share = 100 / static_cast<int>(fleets.size());
      for (const auto& f : fleets) split[f] = share;
    }
    return split;
  }

 private:
  static dns::CheckerConfig checker_config(const ExternalDnsCutoverConfig& cfg) {
    dns::CheckerConfig c;
    for (const auto& hp : cfg.nameservers)
      c.servers.push_back(dns::parse_server(hp, "external-dns cutover: externalDNS.nameservers"));
    c.zone = cfg.zone;
    c.check_ns = !cfg.zone.empty();
    c.ns_port = cfg.ns_port;
    c.timeout_ms = cfg.timeout_ms;
    c.converge_timeout_ms = cfg.converge_timeout_ms;
    c.poll_ms = cfg.poll_ms;
    return c;
  }

  // Merge-patches `annotations` (null values remove) onto the fleet's Service when it does
  // not carry them already; true when it wrote. A missing Service is an error for the
  // serving fleet and nothing to do for the others.
  bool annotate(const std::string& fleet, const json& annotations, bool serving) {
    const std::string what = "Service " + cfg_.ns + "/" + fleet;
    std::optional<json> svc;
    try {
      svc = cfg_.client->try_get(refs::kServices, cfg_.ns, fleet);
    } catch (const Error& e) {
      throw Error(e.kind(), name() + ": reading " + what + " failed: " + e.what());
    }
    if (!svc) {
      if (!serving) return false;  // no Service: it publishes nothing
      throw Error(Error::Kind::kNotFound,
                  name() + ": " + what + " (fleet " + fleet +
                      ", weight 100) does not exist; expected the fleet's Service to carry "
                      "the annotation " +
                      key("hostname") + "; the DNS record is left as it is");
    }
    const json current = (*svc)["metadata"].value("annotations", json::object());
    bool needed = false;
    for (const auto& [key, value] : annotations.items()) {
      const bool has = current.contains(key);
      if (value.is_null() ? has : (!has || current[key] != value)) needed = true;
    }
    if (!needed) return false;
    try {
      cfg_.client->patch(refs::kServices, cfg_.ns, fleet, PatchType::kMerge,
                         {{"metadata", {{"annotations", annotations}}}});
    } catch (const Error& e) {
      throw Error(e.kind(), name() + ": " + (serving ? "setting" : "removing") +
                                " the external-dns annotations (metadata.annotations." +
                                key("hostname") + ") on " + what + " failed: " + e.what());
    }
    spdlog::debug("{}: {} {} the external-dns annotations", name(), what,
                  serving ? "carries" : "no longer carries");
    return true;
  }

  std::string key(const char* what) const { return cfg_.annotation_prefix + what; }

  ExternalDnsCutoverConfig cfg_;
  dns::Checker checker_;
  std::string host_;  // absolute, lower-case
};

}  // namespace

std::unique_ptr<CutoverProvider> make_external_dns_cutover(ExternalDnsCutoverConfig cfg) {
  return std::make_unique<ExternalDnsCutover>(std::move(cfg));
}

}  // namespace ingressx::op
