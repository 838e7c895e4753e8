// The Deployment and Service of one fleet, with the preStop hook injected.
#include "reconciler/fleet_objects.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <string>

#include "ingressx/api/defaults.h"
#include "ingressx/core/error.h"
#include "ingressx/operator/fleet_spec.h"
#include "ingressx/proxy/clone.h"

namespace ingressx::op {

namespace {

constexpr const char* kHookVolume = "ingressx-hook";
constexpr const char* kHookDir = "/ingressx";

json owner_ref(const json& pf) {
  const auto& md = pf.at("metadata");
  return json::array({{{"apiVersion", "ingressx.io/v1alpha1"},
                       {"kind", "ProxyFleet"},
                       {"name", md.value("name", "")},
                       {"uid", md.value("uid", "")},
                       {"controller", true},
                       {"blockOwnerDeletion", true}}});
}

std::string dur_arg(const json& drain, const char* key, const char* def) {
  if (drain.is_object() && drain.contains(key) && drain[key].is_string())
    return drain[key].get<std::string>();
  return def;
}

// The preStop command for the proxy container, from spec.proxy.
json hook_command(const json& proxy) {
  const json drain = proxy.value("drain", json::object());
  json cmd = json::array({std::string(kHookDir) + "/ingressx-hook", "prestop", "--proxy",
                          proxy.value("kind", "generic")});
  cmd.push_back("--propagation-delay");
  cmd.push_back(dur_arg(drain, "propagationDelay", api::defaults::kPropagationDelay));
  cmd.push_back("--min-drain");
  cmd.push_back(dur_arg(drain, "minDrain", api::defaults::kMinDrain));
  cmd.push_back("--max-drain");
  cmd.push_back(dur_arg(drain, "maxDrain", api::defaults::kMaxDrain));
  cmd.push_back("--poll-interval");
  cmd.push_back(dur_arg(drain, "pollInterval", api::defaults::kPollInterval));
  cmd.push_back("--drained-at");
  cmd.push_back(std::to_string(drain.value("drainedAt", api::defaults::kDrainedAt)));
  cmd.push_back("--count-from");
  cmd.push_back(drain.value("connectionSource", api::defaults::kConnectionSource));
  auto opt = [&](const char* field, const char* flag) {
    if (proxy.contains(field) && proxy[field].is_string() &&
        !proxy[field].get<std::string>().empty()) {
      cmd.push_back(flag);
      cmd.push_back(proxy[field].get<std::string>());
    }
  };
  opt("adminURL", "--admin-url");
  opt("statsSocket", "--stats-socket");
  opt("pidFile", "--pid-file");
  opt("processName", "--process-name");
  opt("signal", "--signal");
  if (drain.contains("ports") && drain["ports"].is_array() && !drain["ports"].empty()) {
    cmd.push_back("--ports");
    for (const auto& p : drain["ports"]) cmd.push_back(std::to_string(p.get<int>()));
  }
  // The hook's log lines go to the container's stdout (kubectl logs shows them).
  cmd.push_back("--log-file");
  cmd.push_back("/proc/1/fd/1");
  return cmd;
}

}  // namespace

std::string fnv_hex(const std::string& data, int hex_digits) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf).substr(0, static_cast<size_t>(hex_digits));
}

std::string template_hash(const json& template_, const std::string& config_digest_input) {
  std::string h = "t";
  h.append(fnv_hex(template_.dump(), 12)).append("c").append(fnv_hex(config_digest_input, 12));
  return h;
}

int64_t grace_seconds(const FleetSettings& s) {
  const auto ms = s.drain.propagation_delay.count() + s.drain.max_drain.count();
  return static_cast<int64_t>(std::ceil(static_cast<double>(ms) / 1000.0)) + 15;
}

