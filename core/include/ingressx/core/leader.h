#pragma once
// Lease-based leader election with client-go's algorithm (leaderelection.LeaderElector).
//
// A candidate reads the coordination.k8s.io/v1 Lease. It acquires it when the Lease does not
// exist, is held by itself, or has not been renewed for leaseDurationSeconds as observed on
// the *local* clock (the time this candidate last saw the record change, not the renewTime
// written by another host). The leader renews every retry_period; if it cannot renew within
// renew_deadline it steps down. Updates use the Lease's resourceVersion (optimistic
// concurrency), so two candidates cannot both win. On stop, a leader releases the Lease by
// clearing holderIdentity (release_on_cancel).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace ingressx {

class Client;
class Clock;

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  bool release_on_cancel = true;
};

// Storage for the Lease; the real one uses Client, tests use an in-memory fake.
class LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  virtual std::optional<nlohmann::json> get() = 0;  // nullopt if absent
  // Throw Error with is_conflict() / is_already_exists() when someone else wrote first.
  virtual nlohmann::json create(const nlohmann::json& lease) = 0;
  virtual nlohmann::json update(const nlohmann::json& lease) = 0;
};

std::unique_ptr<LeaseStore> make_lease_store(Client& client, const std::string& ns,
                                             const std::string& name);

struct LeaderCallbacks {
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  std::function<void(const std::string& identity)> on_new_leader;
};

class LeaderElector {
 public:
  // Validates the config (durations ordered as client-go requires); throws Error(kInvalidInput).
  LeaderElector(LeaseStore& store, LeaderElectionConfig cfg, Clock& clock);

  // Blocks: campaigns until elected, leads until the lease is lost or stop() is true, then
  // releases (if configured) and returns. Callbacks run on this thread.
  void run(const LeaderCallbacks& cb, const std::function<bool()>& stop);

  // One acquire-or-renew attempt; true if this candidate holds the lease afterwards.
  bool try_acquire_or_renew();
  // Gives the lease up if held.
  void release();
  bool is_leader() const { return is_leader_; }
  // Fencing, callable from any thread: true while this candidate leads and its last
  // successful acquire/renew *started* less than renew_deadline ago. Another candidate can
  // take the Lease only lease_duration after it saw that renewal, so a leader that stops
  // writing once this turns false never writes beside its successor.
  bool may_act() const;
  const std::string& observed_holder() const { return observed_holder_; }

 private:
  LeaseStore& store_;
  LeaderElectionConfig cfg_;
  Clock& clock_;
  std::atomic<bool> is_leader_{false};
  std::atomic<int64_t> renewed_at_{0};  // Clock::now() ticks when the last good renew began
  std::string observed_holder_;
  std::string observed_record_;  // serialized spec last seen
  std::chrono::steady_clock::time_point observed_time_{};
  std::optional<nlohmann::json> last_lease_;
};

}  // namespace ingressx
