// ProxyFleet / FleetRollout JSON <-> engine types.
#include "ingressx/operator/fleet_spec.h"

#include <cmath>
#include <string>

#include "ingressx/api/defaults.h"
#include "ingressx/api/duration.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"

namespace ingressx::op {

using json = nlohmann::json;

namespace {

const json& at_or_null(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}
std::string str(const json& j, const char* key, const std::string& def = "") {
  const auto& v = at_or_null(j, key);
  return v.is_string() ? v.get<std::string>() : def;
}
int64_t num(const json& j, const char* key, int64_t def = 0) {
  const auto& v = at_or_null(j, key);
  return v.is_number() ? v.get<int64_t>() : def;
}
bool boolean(const json& j, const char* key, bool def = false) {
  const auto& v = at_or_null(j, key);
  return v.is_boolean() ? v.get<bool>() : def;
}
Millis dur(const json& j, const char* key, const char* def, const std::string& field) {
  const auto& v = at_or_null(j, key);
  return api::parse_duration(v.is_string() ? v.get<std::string>() : std::string(def),
                             field + "." + key);
}
std::optional<WallTime> time_opt(const json& j, const char* key) {
  const auto& v = at_or_null(j, key);
  if (!v.is_string() || v.get<std::string>().empty()) return std::nullopt;
  return parse_time(v.get<std::string>(), key);
}
void put_time(json& j, const char* key, const std::optional<WallTime>& t) {
  if (t) j[key] = time_string(*t);
}

std::vector<CutoverStepSpec> steps_from(const json& cutover) {
  std::vector<CutoverStepSpec> out;
  const auto& steps = at_or_null(cutover, "steps");
  if (steps.is_array()) {
    for (size_t i = 0; i < steps.size(); ++i) {
      const std::string field = "spec.cutover.steps[" + std::to_string(i) + "]";
      CutoverStepSpec s;
      s.weight = static_cast<int>(num(steps[i], "weight", api::defaults::kStepWeight));
      s.pause = dur(steps[i], "pause", "0s", field);
      s.analysis = boolean(steps[i], "analysis", api::defaults::kStepAnalysis);
      out.push_back(s);
    }
  }
  if (out.empty()) out.push_back(CutoverStepSpec{});
  return out;
}

StrategyType strategy_from(const json& strategy) {
  return str(strategy, "type", "TempFleet") == "BlueGreen" ? StrategyType::kBlueGreen
                                                           : StrategyType::kTempFleet;
}

bool has_analysis(const json& strategy) {
  const auto& a = at_or_null(strategy, "analysis");
  const auto& http = at_or_null(a, "http");
  const auto& prom = at_or_null(a, "prometheus");
  return (http.is_array() && !http.empty()) || prom.is_object();
}

}  // namespace

std::string time_string(WallTime t) {
  return format_time(t);
}

FleetSettings settings_from(const json& fleet) {
  FleetSettings s;
  const auto& md = at_or_null(fleet, "metadata");
  s.ns = str(md, "namespace");
  s.name = str(md, "name");
  s.generation = num(md, "generation");
  const auto& spec = at_or_null(fleet, "spec");
  s.replicas = static_cast<int>(num(spec, "replicas", api::defaults::kReplicas));
  const auto& strategy = at_or_null(spec, "strategy");
  s.strategy = strategy_from(strategy);
  s.manual_promotion = str(strategy, "promotion", api::defaults::kPromotion) == "Manual";
  s.progress_deadline =
      dur(strategy, "progressDeadline", api::defaults::kProgressDeadline, "spec.strategy");
  s.scale_down_delay =
      dur(strategy, "scaleDownDelay", api::defaults::kScaleDownDelay, "spec.strategy");
  s.has_analysis = has_analysis(strategy);
  const auto& cutover = at_or_null(spec, "cutover");
  s.dns_cutover = str(cutover, "type") == "dns";
  if (s.dns_cutover) {
    const auto& dns = at_or_null(cutover, "dns");
    const auto& rfc = at_or_null(dns, "rfc2136");
    const auto& ext = at_or_null(dns, "externalDNS");
    const int64_t ttl = rfc.is_object() ? num(rfc, "ttl", api::defaults::kDnsTtl)
                                        : num(ext, "ttl", api::defaults::kDnsTtl);
    s.dns_ttl = Millis{ttl * 1000};
  }
  s.steps = steps_from(cutover);
  const auto& drain = at_or_null(at_or_null(spec, "proxy"), "drain");
  s.drain.propagation_delay =
      dur(drain, "propagationDelay", api::defaults::kPropagationDelay, "spec.proxy.drain");
  s.drain.min_drain = dur(drain, "minDrain", api::defaults::kMinDrain, "spec.proxy.drain");
  s.drain.max_drain = dur(drain, "maxDrain", api::defaults::kMaxDrain, "spec.proxy.drain");
  s.drain.drained_at = num(drain, "drainedAt", api::defaults::kDrainedAt);
  // The hook is given these too: a value it cannot use would stop every pod undrained.
  if (dur(drain, "pollInterval", api::defaults::kPollInterval, "spec.proxy.drain").count() <= 0)
    throw Error(Error::Kind::kInvalidInput,
                "spec.proxy.drain.pollInterval: must be greater than 0s, got \"" +
                    str(drain, "pollInterval") + "\"");
  if (s.drain.max_drain.count() <= 0)
    throw Error(Error::Kind::kInvalidInput, "spec.proxy.drain.maxDrain: must be greater than 0s");
  if (s.drain.min_drain > s.drain.max_drain)
    throw Error(Error::Kind::kInvalidInput,
                "spec.proxy.drain.minDrain: must not exceed spec.proxy.drain.maxDrain");
  s.paused = boolean(spec, "paused");
  s.promote = str(spec, "promote");
  s.abort = boolean(spec, "abort");
  s.retry = str(spec, "retry");
  if (at_or_null(spec, "undoTo").is_number()) s.undo_to = num(spec, "undoTo");
  return s;
}

FleetState state_from(const json& fleet) {
  FleetState st;
  const auto& status = at_or_null(fleet, "status");
  st.current_revision = num(status, "currentRevision");
  st.current_hash = str(status, "currentTemplateHash");
  st.update_revision = num(status, "updateRevision");
  st.update_hash = str(status, "updateTemplateHash");
  st.active_fleet = str(status, "activeFleet");
  st.current_rollout = str(status, "currentRollout");
  st.observed_promote = str(status, "observedPromote");
  st.observed_retry = str(status, "observedRetry");
  st.phase = str(status, "phase");
  st.message = str(status, "message");
  return st;
}

RolloutRecord rollout_from(const json& fr) {
  RolloutRecord r;
  const auto& md = at_or_null(fr, "metadata");
  const auto& ann = at_or_null(md, "annotations");
  r.name = str(md, "name");
  const auto& spec = at_or_null(fr, "spec");
  r.revision = num(spec, "revision");
  r.from_revision = num(spec, "fromRevision");
  r.hash = str(spec, "templateHash");
  r.from_hash = str(ann, "ingressx.io/from-template-hash");
  r.trigger = str(spec, "trigger");
  r.reason = str(spec, "reason");
  const auto& strategy = at_or_null(spec, "strategy");
  r.strategy = strategy_from(strategy);
  r.manual_promotion = str(strategy, "promotion", api::defaults::kPromotion) == "Manual";
  r.steps = steps_from(at_or_null(spec, "cutover"));
  r.old_colour = str(ann, "ingressx.io/old-colour");
  r.new_colour = str(ann, "ingressx.io/new-colour");
  const auto& status = at_or_null(fr, "status");
  r.phase = str(status, "phase", "Pending");
  r.current_step = str(status, "currentStep");
  r.started_at = time_opt(status, "startedAt");
  r.finished_at = time_opt(status, "finishedAt");
  r.message = str(status, "message");
  const auto& abort = at_or_null(status, "abort");
  r.abort_reason = str(abort, "reason");
  r.failed = str(abort, "cause") == "Failure";
  const auto& steps = at_or_null(status, "steps");
  if (!steps.is_array() || steps.empty()) {
    // The status was never written (the write after the create was lost): the plan fixed
    // at creation (spec.plan) says what runs, every step still pending. A record from
    // before spec.plan existed gets the plan its strategy and steps give.
    const auto& planned = at_or_null(spec, "plan");
    if (planned.is_array() && !planned.empty()) {
      for (const auto& n : planned)
        if (n.is_string()) r.plan.emplace_back().name = n.get<std::string>();
    } else {
      for (const auto& n : plan_for(r, r.from_revision == 0)) r.plan.emplace_back().name = n;
    }
  } else {
    for (const auto& j : steps) {
      StepRecord s;
      s.name = str(j, "name");
      s.phase = step_phase_from(str(j, "phase"));
      s.started_at = time_opt(j, "startedAt");
      s.finished_at = time_opt(j, "finishedAt");
      s.waiting_since = time_opt(j, "waitingSince");
      s.message = str(j, "message");
      const auto& t = at_or_null(j, "traffic");
      if (t.is_array())
        for (const auto& e : t)
          s.traffic.push_back({str(e, "fleet"), static_cast<int>(num(e, "weight"))});
      r.plan.push_back(std::move(s));
    }
  }
  const auto& traffic = at_or_null(status, "traffic");
  if (traffic.is_array())
    for (const auto& e : traffic)
      r.traffic.push_back({str(e, "fleet"), static_cast<int>(num(e, "weight"))});
  const auto& drains = at_or_null(status, "drains");
  if (drains.is_array()) {
    for (const auto& j : drains) {
      DrainRecord d;
      d.fleet = str(j, "fleet");
      if (at_or_null(j, "activeConnections").is_number())
        d.active_connections = num(j, "activeConnections");
      d.started_at = time_opt(j, "startedAt");
      d.finished_at = time_opt(j, "finishedAt");
      d.decided_by = str(j, "decidedBy");
      r.drains.push_back(std::move(d));
    }
  }
  return r;
}

json rollout_object(const RolloutRecord& r, const json& fleet, const json& template_) {
  const auto& md = fleet.at("metadata");
  const auto& spec = at_or_null(fleet, "spec");
  json annotations = {{"ingressx.io/from-template-hash", r.from_hash}};
  if (!r.old_colour.empty()) annotations["ingressx.io/old-colour"] = r.old_colour;
  if (!r.new_colour.empty()) annotations["ingressx.io/new-colour"] = r.new_colour;
  json obj = {{"apiVersion", "ingressx.io/v1alpha1"},
              {"kind", "FleetRollout"},
              {"metadata",
               {{"name", r.name},
                {"namespace", md.value("namespace", "")},
                {"labels",
                 {{"ingressx.io/fleet", md.value("name", "")},
                  {"ingressx.io/revision", std::to_string(r.revision)}}},
                {"annotations", annotations},
                {"ownerReferences", json::array({{{"apiVersion", "ingressx.io/v1alpha1"},
                                                  {"kind", "ProxyFleet"},
                                                  {"name", md.value("name", "")},
                                                  {"uid", md.value("uid", "")},
                                                  {"controller", true},
                                                  {"blockOwnerDeletion", true}}})}}},
              {"spec",
               {{"fleetRef", {{"name", md.value("name", "")}}},
                {"revision", r.revision},
                {"fromRevision", r.from_revision},
                {"templateHash", r.hash},
                {"template", template_.is_object() ? template_ : json::object()},
                {"strategy", spec.contains("strategy") ? spec["strategy"] : json::object()},
                {"cutover", spec.contains("cutover") ? spec["cutover"] : json::object()},
                {"trigger", r.trigger},
                {"reason", r.reason.substr(0, 1024)}}}};
  // The plan is fixed when the rollout is created: a record whose status is lost reads
  // as "not started", never as "finished".
  json plan = json::array();
  for (const auto& step : r.plan) plan.push_back(step.name);
  obj["spec"]["plan"] = std::move(plan);
  return obj;
}

json rollout_status(const RolloutRecord& r, int64_t observed_generation) {
  json st = {{"observedGeneration", observed_generation},
             {"phase", r.phase},
             {"currentStep", r.current_step},
             {"message", r.message.substr(0, 32768)}};
  put_time(st, "startedAt", r.started_at);
  put_time(st, "finishedAt", r.finished_at);
  if (!r.abort_reason.empty())
    st["abort"] = {{"reason", r.abort_reason.substr(0, 4096)},
                   {"cause", r.failed ? "Failure" : "User"}};
  json steps = json::array();
  for (const auto& s : r.plan) {
    json j = {{"name", s.name}, {"phase", to_string(s.phase)}};
    put_time(j, "startedAt", s.started_at);
    put_time(j, "finishedAt", s.finished_at);
    put_time(j, "waitingSince", s.waiting_since);
    if (!s.message.empty()) j["message"] = s.message.substr(0, 4096);
    if (!s.traffic.empty()) {
      j["traffic"] = json::array();
      for (const auto& t : s.traffic)
        j["traffic"].push_back({{"fleet", t.fleet}, {"weight", t.weight}});
    }
    steps.push_back(std::move(j));
  }
  st["steps"] = std::move(steps);
  json traffic = json::array();
  for (const auto& t : r.traffic) traffic.push_back({{"fleet", t.fleet}, {"weight", t.weight}});
  st["traffic"] = std::move(traffic);
  json drains = json::array();
  for (const auto& d : r.drains) {
    json j = {{"fleet", d.fleet}};
    if (d.active_connections) j["activeConnections"] = *d.active_connections;
    put_time(j, "startedAt", d.started_at);
    put_time(j, "finishedAt", d.finished_at);
    if (!d.decided_by.empty()) j["decidedBy"] = d.decided_by;
    drains.push_back(std::move(j));
  }
  st["drains"] = std::move(drains);
  return st;
}

}  // namespace ingressx::op