ConfigRefs config_refs(const json& template_) {
  std::set<std::string> cms, secrets;
  const json spec = template_.value("spec", json::object());
  for (const auto& v : spec.value("volumes", json::array())) {
    if (v.contains("configMap")) cms.insert(v["configMap"].value("name", ""));
    if (v.contains("secret")) secrets.insert(v["secret"].value("secretName", ""));
    if (v.contains("projected"))
      for (const auto& src : v["projected"].value("sources", json::array())) {
        if (src.contains("configMap")) cms.insert(src["configMap"].value("name", ""));
        if (src.contains("secret")) secrets.insert(src["secret"].value("name", ""));
      }
  }
  for (const char* list : {"containers", "initContainers"}) {
    for (const auto& c : spec.value(list, json::array())) {
      for (const auto& e : c.value("envFrom", json::array())) {
        if (e.contains("configMapRef")) cms.insert(e["configMapRef"].value("name", ""));
        if (e.contains("secretRef")) secrets.insert(e["secretRef"].value("name", ""));
      }
      for (const auto& e : c.value("env", json::array())) {
        const json vf = e.value("valueFrom", json::object());
        if (vf.contains("configMapKeyRef")) cms.insert(vf["configMapKeyRef"].value("name", ""));
        if (vf.contains("secretKeyRef")) secrets.insert(vf["secretKeyRef"].value("name", ""));
      }
    }
  }
  cms.erase("");
  secrets.erase("");
  return {{cms.begin(), cms.end()}, {secrets.begin(), secrets.end()}};
}

