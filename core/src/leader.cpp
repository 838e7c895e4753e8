// Lease leader election, after client-go's leaderelection.LeaderElector.

#include "ingressx/core/leader.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "ingressx/core/client.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"

namespace ingressx {

namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

// client-go's JitterFactor: retries wait retry_period * (1 + rand * 1.2).
constexpr double kJitterFactor = 1.2;
// Sleeps are sliced so that stop() is honoured within this long.
constexpr Clock::Duration kStopCheck = milliseconds(100);

class ClientLeaseStore final : public LeaseStore {
 public:
  ClientLeaseStore(Client& client, std::string ns, std::string name)
      : client_(client), ns_(std::move(ns)), name_(std::move(name)) {}
  std::optional<json> get() override { return client_.try_get(refs::kLeases, ns_, name_); }
  json create(const json& lease) override { return client_.create(refs::kLeases, ns_, lease); }
  json update(const json& lease) override { return client_.update(refs::kLeases, ns_, lease); }

 private:
  Client& client_;
  std::string ns_, name_;
};

std::string holder_of(const json& spec) {
  auto it = spec.find("holderIdentity");
  return it != spec.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t int_of(const json& spec, const char* field) {
  auto it = spec.find(field);
  return it != spec.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

json spec_of(const json& lease) {
  auto it = lease.find("spec");
  return it != lease.end() && it->is_object() ? *it : json::object();
}

// Whole seconds, rounded up, so that a holder never advertises less than it relies on.
int64_t duration_seconds(milliseconds d) {
  return std::max<int64_t>(1, (d.count() + 999) / 1000);
}

void require(bool ok, const std::string& message) {
  if (!ok) throw Error(Error::Kind::kInvalidInput, "leader election: " + message);
}

std::string ms(milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

void validate(const LeaderElectionConfig& c) {
  require(c.lease_duration.count() > 0, "leaseDuration must be greater than zero");
  require(c.renew_deadline.count() > 0, "renewDeadline must be greater than zero");
  require(c.retry_period.count() > 0, "retryPeriod must be greater than zero");
  require(c.lease_duration > c.renew_deadline, "leaseDuration (" + ms(c.lease_duration) +
                                                   ") must be greater than renewDeadline (" +
                                                   ms(c.renew_deadline) + ")");
  require(static_cast<double>(c.renew_deadline.count()) >
              kJitterFactor * static_cast<double>(c.retry_period.count()),
          "renewDeadline (" + ms(c.renew_deadline) + ") must be greater than retryPeriod (" +
              ms(c.retry_period) + ") * 1.2");
  require(!c.identity.empty(), "identity must not be empty");
  require(!c.lease_name.empty(), "lease name must not be empty");
  require(!c.lease_namespace.empty(), "lease namespace must not be empty");
}

// Sleeps `d` on `clock` in slices; false as soon as stop() is true.
bool sleep_unless(Clock& clock, Clock::Duration d, const std::function<bool()>& stop) {
  while (d > Clock::Duration::zero()) {
    if (stop()) return false;
    Clock::Duration slice = std::min(d, kStopCheck);
    clock.sleep_for(slice);
    d -= slice;
  }
  return !stop();
}

}  // namespace

std::unique_ptr<LeaseStore> make_lease_store(Client& client, const std::string& ns,
                                             const std::string& name) {
  return std::make_unique<ClientLeaseStore>(client, ns, name);
}

LeaderElector::LeaderElector(LeaseStore& store, LeaderElectionConfig cfg, Clock& clock)
    : store_(store), cfg_(std::move(cfg)), clock_(clock) {
  validate(cfg_);
}

namespace {

// Records `lease` as the last one seen; a changed record restarts the local expiry timer.
// (A helper rather than a member to leave the header's private section as it is.)
struct Observation {
  std::string& record;
  std::string& holder;
  std::chrono::steady_clock::time_point& time;
  std::optional<json>& last;

  void observe(const json& lease, std::chrono::steady_clock::time_point now) {
    json spec = spec_of(lease);
    last = lease;
    std::string raw = spec.dump();
    if (raw == record) return;
    record = std::move(raw);
    holder = holder_of(spec);
    time = now;
  }
};

}  // namespace

bool LeaderElector::may_act() const {
  if (!is_leader_) return false;
  const auto since = Clock::TimePoint(Clock::Duration(renewed_at_.load()));
  return clock_.now() - since < cfg_.renew_deadline;
}

bool LeaderElector::try_acquire_or_renew() {
  const auto began = clock_.now();
  const std::string stamp = format_micro_time(clock_.wall_now());
  const std::string what = "lease " + cfg_.lease_namespace + "/" + cfg_.lease_name;
  Observation obs{observed_record_, observed_holder_, observed_time_, last_lease_};
  try {
    std::optional<json> current = store_.get();
    json lease;
    if (!current) {
      lease = {{"apiVersion", "coordination.k8s.io/v1"},
               {"kind", "Lease"},
               {"metadata", {{"name", cfg_.lease_name}, {"namespace", cfg_.lease_namespace}}}};
      lease["spec"] = {{"holderIdentity", cfg_.identity},
                       {"leaseDurationSeconds", duration_seconds(cfg_.lease_duration)},
                       {"acquireTime", stamp},
                       {"renewTime", stamp},
                       {"leaseTransitions", 0}};
      json created = store_.create(lease);
      obs.observe(created.is_object() && created.contains("spec") ? created : lease, clock_.now());
      renewed_at_ = began.time_since_epoch().count();
      is_leader_ = true;
      spdlog::info("{}: created and acquired by {}", what, cfg_.identity);
      return true;
    }

    // Expiry is judged from when *we* saw the record change, never from its renewTime.
    const auto now = clock_.now();
    obs.observe(*current, now);
    is_leader_ = observed_holder_ == cfg_.identity;
    const json spec = spec_of(*current);
    const int64_t record_seconds = int_of(spec, "leaseDurationSeconds");
    const Clock::Duration valid_for = record_seconds > 0
                                          ? Clock::Duration(std::chrono::seconds(record_seconds))
                                          : Clock::Duration(cfg_.lease_duration);
    if (!observed_holder_.empty() && !is_leader_ && observed_time_ + valid_for > now) {
      return false;  // held by another candidate, and renewed recently as seen from here
    }

    lease = *current;
    json& new_spec = lease["spec"];
    if (!new_spec.is_object()) new_spec = json::object();
    new_spec["holderIdentity"] = cfg_.identity;
    new_spec["leaseDurationSeconds"] = duration_seconds(cfg_.lease_duration);
    new_spec["renewTime"] = stamp;
    if (!is_leader_ || !new_spec.contains("acquireTime")) new_spec["acquireTime"] = stamp;
    if (!is_leader_) new_spec["leaseTransitions"] = int_of(spec, "leaseTransitions") + 1;
    const bool took_over = !is_leader_;
    // The fetched resourceVersion travels along: a concurrent writer makes this a 409.
    json updated = store_.update(lease);
    obs.observe(updated.is_object() && updated.contains("spec") ? updated : lease, clock_.now());
    renewed_at_ = began.time_since_epoch().count();
    is_leader_ = true;
    if (took_over) spdlog::info("{}: acquired by {}", what, cfg_.identity);
    return true;
  } catch (const Error& e) {
    if (e.is_conflict() || e.is_already_exists()) {
      spdlog::debug("{}: another candidate wrote first: {}", what, e.what());
    } else {
      spdlog::warn("{}: acquire/renew by {} failed: {}", what, cfg_.identity, e.what());
    }
  } catch (const json::exception& e) {
    spdlog::warn("{}: unexpected Lease content: {}", what, e.what());
  }
  return false;
}

void LeaderElector::release() {
  if (!is_leader_) return;
  is_leader_ = false;
  const std::string what = "lease " + cfg_.lease_namespace + "/" + cfg_.lease_name;
  Observation obs{observed_record_, observed_holder_, observed_time_, last_lease_};
  try {
    std::optional<json> current = store_.get();
    if (!current) return;
    if (holder_of(spec_of(*current)) != cfg_.identity) {
      obs.observe(*current, clock_.now());
      return;  // someone else already holds it
    }
    const std::string stamp = format_micro_time(clock_.wall_now());
    json lease = *current;
    json& spec = lease["spec"];
    spec["holderIdentity"] = "";
    spec["leaseDurationSeconds"] = 1;
    spec["acquireTime"] = stamp;
    spec["renewTime"] = stamp;
    json updated = store_.update(lease);
    obs.observe(updated.is_object() && updated.contains("spec") ? updated : lease, clock_.now());
    spdlog::info("{}: released by {}", what, cfg_.identity);
  } catch (const std::exception& e) {
    spdlog::warn("{}: release by {} failed: {}", what, cfg_.identity, e.what());
  }
}

void LeaderElector::run(const LeaderCallbacks& cb, const std::function<bool()>& stop) {
  const std::function<bool()> stopped = [&] { return stop && stop(); };
  const std::string what = "lease " + cfg_.lease_namespace + "/" + cfg_.lease_name;
  std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::string reported;
  auto report_new_leader = [&] {
    if (observed_holder_.empty() || observed_holder_ == reported) return;
    reported = observed_holder_;
    spdlog::info("{}: new leader {}", what, reported);
    if (cb.on_new_leader) cb.on_new_leader(reported);
  };

  // Campaign.
  spdlog::info("{}: {} is campaigning", what, cfg_.identity);
  for (;;) {
    if (stopped()) return;
    const bool acquired = try_acquire_or_renew();
    report_new_leader();
    if (acquired) break;
    const auto wait = std::chrono::duration_cast<Clock::Duration>(
        cfg_.retry_period * (1.0 + unit(rng) * kJitterFactor));
    if (!sleep_unless(clock_, wait, stopped)) return;
  }
  if (cb.on_started_leading) cb.on_started_leading();

  // Lead: renew every retry_period; step down if no renewal succeeds within renew_deadline.
  bool lost = false;
  while (!lost && sleep_unless(clock_, cfg_.retry_period, stopped)) {
    const auto deadline = clock_.now() + cfg_.renew_deadline;
    for (;;) {
      const bool renewed = try_acquire_or_renew();
      report_new_leader();
      if (renewed) break;
      if (!observed_holder_.empty() && observed_holder_ != cfg_.identity) {
        spdlog::warn("{}: {} lost it to {}", what, cfg_.identity, observed_holder_);
        lost = true;
        break;
      }
      const auto left = deadline - clock_.now();
      if (left > Clock::Duration::zero() &&
          !sleep_unless(clock_, std::min<Clock::Duration>(left, cfg_.retry_period), stopped)) {
        break;  // stopping
      }
      if (clock_.now() >= deadline) {
        spdlog::warn("{}: {} failed to renew within {}; stepping down", what, cfg_.identity,
                     ms(cfg_.renew_deadline));
        lost = true;
        break;
      }
    }
    if (!lost && stopped()) break;
  }
  if (!lost && cfg_.release_on_cancel) release();
  is_leader_ = false;
  if (cb.on_stopped_leading) cb.on_stopped_leading();
}

}  // namespace ingressx
