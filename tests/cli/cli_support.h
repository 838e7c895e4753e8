#pragma once
// Support for the kubectl-ingressx tests: run the real binary as a subprocess against the
// control plane, install the CRDs, create fleets and play the operator's part by writing
// /status (there is no operator in these tests).

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ingressx/core/client.h"
#include "ingressx/core/process.h"

namespace ingressx::testing {

extern const ResourceRef kProxyFleets;
extern const ResourceRef kFleetRollouts;

// Runs kubectl-ingressx with `--kubeconfig <control plane kubeconfig>` prepended.
ProcessResult run_cli(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60),
                      const std::map<std::string, std::string>& env = {});
// Runs it with exactly `args` (no kubeconfig added).
ProcessResult run_cli_raw(const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60),
                          const std::map<std::string, std::string>& env = {});
std::string describe(const ProcessResult& r);  // for failure messages

std::string source_path(const std::string& relative);

// Creates the ProxyFleet of tests/data/crds/proxyfleet-valid.yaml named `name` (with
// `spec_patch` merged in) and, as the operator would, its first FleetRollout <name>-r1
// (Succeeded) and a Ready status at revision 1.
json make_ready_fleet(const std::string& ns, const std::string& name,
                      const json& spec_patch = json::object());
// Creates FleetRollout <fleet>-r<revision> and writes its status.
json make_rollout(const std::string& ns, const std::string& fleet, int64_t revision, int64_t from,
                  const json& status);
// Replaces the status (read-modify-write through /status, retried on conflict).
void write_fleet_status(const std::string& ns, const std::string& name, const json& status);
void write_rollout_status(const std::string& ns, const std::string& name, const json& status);
// Polls until metadata.generation >= gen; throws std::runtime_error after `timeout`.
json wait_for_generation(const std::string& ns, const std::string& name, int64_t gen,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));
std::string now_time();

// Plays the operator's part from a background thread. Catch2 is not used in the thread:
// an exception is kept and reported by join().
class FakeOperator {
 public:
  explicit FakeOperator(std::function<void()> body);
  ~FakeOperator();
  // Joins; returns the error text ("" if the body finished).
  std::string join();
  bool finished() const { return finished_; }

 private:
  std::thread thread_;
  std::string error_;
  std::atomic<bool> finished_{false};
};

}  // namespace ingressx::testing