FleetObjects fleet_objects(const json& pf, const std::string& fleet, const std::string& role,
                           const json& template_, int64_t revision, const std::string& hash,
                           const std::string& hook_image) {
  const auto& md = pf.at("metadata");
  const std::string ns = md.value("namespace", "");
  const std::string pf_name = md.value("name", "");
  const json spec = pf.value("spec", json::object());
  const json proxy = spec.value("proxy", json::object());
  const FleetSettings settings = settings_from(pf);
  const json labels = {{"ingressx.io/fleet", pf_name},
                       {"ingressx.io/fleet-name", fleet},
                       {"ingressx.io/role", role},
                       {"app.kubernetes.io/managed-by", "ingressx-operator"}};

  json tpl = template_.is_object() ? template_ : json::object();
  json& tmd = tpl["metadata"];
  if (!tmd.is_object()) tmd = json::object();
  for (auto& [k, v] : labels.items()) tmd["labels"][k] = v;
  tmd["annotations"]["ingressx.io/template-hash"] = hash;
  tmd["annotations"]["ingressx.io/revision"] = std::to_string(revision);
  json& ps = tpl["spec"];
  if (!ps.is_object()) ps = json::object();
  json& containers = ps["containers"];
  if (!containers.is_array() || containers.empty())
    throw Error(Error::Kind::kInvalidInput, "ProxyFleet " + ns + "/" + pf_name +
                                                ": spec.template.spec.containers: expected 1 "
                                                "to 16 containers");
  const std::string proxy_container =
      proxy.value("container", containers[0].value("name", std::string()));
  bool found = false;
  for (auto& c : containers) {
    if (c.value("name", "") != proxy_container) continue;
    found = true;
    // A clone must not fight the primary over leader election or Ingress status.
    if (role == "temp" || role == "green" || role == "blue") {
      proxy::CloneOptions co;
      co.suffix = role;
      if (proxy.value("kind", "") == "ingress-nginx") {
        co.publish_service = ns + "/" + fleet;
        c = proxy::clone_ingress_nginx(c, co).container;
      }
    }
    json mount = {{"name", kHookVolume}, {"mountPath", kHookDir}, {"readOnly", true}};
    c["volumeMounts"].push_back(mount);
    c["lifecycle"]["preStop"] = {{"exec", {{"command", hook_command(proxy)}}}};
  }
  if (!found)
    throw Error(Error::Kind::kInvalidInput,
                "ProxyFleet " + ns + "/" + pf_name + ": spec.proxy.container: \"" +
                    proxy_container + "\" is not a container of spec.template.spec.containers");
  json hook_volume = {{"name", kHookVolume}, {"emptyDir", json::object()}};
  ps["volumes"].push_back(hook_volume);
  json installer = {
      {"name", "ingressx-hook-install"},
      {"image", hook_image},
      {"imagePullPolicy", "IfNotPresent"},
      {"command",
       {"/bin/cp", "/usr/local/bin/ingressx-hook", std::string(kHookDir) + "/ingressx-hook"}},
      {"volumeMounts", {{{"name", kHookVolume}, {"mountPath", kHookDir}}}},
      {"securityContext", {{"allowPrivilegeEscalation", false}, {"readOnlyRootFilesystem", true}}}};
  ps["initContainers"].push_back(installer);
  // preStop runs within the grace period: keep it above delay + maxDrain.
  const int64_t grace = grace_seconds(settings);
  if (ps.value("terminationGracePeriodSeconds", int64_t{0}) < grace)
    ps["terminationGracePeriodSeconds"] = grace;

  json deployment = {{"apiVersion", "apps/v1"},
                     {"kind", "Deployment"},
                     {"metadata",
                      {{"name", fleet},
                       {"namespace", ns},
                       {"labels", labels},
                       {"annotations", {{"ingressx.io/revision", std::to_string(revision)}}},
                       {"ownerReferences", owner_ref(pf)}}},
                     {"spec",
                      {{"replicas", settings.replicas},
                       {"revisionHistoryLimit", 2},
                       {"selector", {{"matchLabels", {{"ingressx.io/fleet-name", fleet}}}}},
                       {"strategy",
                        {{"type", "RollingUpdate"},
                         {"rollingUpdate", {{"maxUnavailable", 0}, {"maxSurge", "25%"}}}}},
                       {"template", tpl}}}};

  const json svc_spec = spec.value("service", json::object());
  json ports = json::array();
  for (const auto& p : svc_spec.value("ports", json::array())) {
    json port = {{"name", p.value("name", "")},
                 {"port", p.value("port", 0)},
                 {"protocol", p.value("protocol", "TCP")}};
    port["targetPort"] = p.contains("targetPort") ? p["targetPort"] : p["port"];
    if (p.contains("nodePort") && (role == "primary" || role == "blue"))
      port["nodePort"] = p["nodePort"];
    ports.push_back(port);
  }
  if (ports.empty())
    ports =
        json::array({{{"name", "http"}, {"port", 80}, {"targetPort", 80}, {"protocol", "TCP"}}});
  json svc_labels = labels;
  const json extra_labels = svc_spec.value("labels", json::object());
  for (auto& [k, v] : extra_labels.items()) svc_labels[k] = v;
  json service = {{"apiVersion", "v1"},
                  {"kind", "Service"},
                  {"metadata",
                   {{"name", fleet},
                    {"namespace", ns},
                    {"labels", svc_labels},
                    {"ownerReferences", owner_ref(pf)}}},
                  {"spec",
                   {{"type", svc_spec.value("type", "ClusterIP")},
                    {"selector", {{"ingressx.io/fleet-name", fleet}}},
                    {"ports", ports}}}};
  if (svc_spec.contains("annotations") && svc_spec["annotations"].is_object())
    service["metadata"]["annotations"] = svc_spec["annotations"];
  if (svc_spec.contains("externalTrafficPolicy"))
    service["spec"]["externalTrafficPolicy"] = svc_spec["externalTrafficPolicy"];
  if (svc_spec.contains("loadBalancerClass"))
    service["spec"]["loadBalancerClass"] = svc_spec["loadBalancerClass"];
  // Voluntary disruptions (node drains) take one proxy pod at a time; the pod's preStop
  // hook drains it. Rollouts do not go through evictions, so this never blocks them.
  json pdb = {{"apiVersion", "policy/v1"},
              {"kind", "PodDisruptionBudget"},
              {"metadata",
               {{"name", fleet},
                {"namespace", ns},
                {"labels", labels},
                {"ownerReferences", owner_ref(pf)}}},
              {"spec",
               {{"maxUnavailable", 1},
                {"selector", {{"matchLabels", {{"ingressx.io/fleet-name", fleet}}}}}}}};
  return {deployment, service, pdb};
}

}  // namespace ingressx::op
