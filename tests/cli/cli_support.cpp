#include "cli_support.h"

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "api_fixtures.h"
#include "controlplane.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"
#include "ingressx/core/yaml.h"

namespace ingressx::testing {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const ResourceRef kProxyFleets{"ingressx.io", "v1alpha1", "proxyfleets", true, "ProxyFleet"};
const ResourceRef kFleetRollouts{"ingressx.io", "v1alpha1", "fleetrollouts", true, "FleetRollout"};

std::string source_path(const std::string& relative) {
  return (fs::path(INGRESSX_SOURCE_DIR) / relative).string();
}

namespace {}  // namespace

ProcessResult run_cli_raw(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                          const std::map<std::string, std::string>& env) {
  ProcessSpec spec;
  spec.argv = {KUBECTL_INGRESSX};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.timeout = timeout;
  spec.extra_env = env;
  spec.stdin_data = "";
  return default_process_runner().run(spec);
}

ProcessResult run_cli(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                      const std::map<std::string, std::string>& env) {
  std::vector<std::string> all = {"--kubeconfig", control_plane().kubeconfig};
  all.insert(all.end(), args.begin(), args.end());
  return run_cli_raw(all, timeout, env);
}

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

std::string now_time() {
  return format_time(std::chrono::system_clock::now());
}

void write_fleet_status(const std::string& ns, const std::string& name, const json& status) {
  for (int attempt = 0;; ++attempt) {
    json f = admin().get(kProxyFleets, ns, name);
    f["status"] = status;
    try {
      admin().update_status(kProxyFleets, ns, f);
      return;
    } catch (const Error& e) {
      if (!e.is_conflict() || attempt > 10) throw;
    }
  }
}

void write_rollout_status(const std::string& ns, const std::string& name, const json& status) {
  for (int attempt = 0;; ++attempt) {
    json r = admin().get(kFleetRollouts, ns, name);
    r["status"] = status;
    try {
      admin().update_status(kFleetRollouts, ns, r);
      return;
    } catch (const Error& e) {
      if (!e.is_conflict() || attempt > 10) throw;
    }
  }
}

json make_rollout(const std::string& ns, const std::string& fleet, int64_t revision, int64_t from,
                  const json& status) {
  json f = admin().get(kProxyFleets, ns, fleet);
  std::string name = fleet + "-r" + std::to_string(revision);
  json r = {{"apiVersion", "ingressx.io/v1alpha1"},
            {"kind", "FleetRollout"},
            {"metadata", {{"name", name}, {"labels", {{"ingressx.io/fleet", fleet}}}}},
            {"spec",
             {{"fleetRef", {{"name", fleet}}},
              {"revision", revision},
              {"fromRevision", from},
              {"templateHash", "hash" + std::to_string(revision)},
              {"template", f["spec"]["template"]},
              {"strategy", f["spec"]["strategy"]},
              {"cutover", f["spec"]["cutover"]},
              {"trigger", revision == 1 ? "Initial" : "TemplateChange"},
              {"reason", "test revision " + std::to_string(revision)}}}};
  admin().create(kFleetRollouts, ns, r);
  write_rollout_status(ns, name, status);
  return admin().get(kFleetRollouts, ns, name);
}

json make_ready_fleet(const std::string& ns, const std::string& name, const json& spec_patch) {
  install_crds();
  std::string file = "tests/data/crds/proxyfleet-valid.yaml";
  json f = yaml_to_json(read_text(source_path(file)), file);
  f["metadata"] = {{"name", name}};
  f["spec"].merge_patch(spec_patch);
  json created = admin().create(kProxyFleets, ns, f);
  std::string t = now_time();
  make_rollout(ns, name, 1, 0,
               {{"phase", "Succeeded"},
                {"startedAt", t},
                {"finishedAt", t},
                {"steps", {{{"name", "provision-temp"}, {"phase", "Succeeded"}}}}});
  write_fleet_status(ns, name,
                     {{"observedGeneration", created["metadata"]["generation"]},
                      {"phase", "Ready"},
                      {"activeFleet", name},
                      {"currentRevision", 1},
                      {"updateRevision", 1},
                      {"currentRollout", name + "-r1"},
                      {"trafficSplit", {{{"fleet", name}, {"weight", 100}}}},
                      {"trafficSummary", name + "=100"},
                      {"fleets",
                       {{{"name", name},
                         {"role", "primary"},
                         {"revision", 1},
                         {"replicas", 3},
                         {"readyReplicas", 3},
                         {"activeConnections", 42}}}}});
  return admin().get(kProxyFleets, ns, name);
}

json wait_for_generation(const std::string& ns, const std::string& name, int64_t gen,
                         std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    json f = admin().get(kProxyFleets, ns, name);
    if (f["metadata"].value("generation", int64_t{0}) >= gen) return f;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("proxyfleet " + name + " did not reach generation " +
                               std::to_string(gen));
    std::this_thread::sleep_for(50ms);
  }
}

FakeOperator::FakeOperator(std::function<void()> body)
    : thread_([this, body = std::move(body)] {
        try {
          body();
        } catch (const std::exception& e) {
          error_ = e.what();
        }
        finished_ = true;
      }) {}

FakeOperator::~FakeOperator() {
  if (thread_.joinable()) thread_.join();
}

std::string FakeOperator::join() {
  if (thread_.joinable()) thread_.join();
  return error_;
}

}  // namespace ingressx::testing
