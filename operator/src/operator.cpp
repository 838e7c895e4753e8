// The reconciler: snapshot -> engine -> actions -> status (once per reconcile).
#include "ingressx/operator/operator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>

#include "ingressx/core/client.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"
#include "ingressx/core/events.h"
#include "ingressx/core/failpoint.h"
#include "ingressx/core/http.h"
#include "ingressx/core/informer.h"
#include "ingressx/core/kubeconfig.h"
#include "ingressx/operator/cutover.h"
#include "ingressx/operator/engine.h"
#include "ingressx/operator/fleet_spec.h"
#include "ingressx/operator/runtime.h"
#include "internal.h"

namespace ingressx::op {

namespace {

const ResourceRef kFleets{"ingressx.io", "v1alpha1", "proxyfleets", true, "ProxyFleet"};
const ResourceRef kRollouts{"ingressx.io", "v1alpha1", "fleetrollouts", true, "FleetRollout"};
const ResourceRef kPdbs{"policy", "v1", "poddisruptionbudgets", true, "PodDisruptionBudget"};
constexpr const char* kController = "proxyfleet";

std::string key_of(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

std::string label(const json& obj, const std::string& k) {
  const json* labels = nullptr;
  if (obj.contains("metadata") && obj["metadata"].contains("labels"))
    labels = &obj["metadata"]["labels"];
  if (!labels || !labels->is_object() || !labels->contains(k)) return "";
  return (*labels)[k].is_string() ? (*labels)[k].get<std::string>() : "";
}

const std::vector<std::string> kRoles = {"primary", "temp", "blue", "green"};

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
      {"Ready", st.phase == "Ready", "", ""},
      {"Progressing", st.phase == "Progressing" || st.phase == "Paused", "", ""},
      {"Degraded", st.phase == "Degraded", "", ""},
      {"Paused", st.phase == "Paused", "", ""},
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

}  // namespace

struct Operator::Impl {
  Client& client;
  OperatorOptions opts;
  Clock& clock;
  OperatorMetrics& metrics;
  EventRecorder& events;
  std::unique_ptr<Informer> fleets, rollouts, deployments, services, pods, config_maps;
  WorkQueue queue;
  std::unique_ptr<HttpTransport> http;
  std::map<std::string, std::unique_ptr<AnalysisRunner>> analysis;
  std::map<std::string, int> failures;
  // Failed cutover apply() calls per fleet: cleared by the next success.
  struct CutoverFailure {
    std::string error;
    int count = 0;
    std::chrono::steady_clock::time_point next;  // the backoff runs out
  };
  std::map<std::string, CutoverFailure> cutover_failures;
  std::map<std::string, std::string> last_log;  // the last decision logged per fleet
  // resourceVersion of our last write per object ("Kind ns/name"): when the informer has
  // exactly that version, its copy is fresh and no GET is needed.
  std::map<std::string, std::string> written_rv;

  Watchdog watchdog{std::chrono::duration_cast<Millis>(opts.stuck_after),
                    [] { return std::chrono::steady_clock::now(); }};

  std::set<std::string> reachable_addresses;  // "ip:port" that accepted a connection
  // `may_check`: whether a new check may count (the fleet has a ready pod).
  bool reachable(const std::string& ip, int port, bool may_check) {
    const std::string k = ip + ":" + std::to_string(port);
    if (reachable_addresses.count(k)) return true;
    if (!may_check) return false;
    if (!tcp_connects(ip, port, Millis{300})) return false;
    reachable_addresses.insert(k);
    return true;
  }

  void remember(const std::string& ns, const std::string& name, const std::string& kind,
                const json& obj) {
    written_rv[kind + " " + ns + "/" + name] =
        obj.value("metadata", json::object()).value("resourceVersion", "");
  }
  // The object as it is now: the informer's copy when it has our last write (or when we
  // never wrote it and it is there), else a GET (the cache may lag our own write).
  std::optional<json> fresh(const ResourceRef& ref, Informer& inf, const std::string& ns,
                            const std::string& name) {
    auto cached = inf.get(ns, name);
    auto it = written_rv.find(ref.kind + " " + ns + "/" + name);
    if (cached && (it == written_rv.end() ||
                   cached->at("metadata").value("resourceVersion", "") == it->second))
      return cached;
    auto got = client.try_get(ref, ns, name);
    if (got) remember(ns, name, ref.kind, *got);
    return got;
  }

