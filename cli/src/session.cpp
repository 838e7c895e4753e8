#include "session.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "ingressx/api/duration.h"
#include "ingressx/core/error.h"
#include "ingressx/core/kubeconfig.h"

namespace ingressx::cli {

const ResourceRef kProxyFleets{"ingressx.io", "v1alpha1", "proxyfleets", true, "ProxyFleet"};
const ResourceRef kFleetRollouts{"ingressx.io", "v1alpha1", "fleetrollouts", true, "FleetRollout"};

std::chrono::milliseconds parse_flag_duration(const std::string& value, const std::string& flag) {
  if (value.empty() || value == "0") return std::chrono::milliseconds(0);
  try {
    return api::parse_duration(value, flag, api::DurationForm::kFlag);
  } catch (const Error& e) {
    throw CliError(kExitUsage, e.what());
  }
}

Session::Session(const Globals& g) : g_(g) {
  LoadOptions lo;
  lo.kubeconfig = g.kubeconfig;
  lo.context = g.context;
  lo.cluster = g.cluster;
  lo.user = g.user;
  lo.namespace_ = g.namespace_;
  lo.as_user = g.as;
  lo.as_groups = g.as_groups;
  lo.request_timeout = parse_flag_duration(g.request_timeout, "--request-timeout");
  RestConfig cfg;
  try {
    cfg = load_rest_config(lo);
  } catch (const Error& e) {
    throw CliError(kExitUsage, e.what());
  }
  ns_ = !g.namespace_.empty() ? g.namespace_ : cfg.namespace_.empty() ? "default" : cfg.namespace_;
  client_ = std::make_unique<Client>(std::move(cfg));
  RetryPolicy p;
  p.max_attempts = 3;
  client_->set_retry_policy(p);
}

Session::~Session() = default;

json Session::get_fleet(const std::string& name) {
  auto f = client_->try_get(kProxyFleets, ns_, name);
  if (!f) {
    throw CliError(kExitFailed, "proxyfleet \"" + name + "\" not found in namespace \"" + ns_ +
                                    "\" (kubectl ingressx fleet list -n " + ns_ +
                                    " lists the fleets)");
  }
  return *f;
}

std::vector<json> Session::rollouts_of(const std::string& fleet) {
  json list = client_->list_all(kFleetRollouts, ns_);
  std::vector<json> out;
  for (auto& r : list.value("items", json::array())) {
    std::string by_label;
    if (r.contains("metadata") && r["metadata"].contains("labels"))
      by_label = r["metadata"]["labels"].value("ingressx.io/fleet", "");
    std::string by_ref;
    if (r.contains("spec") && r["spec"].contains("fleetRef"))
      by_ref = r["spec"]["fleetRef"].value("name", "");
    if (by_label == fleet || by_ref == fleet) out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return a["spec"].value("revision", int64_t{0}) < b["spec"].value("revision", int64_t{0});
  });
  return out;
}

std::optional<json> Session::current_rollout(const json& fleet) {
  std::string name;
  if (fleet.contains("status")) name = fleet["status"].value("currentRollout", "");
  if (name.empty()) return std::nullopt;
  return client_->try_get(kFleetRollouts, ns_, name);
}

json Session::patch_fleet(const std::string& name, const json& merge_patch) {
  get_fleet(name);  // the clear not-found message
  return client_->patch(kProxyFleets, ns_, name, PatchType::kMerge, merge_patch);
}

std::string new_token() {
  static std::atomic<int> n{0};
  auto now = std::chrono::system_clock::now();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dt%02d%02d%02d.%09lldz-%d-%d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(ns % 1000000000), static_cast<int>(::getpid() % 100000),
                ++n);
  return buf;
}

std::string object_ref(const json& obj) {
  std::string kind = obj.value("kind", "");
  std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
  return kind + ".ingressx.io/" + obj["metadata"].value("name", "");
}

}  // namespace ingressx::cli
