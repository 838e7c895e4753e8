// The reconciler: snapshot -> engine -> actions -> status (once per reconcile).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>

#include "cutover/cutover_factory.h"
#include "cutover/tcp.h"
#include "ingressx/api/names.h"
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
#include "ingressx/operator/operator.h"
#include "ingressx/operator/runtime.h"
#include "reconciler/analysis.h"
#include "reconciler/executor.h"
#include "reconciler/fleet_objects.h"
#include "reconciler/pod_connections.h"
#include "reconciler/traffic_move.h"

namespace ingressx::op {

namespace {

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
  std::map<std::string, std::string> last_log;  // the last decision logged per fleet
  Executor exec;

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

  // The object as it is now: the informer's copy when it has our last write (or when we
  // never wrote it and it is there), else a GET (the cache may lag our own write).
  std::optional<json> fresh(const ResourceRef& ref, Informer& inf, const std::string& ns,
                            const std::string& name) {
    auto cached = inf.get(ns, name);
    const std::string written = exec.written_version(ref.kind, ns, name);
    if (cached &&
        (written.empty() || cached->at("metadata").value("resourceVersion", "") == written))
      return cached;
    auto got = client.try_get(ref, ns, name);
    if (got) exec.remember(ref.kind, ns, name, *got);
    return got;
  }

  Impl(Client& c, OperatorOptions o, Clock& cl, OperatorMetrics& m, EventRecorder& e)
      : client(c),
        opts(std::move(o)),
        clock(cl),
        metrics(m),
        events(e),
        exec(c, e, cl, m,
             ExecutorOptions{opts.field_manager, opts.hook_image,
                             std::chrono::duration_cast<Millis>(opts.traffic_resync),
                             opts.may_act}) {
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
      exec.forget(key);
      return std::nullopt;
    }
    auto pf_opt = fresh(kFleets, *fleets, ns, name);
    if (!pf_opt) {
      metrics.forget_fleet(ns, name);
      analysis.erase(key);
      exec.forget(key);
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
      exec.write_fleet_status(pf, st, {}, gen);
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
          if (pst.value("phase", "") != api::phase::kRunning) continue;
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
    exec.report_cutover_failures(key, s);
    auto& runner = analysis[key];
    if (!runner) runner = std::make_unique<AnalysisRunner>();
    if (s.rollout && !s.rollout->current_step.empty())
      s.analysis = runner->result(s.rollout->name + "/" + s.rollout->current_step);

    Decision d = decide(s);
    if (!d.log.empty() && last_log[key] != d.log) {
      spdlog::info("{}: {}", key, d.log);
      last_log[key] = d.log;
    }

    PassInput in;
    in.key = key;
    in.ns = ns;
    in.name = name;
    in.fleet = &pf;
    in.template_ = tpl;
    in.config_digest = digest;
    in.rollouts = std::move(frs);
    in.rollout = rollout_obj;
    in.running = running;
    in.provider = provider.get();
    in.analysis = runner.get();
    in.service_of = [&](const std::string& f) { return services->get(ns, f); };
    return exec.execute(in, s, d);
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