  Impl(Client& c, OperatorOptions o, Clock& cl, OperatorMetrics& m, EventRecorder& e)
      : client(c), opts(std::move(o)), clock(cl), metrics(m), events(e) {
    RestConfig plain;
    plain.server = "http://pods.invalid";  // requests use absolute URLs
    plain.source = "in-pod endpoints";
    http = make_curl_transport(plain);
    ListOptions owned;
    owned.label_selector = "ingressx.io/fleet";
    const std::string& ns = opts.watch_namespace;
    fleets = std::make_unique<Informer>(client, kFleets, ns);
    rollouts = std::make_unique<Informer>(client, kRollouts, ns, owned);
    deployments = std::make_unique<Informer>(client, refs::kDeployments, ns, owned);
    services = std::make_unique<Informer>(client, refs::kServices, ns, owned);
    pods = std::make_unique<Informer>(client, refs::kPods, ns, owned);
    config_maps = std::make_unique<Informer>(client, refs::kConfigMaps, ns);
    auto by_name = [this](const json& o) {
      queue.add(key_of(o["metadata"].value("namespace", ""), o["metadata"].value("name", "")));
    };
    fleets->add_handlers({by_name, [by_name](const json&, const json& n) { by_name(n); }, by_name});
    auto by_label = [this](const json& o) {
      const std::string f = label(o, "ingressx.io/fleet");
      if (!f.empty()) queue.add(key_of(o["metadata"].value("namespace", ""), f));
    };
    for (auto* inf : {rollouts.get(), deployments.get(), services.get(), pods.get()})
      inf->add_handlers(
          {by_label, [by_label](const json&, const json& n) { by_label(n); }, by_label});
    // A ConfigMap change may change a fleet's revision: look at the fleets of its namespace.
    auto by_ns = [this](const json& o) {
      const std::string ns = o["metadata"].value("namespace", "");
      for (const auto& f : fleets->list())
        if (f["metadata"].value("namespace", "") == ns)
          queue.add(key_of(ns, f["metadata"].value("name", "")));
    };
    config_maps->add_handlers({by_ns, [by_ns](const json&, const json& n) { by_ns(n); }, by_ns});
  }

