// The writing half of a reconcile (executor.h).
#include "reconciler/executor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ingressx/api/defaults.h"
#include "ingressx/api/names.h"
#include "ingressx/core/client.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"
#include "ingressx/core/events.h"
#include "ingressx/core/failpoint.h"
#include "ingressx/operator/cutover.h"
#include "ingressx/operator/fleet_spec.h"
#include "ingressx/operator/runtime.h"
#include "reconciler/analysis.h"
#include "reconciler/fleet_objects.h"
#include "reconciler/traffic_move.h"

namespace ingressx::op {

const ResourceRef kFleets{"ingressx.io", "v1alpha1", "proxyfleets", true, "ProxyFleet"};
const ResourceRef kRollouts{"ingressx.io", "v1alpha1", "fleetrollouts", true, "FleetRollout"};
const ResourceRef kPdbs{"policy", "v1", "poddisruptionbudgets", true, "PodDisruptionBudget"};

namespace {

// CutoverReady: whether the cutover provider answers (reads the split and takes changes).
// False names what failed: the provider's configuration, reading the split, or moving it.
struct CutoverCondition {
  bool ok = true;
  std::string reason, message;
};
CutoverCondition cutover_condition(const Snapshot& s) {
  if (!s.cutover_error.empty())
    return {false, "ApplyFailed",
            "moving traffic failed " + std::to_string(s.cutover_failures) +
                (s.cutover_failures == 1 ? " time" : " times") +
                " in a row; traffic stays where it is and the operator retries with backoff "
                "(2 s doubling to 60 s): " +
                s.cutover_error};
  if (!s.traffic)
    return {false, "ReadFailed",
            "the traffic split cannot be read; traffic stays where it is: " + s.traffic_error};
  return {true, "ProviderAnswers", "the cutover provider answers"};
}

json conditions_for(const FleetState& st, const Snapshot& s, int64_t gen, const json& old_status,
                    const std::string& now) {
  struct C {
    const char* type;
    bool on;
    std::string reason, message;
  };
  const auto cut = cutover_condition(s);
  const std::vector<C> cs = {
      {"Ready", st.phase == api::phase::kReady, "", ""},
      {"Progressing", st.phase == api::phase::kProgressing || st.phase == api::phase::kPaused, "",
       ""},
      {"Degraded", st.phase == api::phase::kDegraded, "", ""},
      {"Paused", st.phase == api::phase::kPaused, "", ""},
      {"CutoverReady", cut.ok, cut.reason, cut.message}};
  json out = json::array();
  for (const auto& c : cs) {
    const std::string status = c.on ? "True" : "False";
    std::string reason = !c.reason.empty() ? c.reason : st.phase.empty() ? "Unknown" : st.phase;
    std::string since = now;
    for (const auto& o : old_status.value("conditions", json::array()))
      if (o.value("type", "") == c.type && o.value("status", "") == status)
        since = o.value("lastTransitionTime", now);
    out.push_back({{"type", c.type},
                   {"status", status},
                   {"reason", reason},
                   {"message", (c.reason.empty() ? st.message : c.message).substr(0, 4096)},
                   {"observedGeneration", gen},
                   {"lastTransitionTime", since}});
  }
  return out;
}

int service_port(const json& fleet) {
  const json ports = fleet["spec"].value("service", json::object()).value("ports", json::array());
  return ports.empty() ? 80 : ports[0].value("port", 80);
}

}  // namespace

Executor::Executor(Client& client, EventRecorder& events, Clock& clock, OperatorMetrics& metrics,
                   ExecutorOptions opts)
    : client_(client), events_(events), clock_(clock), metrics_(metrics), opts_(std::move(opts)) {}

std::string Executor::written_version(const std::string& kind, const std::string& ns,
                                      const std::string& name) const {
  auto it = written_rv_.find(kind + " " + ns + "/" + name);
  return it == written_rv_.end() ? "" : it->second;
}

void Executor::remember(const std::string& kind, const std::string& ns, const std::string& name,
                        const json& obj) {
  written_rv_[kind + " " + ns + "/" + name] =
      obj.value("metadata", json::object()).value("resourceVersion", "");
}

void Executor::report_cutover_failures(const std::string& key, Snapshot& s) const {
  auto cf = cutover_failures_.find(key);
  if (cf == cutover_failures_.end()) return;
  s.cutover_error = cf->second.error;
  s.cutover_failures = cf->second.count;
  s.cutover_retry_in =
      std::max(Millis{0}, std::chrono::duration_cast<Millis>(cf->second.next - clock_.now()));
}

void Executor::forget(const std::string& key) {
  cutover_failures_.erase(key);
}

// Provider writes are fenced like API writes (Client::set_write_guard).
void Executor::fence(const std::string& provider_name) const {
  if (opts_.may_act && !opts_.may_act())
    throw Error(Error::Kind::kTransport,
                provider_name +
                    ": move not made: this replica no longer holds the leader "
                    "Lease (fenced)");
}

std::optional<Millis> Executor::execute(const PassInput& in, const Snapshot& s, const Decision& d) {
  const json& pf = *in.fleet;
  const int64_t gen = pf["metadata"].value("generation", int64_t{0});
  // Create the rollout record first: everything after refers to it.
  std::optional<json> created;
  if (d.rollout && d.new_rollout) {
    try {
      failpoint::hit("rollout-create.before");
      created = client_.create(kRollouts, in.ns, rollout_object(*d.rollout, pf, in.template_));
      remember("FleetRollout", in.ns, d.rollout->name, *created);
      failpoint::hit("rollout-create.after");
      spdlog::info("{}: created FleetRollout {} (revision {}, {})", in.key, d.rollout->name,
                   d.rollout->revision, d.rollout->trigger);
    } catch (const Error& e) {
      if (!e.is_already_exists()) throw;
      // It exists but we did not see it: look again rather than overwrite its record.
      spdlog::info("{}: FleetRollout {} exists already; re-reading", in.key, d.rollout->name);
      return Millis{500};
    }
  }
  const json* rollout_obj = created ? &*created : in.rollout;
  std::optional<Millis> extra_requeue;
  for (const auto& a : d.actions) {
    if (auto* e = std::get_if<EnsureFleet>(&a)) {
      json t = in.template_;
      if (e->hash != s.template_hash) {
        bool found = false;
        for (const auto& fr : in.rollouts)
          if (fr["spec"].value("templateHash", "") == e->hash) {
            t = fr["spec"].value("template", json::object());
            found = true;
          }
        if (!found)
          throw Error(Error::Kind::kNotFound,
                      "ProxyFleet " + in.key + ": the template of revision " +
                          std::to_string(e->revision) + " is not in the FleetRollout history");
      }
      auto objs = fleet_objects(pf, e->fleet, e->role, t, e->revision, e->hash, opts_.hook_image);
      failpoint::hit("fleet-apply.before");
      client_.apply(refs::kServices, in.ns, objs.service, opts_.field_manager, true);
      client_.apply(kPdbs, in.ns, objs.pdb, opts_.field_manager, true);
      client_.apply(refs::kDeployments, in.ns, objs.deployment, opts_.field_manager, true);
      failpoint::hit("fleet-apply.after");
      spdlog::info("{}: applied fleet {} ({}) at revision {}", in.key, e->fleet, e->role,
                   e->revision);
    } else if (auto* del = std::get_if<DeleteFleet>(&a)) {
      failpoint::hit("fleet-delete.before");
      client_.remove(refs::kDeployments, in.ns, del->fleet);
      client_.remove(refs::kServices, in.ns, del->fleet);
      client_.remove(kPdbs, in.ns, del->fleet);
      failpoint::hit("fleet-delete.after");
      spdlog::info("{}: deleting fleet {}", in.key, del->fleet);
      take_out(in, s, *del);
    } else if (auto* t = std::get_if<SetTraffic>(&a)) {
      move_traffic(in, s, *t, extra_requeue);
    } else if (auto* an = std::get_if<Analyze>(&a)) {
      auto it = s.fleets.find(an->fleet);
      auto svc = in.service_of ? in.service_of(an->fleet) : std::nullopt;
      if (in.analysis && it != s.fleets.end() && svc)
        in.analysis->ensure(an->key, it->second.address, probes_from(pf, *svc));
    } else if (auto* ev = std::get_if<RecordEvent>(&a)) {
      events_.record(pf, ev->type, ev->reason, "Rollout", ev->note);
    } else if (auto* rt = std::get_if<RestoreTemplate>(&a)) {
      failpoint::hit("template-restore.before");
      restore_template(in, rt->revision);
      failpoint::hit("template-restore.after");
      // The fleet changed: its status is written by the next pass, on the new version.
      if (d.rollout) write_rollout_status(*d.rollout, rollout_obj, gen, in.ns, in.name);
      return Millis{0};
    }
  }

  // The rollout record first, then the fleet's: a fleet status never names a step or an
  // outcome the rollout record does not have.
  if (d.rollout) write_rollout_status(*d.rollout, rollout_obj, gen, in.ns, in.name);
  write_fleet_status(pf, d.state, s, gen);
  metrics_.set_rollout_phase(in.ns, in.name, d.state.phase);
  if (s.traffic)
    for (const auto& [f, w] : *s.traffic) metrics_.set_traffic_weight(in.ns, in.name, f, w);
  for (const auto& [f, o] : s.fleets)
    if (o.active_connections)
      metrics_.set_active_connections(in.ns, in.name, f, *o.active_connections);
  if (d.rollout && d.rollout->finished()) prune_history(pf, in.rollouts, d.state);
  // A failed apply() waits out its backoff even when the engine asked to come back at once.
  std::optional<Millis> after = extra_requeue ? extra_requeue : d.requeue_after;
  if (!after && in.running) after = Millis{5000};
  // Level-triggered traffic: with a provider, look again within traffic_resync whatever the
  // step (a failed apply() still waits out its backoff before moving traffic again).
  if (in.provider && (!after || *after > opts_.traffic_resync)) after = opts_.traffic_resync;
  return after;
}

// Takes a deleted fleet out of the provider too (HAProxy: maint, no address), so a later
// Service that reuses its address never gets its traffic. The fleets that carry traffic now
// are passed unchanged. Best effort: the fleet is gone either way.
void Executor::take_out(const PassInput& in, const Snapshot& s, const DeleteFleet& del) {
  if (!in.provider || !s.traffic) return;
  const int port = service_port(*in.fleet);
  std::vector<TrafficTarget> targets;
  for (const auto& [f, w] : *s.traffic) {
    if (f == del.fleet || w == 0) continue;
    auto it = s.fleets.find(f);
    if (it == s.fleets.end() || it->second.address.empty()) return;  // not whole: no move
    targets.push_back({f, role_of_fleet(in.name, f), w, it->second.address, port});
  }
  if (targets.empty()) return;
  targets.push_back({del.fleet, del.role, 0, "", port});
  try {
    fence(in.provider->name());
    failpoint::hit("traffic-takeout.before");
    in.provider->apply(targets);
    failpoint::hit("traffic-takeout.after");
  } catch (const Error& e) {
    spdlog::warn("{}: taking {} out of {} failed: {}", in.key, del.fleet, in.provider->name(),
                 e.what());
  }
}

void Executor::move_traffic(const PassInput& in, const Snapshot& s, const SetTraffic& t,
                            std::optional<Millis>& requeue) {
  if (!in.provider) return;
  const json& pf = *in.fleet;
  std::string summary;
  for (const auto& e : t.split)
    summary += (summary.empty() ? "" : " ") + e.fleet + "=" + std::to_string(e.weight);
  const auto t0 = clock_.now();
  try {
    // All or nothing: a move whose receiving half has no address is not made at all (sending
    // only the lowering half would leave nothing serving).
    const auto targets = traffic_targets(in.name, t.split, s.fleets, service_port(pf));
    fence(in.provider->name());
    failpoint::hit("traffic.before");
    in.provider->apply(targets);
    failpoint::hit("traffic.after");
    const auto ms = std::chrono::duration_cast<Millis>(clock_.now() - t0).count();
    // For DNS providers apply() returns once every authoritative server answers the new
    // data, so this is the step's convergence time.
    spdlog::info("{}: traffic set to {} via {} in {} ms", in.key, summary, in.provider->name(), ms);
    events_.record(pf, "Normal", "TrafficShifted", "Cutover",
                   "traffic " + summary + " (provider answered in " + std::to_string(ms) + " ms)");
    if (cutover_failures_.erase(in.key))
      spdlog::info("{}: cutover provider {} answers again", in.key, in.provider->name());
  } catch (const std::exception& e) {
    auto& cf = cutover_failures_[in.key];
    cf.error = e.what();
    cf.count++;
    const Millis backoff = cutover_backoff(cf.count);
    cf.next = clock_.now() + backoff;
    spdlog::warn("{}: moving traffic to {} failed ({} in a row, next try in {} ms): {}", in.key,
                 summary, cf.count, backoff.count(), e.what());
    events_.record(pf, "Warning", "TrafficShiftFailed", "Cutover", e.what());
    requeue = backoff;
  }
}

void Executor::restore_template(const PassInput& in, int64_t revision) {
  const json& pf = *in.fleet;
  for (const auto& fr : in.rollouts) {
    if (fr["spec"].value("revision", int64_t{0}) != revision) continue;
    json updated = pf;
    updated["spec"]["template"] = fr["spec"]["template"];
    updated["spec"].erase("undoTo");
    updated["metadata"]["annotations"]["ingressx.io/undo"] =
        std::to_string(revision) + ":" +
        template_hash(fr["spec"]["template"], in.config_digest).substr(0, 13);
    updated.erase("status");
    client_.update(kFleets, in.ns, updated);
    events_.record(pf, "Normal", "UndoStarted", "Undo",
                   "restored the template of revision " + std::to_string(revision));
    return;
  }
  events_.record(pf, "Warning", "UndoRevisionNotFound", "Undo",
                 "revision " + std::to_string(revision) +
                     " is not in the rollout history; spec.undoTo cleared without change");
  client_.patch(kFleets, in.ns, in.name, PatchType::kMerge, {{"spec", {{"undoTo", nullptr}}}});
}

void Executor::write_rollout_status(const RolloutRecord& r, const json* existing, int64_t gen,
                                    const std::string& ns, const std::string& fleet) {
  json status = rollout_status(r, gen);
  const bool same_object = existing && existing->at("metadata").value("name", "") == r.name;
  if (same_object && existing->value("status", json::object()) == status) return;
  const std::string old_phase =
      same_object ? existing->value("status", json::object()).value("phase", "") : "";
  // Conditional on the version this pass read (or created): a stale writer (a deposed
  // leader, a pass that raced another) gets 409 Conflict instead of overwriting.
  json patch = {{"status", status}};
  if (same_object) {
    const std::string rv = existing->at("metadata").value("resourceVersion", "");
    if (!rv.empty()) patch["metadata"] = {{"resourceVersion", rv}};
  }
  failpoint::hit("rollout-status.before");
  remember("FleetRollout", ns, r.name,
           client_.patch(kRollouts, ns, r.name, PatchType::kMerge, patch, "status"));
  failpoint::hit("rollout-status.after");
  if (r.finished() && old_phase != r.phase && r.started_at && r.finished_at) {
    const double secs = std::chrono::duration<double>(*r.finished_at - *r.started_at).count();
    metrics_.rollout_finished(ns, fleet,
                              r.strategy == StrategyType::kTempFleet ? "TempFleet" : "BlueGreen",
                              r.phase, secs);
    spdlog::info("{}/{}: rollout {} {} in {:.1f} s", ns, fleet, r.name, r.phase, secs);
  }
}

void Executor::write_fleet_status(const json& pf, const FleetState& st, const Snapshot& s,
                                  int64_t gen) {
  const std::string ns = pf["metadata"].value("namespace", "");
  const std::string name = pf["metadata"].value("name", "");
  const json old = pf.value("status", json::object());
  json status = {{"observedGeneration", gen},
                 {"phase", st.phase.empty() ? "Pending" : st.phase},
                 {"message", st.message.substr(0, 32768)},
                 {"currentRevision", st.current_revision},
                 {"currentTemplateHash", st.current_hash},
                 {"updateRevision", st.update_revision},
                 {"updateTemplateHash", st.update_hash},
                 {"activeFleet", st.active_fleet},
                 {"currentRollout", st.current_rollout},
                 {"observedPromote", st.observed_promote},
                 {"observedRetry", st.observed_retry}};
  json split = json::array();
  std::string summary;
  if (s.traffic) {
    for (const auto& [f, w] : *s.traffic) {
      if (w == 0 && !s.fleets.count(f)) continue;
      split.push_back({{"fleet", f}, {"weight", w}});
      summary += (summary.empty() ? "" : " ") + f + "=" + std::to_string(w);
    }
  }
  status["trafficSplit"] = split;
  status["trafficSummary"] = s.traffic ? summary : std::string("unknown");
  json fl = json::array();
  for (const auto& [f, o] : s.fleets) {
    json e = {{"name", f},
              {"role", role_of_fleet(name, f)},
              {"replicas", o.replicas},
              {"readyReplicas", o.ready_replicas},
              {"address", o.address}};
    if (o.hash == st.current_hash)
      e["revision"] = st.current_revision;
    else if (o.hash == st.update_hash)
      e["revision"] = st.update_revision;
    if (o.active_connections) e["activeConnections"] = *o.active_connections;
    fl.push_back(e);
  }
  status["fleets"] = fl;
  const std::string now = format_time(clock_.wall_now());
  status["conditions"] = conditions_for(st, s, gen, old, now);
  if (old == status) return;
  json patch = {{"status", status}};
  const std::string rv = pf["metadata"].value("resourceVersion", "");
  if (!rv.empty()) patch["metadata"] = {{"resourceVersion", rv}};
  failpoint::hit("fleet-status.before");
  remember("ProxyFleet", ns, name,
           client_.patch(kFleets, ns, name, PatchType::kMerge, patch, "status"));
  failpoint::hit("fleet-status.after");
}

// Keeps revisionHistoryLimit finished rollouts (never the current revision's: its template is
// what an abort or a temp fleet goes back to).
void Executor::prune_history(const json& pf, const std::vector<json>& frs, const FleetState& st) {
  const int64_t limit =
      pf["spec"].value("revisionHistoryLimit", int64_t{api::defaults::kRevisionHistoryLimit});
  std::vector<const json*> finished;
  for (const auto& fr : frs) {
    const std::string phase = fr.value("status", json::object()).value("phase", "");
    const bool done = api::rollout_finished(phase);
    if (done && fr["spec"].value("revision", int64_t{0}) != st.current_revision &&
        fr["metadata"].value("name", "") != st.current_rollout)
      finished.push_back(&fr);
  }
  const int64_t excess = static_cast<int64_t>(finished.size()) - std::max<int64_t>(limit - 1, 0);
  for (int64_t i = 0; i < excess; ++i) {
    const std::string n = finished[static_cast<size_t>(i)]->at("metadata").value("name", "");
    client_.remove(kRollouts, pf["metadata"].value("namespace", ""), n);
    spdlog::info("pruned FleetRollout {} (revisionHistoryLimit {})", n, limit);
  }
}

}  // namespace ingressx::op