  // The informers' handlers add to `queue`, which is declared after them and so destroyed
  // before them: stop their threads first (an event during shutdown, e.g. from pods that
  // terminate, otherwise reached a destroyed queue; seen as a SIGSEGV on SIGTERM).
  ~Impl() {
    for (auto* inf : {fleets.get(), rollouts.get(), deployments.get(), services.get(), pods.get(),
                      config_maps.get()})
      if (inf) inf->stop();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void start() {
    for (auto* inf : {fleets.get(), rollouts.get(), deployments.get(), services.get(), pods.get(),
                      config_maps.get()})
      inf->start();
  }
  bool synced() const {
    for (auto* inf : {fleets.get(), rollouts.get(), deployments.get(), services.get(), pods.get(),
                      config_maps.get()})
      if (!inf->has_synced()) return false;
    return true;
  }

  void run(const std::function<bool()>& stop) {
    std::atomic<bool> done{false};
    std::thread watcher([&] {
      auto last_resync = std::chrono::steady_clock::now() - std::chrono::hours(1);
      while (!done) {
        if (stop()) {
          queue.shutdown();
          return;
        }
        if (synced() && std::chrono::steady_clock::now() - last_resync >
                            std::chrono::seconds(opts.resync_seconds)) {
          for (const auto& f : fleets->list())
            queue.add(
                key_of(f["metadata"].value("namespace", ""), f["metadata"].value("name", "")));
          last_resync = std::chrono::steady_clock::now();
        }
        metrics.set_workqueue_depth(kController, static_cast<int64_t>(queue.depth()));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    while (!synced() && !stop()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    spdlog::info("informers synced; reconciling");
    while (auto key = queue.get()) {
      const auto t0 = std::chrono::steady_clock::now();
      watchdog.begin(*key);
      std::string result = "success";
      try {
        auto after = reconcile(*key);
        failures.erase(*key);
        if (after) {
          queue.add_after(*key, std::max(*after, Millis{100}));
          result = "requeue_after";
        }
      } catch (const Error& e) {
        if (e.is_conflict()) {
          // A conditional write lost to a newer version (ours from this pass, or another
          // writer's): nothing was overwritten; look again at the fresh objects.
          spdlog::info("reconcile {}: {}; re-reading", *key, e.what());
          queue.add_after(*key, Millis{200});
          result = "conflict";
        } else {
          result = retry_with_backoff(*key, e);
        }
      } catch (const std::exception& e) {
        result = retry_with_backoff(*key, e);
      }
      watchdog.end();
      queue.done(*key);
      metrics.reconcile_done(
          kController, result,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      metrics.set_api_requests(client.stats().requests);
    }
    done = true;
    watcher.join();
    for (auto& [k, a] : analysis) a->stop();
  }

  // A failed reconcile: look again after 1 s doubling to 30 s; returns the metrics result.
  std::string retry_with_backoff(const std::string& key, const std::exception& e) {
    const int n = ++failures[key];
    const Millis backoff{std::min<int64_t>(30000, 500LL << std::min(n, 6))};
    spdlog::error("reconcile {} failed (attempt {}), retrying in {} ms: {}", key, n,
                  backoff.count(), e.what());
    queue.add_after(key, backoff);
    return "error";
  }

  std::optional<std::string> unhealthy() const { return watchdog.stuck(); }

  // Provider writes are fenced like API writes (Client::set_write_guard).
  void fence(const std::string& provider_name) const {
    if (opts.may_act && !opts.may_act())
      throw Error(Error::Kind::kTransport,
                  provider_name +
                      ": move not made: this replica no longer holds the leader "
                      "Lease (fenced)");
  }

  std::vector<json> rollouts_of(const std::string& ns, const std::string& name) {
    std::vector<json> out;
    for (auto& fr : rollouts->list())
      if (fr["metadata"].value("namespace", "") == ns &&
          fr.value("spec", json::object()).value("fleetRef", json::object()).value("name", "") ==
              name)
        out.push_back(fr);
    std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
      const auto ra = a["spec"].value("revision", int64_t{0});
      const auto rb = b["spec"].value("revision", int64_t{0});
      if (ra != rb) return ra < rb;
      return a["metadata"].value("creationTimestamp", "") <
             b["metadata"].value("creationTimestamp", "");
    });
    return out;
  }

  // Digest input of the ConfigMaps and Secrets a template references (never logged).
  std::pair<std::string, std::string> config_digest(const std::string& ns, const json& tpl) {
    auto refs_ = config_refs(tpl);
    std::string input, names;
    for (const auto& cm : refs_.config_maps) {
      auto obj = config_maps->get(ns, cm);
      input += "cm:" + cm + "=";
      input += obj ? obj->value("data", json::object()).dump() +
                         obj->value("binaryData", json::object()).dump()
                   : "absent";
      input += "\n";
      names += (names.empty() ? "" : ", ") + std::string("ConfigMap ") + cm;
    }
    for (const auto& sec : refs_.secrets) {
      // A refused or failed read throws: the caller keeps the revision it knows.
      auto obj = client.try_get(refs::kSecrets, ns, sec);
      input += "secret:" + sec + "=";
      input += obj ? fnv_hex(obj->value("data", json::object()).dump(), 16) : "absent";
      input += "\n";
      names += (names.empty() ? "" : ", ") + std::string("Secret ") + sec;
    }
    return {input, names};
  }

  std::optional<Millis> reconcile(const std::string& key) {
    const auto slash = key.find('/');
    const std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
    // Read our own writes: the informer's copy may not have the status written by the last
    // reconcile yet, and a stale status could start a rollout twice.
    if (!fleets->get(ns, name)) {
      metrics.forget_fleet(ns, name);
      analysis.erase(key);
      return std::nullopt;
    }
    auto pf_opt = fresh(kFleets, *fleets, ns, name);
    if (!pf_opt) {
      metrics.forget_fleet(ns, name);
      analysis.erase(key);
      return std::nullopt;
    }
    const json& pf = *pf_opt;
    if (pf["metadata"].contains("deletionTimestamp")) return std::nullopt;
    const int64_t gen = pf["metadata"].value("generation", int64_t{0});
    FleetState st_before = state_from(pf);

    Snapshot s;
    s.now = clock.wall_now();
    try {
      s.settings = settings_from(pf);
    } catch (const Error& e) {
      FleetState st = st_before;
      st.phase = "Degraded";
      st.message = std::string("invalid spec: ") + e.what();
      events.record(pf, "Warning", "InvalidSpec", "Reconcile", e.what());
      write_fleet_status(pf, st, {}, gen);
      return std::nullopt;
    }
    const json tpl = pf["spec"].value("template", json::object());
    std::string digest, names;
    try {
      std::tie(digest, names) = config_digest(ns, tpl);
      s.template_hash = template_hash(tpl, digest);
    } catch (const std::exception& e) {
      // The referenced data cannot be read (a Secret read refused, the API failing): no
      // revision can be computed, so none changes; the running rollout, abort and pause go
      // on with the revision already known.
      s.template_hash = st_before.update_hash;
      spdlog::warn(
          "{}: the template's referenced ConfigMaps/Secrets cannot be read ({}); "
          "keeping revision {}",
          key, e.what(), st_before.update_revision);
    }
    s.state = st_before;
    s.template_part_changed = st_before.current_hash.size() < 13 || s.template_hash.size() < 13 ||
                              s.template_hash.substr(0, 13) != st_before.current_hash.substr(0, 13);
    if (!s.template_part_changed) s.change_reason = "referenced data changed (" + names + ")";
    const json ann = pf["metadata"].value("annotations", json::object());
    const std::string undo = ann.value("ingressx.io/undo", "");
    if (!undo.empty()) {
      const auto colon = undo.find(':');
      if (colon != std::string::npos && undo.substr(colon + 1) == s.template_hash.substr(0, 13))
        s.undo_revision = std::stoll(undo.substr(0, colon));
    }
    auto frs = rollouts_of(ns, name);
    // The rollout the status names, read fresh (the informer may lag our last write); else
    // the newest one (a crash between creating it and writing the fleet status).
    std::optional<json> rollout_fresh;
    std::string rollout_name = st_before.current_rollout;
    for (const auto& fr : frs)
      s.max_revision = std::max(s.max_revision, fr["spec"].value("revision", int64_t{0}));
    // The newest record is the one that counts (running, or the latest outcome): the fleet
    // status may lag it (a crash or a lost write after its create). Only when the status
    // names a record the cache has not seen yet (our own create) is that name kept.
    if (!frs.empty()) {
      bool named_is_cached = rollout_name.empty();
      for (const auto& fr : frs)
        if (fr["metadata"].value("name", "") == rollout_name) named_is_cached = true;
      if (named_is_cached) rollout_name = frs.back()["metadata"].value("name", "");
    }
    if (!rollout_name.empty()) rollout_fresh = fresh(kRollouts, *rollouts, ns, rollout_name);
    const json* rollout_obj = rollout_fresh ? &*rollout_fresh : nullptr;
    if (rollout_obj) {
      s.rollout = rollout_from(*rollout_obj);
      s.max_revision = std::max(s.max_revision, s.rollout->revision);
    }
    const bool running = s.rollout && !s.rollout->finished();

    // The fleets as they are.
    for (const auto& role : kRoles) {
      const std::string f = fleet_name(name, role);
      auto dep = deployments->get(ns, f);
      if (!dep) continue;
      FleetObservation o;
      o.exists = true;
      o.deleting = dep->at("metadata").contains("deletionTimestamp");
      const json dspec = dep->value("spec", json::object());
      const json dstatus = dep->value("status", json::object());
      o.hash = dspec.value("template", json::object())
                   .value("metadata", json::object())
                   .value("annotations", json::object())
                   .value("ingressx.io/template-hash", "");
      o.replicas = dspec.value("replicas", 1);
      o.status_replicas = dstatus.value("replicas", 0);
      o.ready_replicas = dstatus.value("readyReplicas", 0);
      o.updated_replicas = dstatus.value("updatedReplicas", 0);
      o.generation_observed = dstatus.value("observedGeneration", int64_t{0}) >=
                              dep->at("metadata").value("generation", int64_t{0});
      if (auto svc = services->get(ns, f)) {
        std::string ip = svc->value("spec", json::object()).value("clusterIP", "");
        if (ip == "None") ip.clear();
        // A LoadBalancer's address is what clients outside the cluster (and DNS) use.
        const json ingress = svc->value("status", json::object())
                                 .value("loadBalancer", json::object())
                                 .value("ingress", json::array());
        if (!ingress.empty()) {
          const std::string lb = ingress[0].value("ip", ingress[0].value("hostname", ""));
          if (!lb.empty()) ip = lb;
        }
        // An address counts once it accepts a connection: kube-proxy programs a new
        // ClusterIP a moment after the Service exists, and traffic must not wait for it.
        const json sports = svc->value("spec", json::object()).value("ports", json::array());
        const int sport = sports.empty() ? 80 : sports[0].value("port", 80);
        // Only once a pod is ready: before that an accepted connection cannot be one of
        // the fleet's endpoints (some networks accept any address at their gateway).
        o.address = (!ip.empty() && reachable(ip, sport, o.ready_replicas > 0)) ? ip : "";
      }
      if (running || o.deleting) {
        std::optional<int64_t> total = 0;
        for (const auto& pod : pods->list()) {
          if (pod["metadata"].value("namespace", "") != ns ||
              label(pod, "ingressx.io/fleet-name") != f)
            continue;
          o.pods++;
          const json pst = pod.value("status", json::object());
          if (pst.value("phase", "") != "Running") continue;
          std::optional<int64_t> n;
          try {
            n = pod_connections(*http, pf["spec"].value("proxy", json::object()),
                                pst.value("podIP", ""));
          } catch (const std::exception& e) {
            // Whatever a pod answers (a wrong port, invalid UTF-8, a JSON type error), it
            // makes its count unknown and nothing else.
            spdlog::debug("{}: counting connections of pod {}: {}", key,
                          pod["metadata"].value("name", ""), e.what());
          }
          if (!n)
            total.reset();
          else if (total)
            *total += *n;
        }
        o.active_connections = total;
      }
      s.fleets[f] = o;
    }

    // Traffic as the provider reports it.
    std::string why_not;
    CutoverContext cctx;
    cctx.client = &client;
    cctx.ns = ns;
    for (const auto& [f, o] : s.fleets)
      if (!o.address.empty()) cctx.fleet_addresses[f] = o.address;
    // A running rollout moves traffic with the cutover it started with (its record's copy of
    // spec.cutover); a later edit of spec.cutover applies from the next rollout on.
    const json cutover_pf = cutover_view(pf, rollout_obj, running);
    std::unique_ptr<CutoverProvider> provider;
    try {
      provider = make_cutover(cutover_pf, cctx, why_not);
    } catch (const std::exception& e) {
      why_not = e.what();
    }
    if (provider) {
      try {
        s.traffic = provider->read();
      } catch (const std::exception& e) {
        s.traffic_error = e.what();
      }
    } else {
      s.traffic_error = why_not;
    }
    if (auto cf = cutover_failures.find(key); cf != cutover_failures.end()) {
      s.cutover_error = cf->second.error;
      s.cutover_failures = cf->second.count;
      s.cutover_retry_in = std::max(
          Millis{0},
          std::chrono::duration_cast<Millis>(cf->second.next - std::chrono::steady_clock::now()));
    }
    auto& runner = analysis[key];
    if (!runner) runner = std::make_unique<AnalysisRunner>();
    if (s.rollout && !s.rollout->current_step.empty())
      s.analysis = runner->result(s.rollout->name + "/" + s.rollout->current_step);

    Decision d = decide(s);
    if (!d.log.empty() && last_log[key] != d.log) {
      spdlog::info("{}: {}", key, d.log);
      last_log[key] = d.log;
    }

    // Create the rollout record first: everything after refers to it.
    std::optional<json> created;
    if (d.rollout && d.new_rollout) {
      try {
        failpoint::hit("rollout-create.before");
        created = client.create(kRollouts, ns, rollout_object(*d.rollout, pf, tpl));
        remember(ns, d.rollout->name, "FleetRollout", *created);
        failpoint::hit("rollout-create.after");
        spdlog::info("{}: created FleetRollout {} (revision {}, {})", key, d.rollout->name,
                     d.rollout->revision, d.rollout->trigger);
      } catch (const Error& e) {
        if (!e.is_already_exists()) throw;
        // It exists but we did not see it: look again rather than overwrite its record.
        spdlog::info("{}: FleetRollout {} exists already; re-reading", key, d.rollout->name);
        return Millis{500};
      }
    }
    std::optional<Millis> extra_requeue;
    for (const auto& a : d.actions) {
      if (auto* e = std::get_if<EnsureFleet>(&a)) {
        json t = tpl;
        if (e->hash != s.template_hash) {
          bool found = false;
          for (const auto& fr : frs)
            if (fr["spec"].value("templateHash", "") == e->hash) {
              t = fr["spec"].value("template", json::object());
              found = true;
            }
          if (!found)
            throw Error(Error::Kind::kNotFound,
                        "ProxyFleet " + key + ": the template of revision " +
                            std::to_string(e->revision) + " is not in the FleetRollout history");
        }
        auto objs = fleet_objects(pf, e->fleet, e->role, t, e->revision, e->hash, opts.hook_image);
        failpoint::hit("fleet-apply.before");
        client.apply(refs::kServices, ns, objs.service, opts.field_manager, true);
        client.apply(kPdbs, ns, objs.pdb, opts.field_manager, true);
        client.apply(refs::kDeployments, ns, objs.deployment, opts.field_manager, true);
        failpoint::hit("fleet-apply.after");
        spdlog::info("{}: applied fleet {} ({}) at revision {}", key, e->fleet, e->role,
                     e->revision);
      } else if (auto* del = std::get_if<DeleteFleet>(&a)) {
        failpoint::hit("fleet-delete.before");
        client.remove(refs::kDeployments, ns, del->fleet);
        client.remove(refs::kServices, ns, del->fleet);
        client.remove(kPdbs, ns, del->fleet);
        failpoint::hit("fleet-delete.after");
        spdlog::info("{}: deleting fleet {}", key, del->fleet);
        // Take the fleet out of the provider too (HAProxy: maint, no address), so a later
        // Service that reuses its address never gets its traffic. The fleets that carry
        // traffic now are passed unchanged.
        if (provider && s.traffic) {
          std::vector<TrafficTarget> targets;
          const json svc_ports =
              pf["spec"].value("service", json::object()).value("ports", json::array());
          const int port = svc_ports.empty() ? 80 : svc_ports[0].value("port", 80);
          bool ok = true;
          for (const auto& [f, w] : *s.traffic) {
            if (f == del->fleet || w == 0) continue;
            auto it = s.fleets.find(f);
            if (it == s.fleets.end() || it->second.address.empty())
              ok = false;
            else
              targets.push_back({f, role_of_fleet(name, f), w, it->second.address, port});
          }
          targets.push_back({del->fleet, del->role, 0, "", port});
          if (ok && targets.size() > 1) {
            try {
              fence(provider->name());
              provider->apply(targets);
            } catch (const Error& e) {
              spdlog::warn("{}: taking {} out of {} failed: {}", key, del->fleet, provider->name(),
                           e.what());
            }
          }
        }
      } else if (auto* t = std::get_if<SetTraffic>(&a)) {
        if (!provider) continue;
        const json svc_ports =
            pf["spec"].value("service", json::object()).value("ports", json::array());
        const int port = svc_ports.empty() ? 80 : svc_ports[0].value("port", 80);
        std::string summary;
        for (const auto& e : t->split)
          summary += (summary.empty() ? "" : " ") + e.fleet + "=" + std::to_string(e.weight);
        const auto t0 = std::chrono::steady_clock::now();
        try {
          // All or nothing: a move whose receiving half has no address is not made at all
          // (sending only the lowering half would leave nothing serving).
          const auto targets = traffic_targets(name, t->split, s.fleets, port);
          fence(provider->name());
          failpoint::hit("traffic.before");
          auto back = provider->apply(targets);
          failpoint::hit("traffic.after");
          const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - t0)
                              .count();
          // For DNS providers apply() returns once every authoritative server answers the
          // new data, so this is the step's convergence time.
          spdlog::info("{}: traffic set to {} via {} in {} ms", key, summary, provider->name(), ms);
          events.record(
              pf, "Normal", "TrafficShifted", "Cutover",
              "traffic " + summary + " (provider answered in " + std::to_string(ms) + " ms)");
          if (cutover_failures.erase(key))
            spdlog::info("{}: cutover provider {} answers again", key, provider->name());
        } catch (const std::exception& e) {
          auto& cf = cutover_failures[key];
          cf.error = e.what();
          cf.count++;
          const Millis backoff = cutover_backoff(cf.count);
          cf.next = std::chrono::steady_clock::now() + backoff;
          spdlog::warn("{}: moving traffic to {} failed ({} in a row, next try in {} ms): {}", key,
                       summary, cf.count, backoff.count(), e.what());
          events.record(pf, "Warning", "TrafficShiftFailed", "Cutover", e.what());
          extra_requeue = backoff;
        }
      } else if (auto* an = std::get_if<Analyze>(&a)) {
        auto it = s.fleets.find(an->fleet);
        auto svc = services->get(ns, an->fleet);
        if (it != s.fleets.end() && svc)
          runner->ensure(an->key, it->second.address, probes_from(pf, *svc));
      } else if (auto* ev = std::get_if<RecordEvent>(&a)) {
        events.record(pf, ev->type, ev->reason, "Rollout", ev->note);
      } else if (auto* rt = std::get_if<RestoreTemplate>(&a)) {
        failpoint::hit("template-restore.before");
        restore_template(pf, frs, rt->revision, digest);
        failpoint::hit("template-restore.after");
        // The fleet changed: its status is written by the next pass, on the new version.
        if (d.rollout)
          write_rollout_status(*d.rollout, created ? &*created : rollout_obj, gen, ns, name);
        return Millis{0};
      }
    }

    // The rollout record first, then the fleet's: a fleet status never names a step or an
    // outcome the rollout record does not have.
    if (d.rollout)
      write_rollout_status(*d.rollout, created ? &*created : rollout_obj, gen, ns, name);
    write_fleet_status(pf, d.state, s, gen);
    metrics.set_rollout_phase(ns, name, d.state.phase);
    if (s.traffic)
      for (const auto& [f, w] : *s.traffic) metrics.set_traffic_weight(ns, name, f, w);
    for (const auto& [f, o] : s.fleets)
      if (o.active_connections) metrics.set_active_connections(ns, name, f, *o.active_connections);
    if (d.rollout && d.rollout->finished()) prune_history(pf, rollouts_of(ns, name), d.state);
    // A failed apply() waits out its backoff even when the engine asked to come back at once.
    std::optional<Millis> after = extra_requeue ? extra_requeue : d.requeue_after;
    if (!after && running) after = Millis{5000};
    // Level-triggered traffic: with a provider, look again within traffic_resync whatever
    // the step (a failed apply() still waits out its backoff before moving traffic again).
    if (provider) {
      const Millis resync = std::chrono::duration_cast<Millis>(opts.traffic_resync);
      if (!after || *after > resync) after = resync;
    }
    return after;
  }

  void restore_template(const json& pf, const std::vector<json>& frs, int64_t revision,
                        const std::string& digest) {
    const std::string ns = pf["metadata"].value("namespace", "");
    const std::string name = pf["metadata"].value("name", "");
    for (const auto& fr : frs) {
      if (fr["spec"].value("revision", int64_t{0}) != revision) continue;
      json updated = pf;
      updated["spec"]["template"] = fr["spec"]["template"];
      updated["spec"].erase("undoTo");
      updated["metadata"]["annotations"]["ingressx.io/undo"] =
          std::to_string(revision) + ":" +
          template_hash(fr["spec"]["template"], digest).substr(0, 13);
      updated.erase("status");
      client.update(kFleets, ns, updated);
      events.record(pf, "Normal", "UndoStarted", "Undo",
                    "restored the template of revision " + std::to_string(revision));
      return;
    }
    events.record(pf, "Warning", "UndoRevisionNotFound", "Undo",
                  "revision " + std::to_string(revision) +
                      " is not in the rollout history; spec.undoTo cleared without change");
    client.patch(kFleets, ns, name, PatchType::kMerge, {{"spec", {{"undoTo", nullptr}}}});
  }

  void write_rollout_status(const RolloutRecord& r, const json* existing, int64_t gen,
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
    remember(ns, r.name, "FleetRollout",
             client.patch(kRollouts, ns, r.name, PatchType::kMerge, patch, "status"));
    failpoint::hit("rollout-status.after");
    if (r.finished() && old_phase != r.phase && r.started_at && r.finished_at) {
      const double secs = std::chrono::duration<double>(*r.finished_at - *r.started_at).count();
      metrics.rollout_finished(ns, fleet,
                               r.strategy == StrategyType::kTempFleet ? "TempFleet" : "BlueGreen",
                               r.phase, secs);
      spdlog::info("{}/{}: rollout {} {} in {:.1f} s", ns, fleet, r.name, r.phase, secs);
    }
  }

  void write_fleet_status(const json& pf, const FleetState& st, const Snapshot& s, int64_t gen) {
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
    const std::string now = format_time(clock.wall_now());
    status["conditions"] = conditions_for(st, s, gen, old, now);
    if (old == status) return;
    json patch = {{"status", status}};
    const std::string rv = pf["metadata"].value("resourceVersion", "");
    if (!rv.empty()) patch["metadata"] = {{"resourceVersion", rv}};
    failpoint::hit("fleet-status.before");
    remember(ns, name, "ProxyFleet",
             client.patch(kFleets, ns, name, PatchType::kMerge, patch, "status"));
    failpoint::hit("fleet-status.after");
  }

  // Keeps revisionHistoryLimit finished rollouts (never the current revision's: its template
  // is what an abort or a temp fleet goes back to).
  void prune_history(const json& pf, const std::vector<json>& frs, const FleetState& st) {
    const int64_t limit = pf["spec"].value("revisionHistoryLimit", int64_t{10});
    std::vector<const json*> finished;
    for (const auto& fr : frs) {
      const std::string phase = fr.value("status", json::object()).value("phase", "");
      const bool done = phase == "Succeeded" || phase == "Failed" || phase == "Aborted";
      if (done && fr["spec"].value("revision", int64_t{0}) != st.current_revision &&
          fr["metadata"].value("name", "") != st.current_rollout)
        finished.push_back(&fr);
    }
    const int64_t excess = static_cast<int64_t>(finished.size()) - std::max<int64_t>(limit - 1, 0);
    for (int64_t i = 0; i < excess; ++i) {
      const std::string n = finished[static_cast<size_t>(i)]->at("metadata").value("name", "");
      client.remove(kRollouts, pf["metadata"].value("namespace", ""), n);
      spdlog::info("pruned FleetRollout {} (revisionHistoryLimit {})", n, limit);
    }
  }
};

Operator::Operator(Client& client, OperatorOptions opts, Clock& clock, OperatorMetrics& metrics,
                   EventRecorder& events)
    : impl_(std::make_unique<Impl>(client, std::move(opts), clock, metrics, events)) {}
Operator::~Operator() = default;
void Operator::start() {
  impl_->start();
}
bool Operator::synced() const {
  return impl_->synced();
}
void Operator::run(const std::function<bool()>& stop) {
  impl_->run(stop);
}
std::optional<std::string> Operator::unhealthy() const {
  return impl_->unhealthy();
}

}  // namespace ingressx::op
