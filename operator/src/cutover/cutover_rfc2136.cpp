// The rfc2136 DNS cutover provider (see cutover_rfc2136.h): which names, which record, the
// TSIG key; the messages are dns_client's, the waiting dns::Checker's.
#include "cutover/cutover_rfc2136.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "cutover/dns_client.h"
#include "ingressx/core/error.h"

namespace ingressx::op {
namespace {

using SteadyClock = std::chrono::steady_clock;
using dns::Record;
using dns::RecordType;
using Endpoint = dns::Server;

// Wipes a string holding key material before it is released.
struct Wiped {
  std::string value;
  ~Wiped() {
    volatile char* p = value.data();
    for (size_t i = 0; i < value.size(); ++i) p[i] = 0;
  }
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Rfc2136Cutover : public CutoverProvider {
 public:
  explicit Rfc2136Cutover(Rfc2136CutoverConfig cfg)
      : cfg_(std::move(cfg)),
        server_(dns::parse_server(cfg_.server, "rfc2136 cutover")),
        checker_(checker_config(cfg_, server_)) {
    auto bad = [&](const std::string& what) {
      return Error(Error::Kind::kInvalidInput, "rfc2136 cutover: " + what);
    };
    if (cfg_.zone.empty() || !dns::is_name(cfg_.zone))
      throw bad("invalid zone '" + cfg_.zone + "'");
    zone_ = dns::absolute_name("@", cfg_.zone);
    if (cfg_.names.empty()) throw bad("zone " + cfg_.zone + ": no names");
    for (const auto& n : cfg_.names) {
      if (n != "@" && !dns::is_name(n)) throw bad("invalid name '" + n + "'");
      std::string abs = dns::absolute_name(n, cfg_.zone);
      if (!dns::in_zone(abs, zone_)) throw bad("name '" + n + "' is not in zone " + cfg_.zone);
      if (std::find(names_.begin(), names_.end(), abs) == names_.end()) names_.push_back(abs);
    }
    if (cfg_.ttl < 1 || cfg_.ttl > 86400)
      throw bad("ttl " + std::to_string(cfg_.ttl) + " is not 1..86400");
    if (cfg_.algorithm != "hmac-sha256" && cfg_.algorithm != "hmac-sha512")
      throw bad("algorithm '" + cfg_.algorithm + "' is not hmac-sha256 or hmac-sha512");
    if (cfg_.key_name.empty() || !dns::is_name(cfg_.key_name))
      throw bad("invalid TSIG key name '" + cfg_.key_name + "'");
    key_name_ = lower(cfg_.key_name);
    if (key_name_.back() != '.') key_name_ += '.';
    if (cfg_.timeout_ms <= 0) cfg_.timeout_ms = 2000;
  }

  std::string name() const override { return "rfc2136 " + cfg_.server + " zone " + zone_text(); }

  TrafficSplit apply(const std::vector<TrafficTarget>& targets) override {
    const TrafficTarget* to = &dns::serving_target(targets, name());
    const Record want = dns::serving_record(*to, name());
    if (want.type == RecordType::kCNAME)
      for (const auto& n : names_)
        if (n == zone_)
          throw Error(Error::Kind::kInvalidInput,
                      name() + ": fleet " + to->fleet + " has the hostname " + to->address +
                          ", which needs a CNAME, and the zone apex cannot have one");
    const std::string want_text = std::string(dns::type_name(want.type)) + " " + want.data;

    // Idempotent: send an UPDATE only when the primary does not answer the data already.
    bool current = true;
    for (const auto& n : names_)
      if (!checker_.read_name(server_, n, deadline_from_now()).is(want, cfg_.ttl)) current = false;
    auto start = SteadyClock::now();
    if (!current) {
      update(want);
      spdlog::info("{}: UPDATE accepted: {} -> {} ttl {}", name(), join(names_), want_text,
                   cfg_.ttl);
    }
    auto servers =
        checker_.wait_converged(names_, want, cfg_.ttl,
                                name() + ": " +
                                    (!current ? "the server accepted the UPDATE to "
                                              : "the server answers (no UPDATE needed) ") +
                                    want_text + " (ttl " + std::to_string(cfg_.ttl) + ")");
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
    if (!current)
      spdlog::info("{}: {} authoritative server(s) answer {} after {} ms", name(), servers,
                   want_text, took.count());
    return read();
  }

  TrafficSplit read() override {
    TrafficSplit split;
    for (const auto& [fleet, address] : cfg_.fleet_addresses) split[fleet] = 0;
    std::map<std::string, int> names_per_fleet;
    const auto deadline = deadline_from_now();
    for (const auto& n : names_)
      for (const auto& f :
           dns::fleets_answered(checker_.read_name(server_, n, deadline), cfg_.fleet_addresses))
        names_per_fleet[f]++;
    const int total = static_cast<int>(names_.size());
    for (const auto& [fleet, count] : names_per_fleet)
      split[fleet] = (count * 100 + total / 2) / total;
    return split;
  }

 private:
  std::string zone_text() const { return zone_.substr(0, zone_.size() - 1); }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }

  SteadyClock::time_point deadline_from_now() const {
    return SteadyClock::now() + std::chrono::milliseconds(cfg_.timeout_ms);
  }

  // One UPDATE for every name: delete its A, AAAA and CNAME sets, add the new record.
  void update(const Record& want) {
    const std::string where = "rfc2136 UPDATE of zone " + zone_text() + " at " + cfg_.server;
    Wiped secret;
    try {
      secret.value = cfg_.secret ? cfg_.secret() : std::string();
    } catch (const Error& e) {
      throw Error(e.kind(), where + ": TSIG key " + cfg_.key_name + ": " + e.what());
    }
    secret.value = dns::is_base64(secret.value) ? secret.value : std::string();
    if (secret.value.empty())
      throw Error(Error::Kind::kInvalidInput,
                  where + ": TSIG key " + cfg_.key_name + " has no valid base64 secret");

    dns::Update u;
    u.zone = zone_;
    u.names = names_;
    u.ttl = cfg_.ttl;
    u.type = dns::type_name(want.type);
    u.data = want.data;
    u.key_name = key_name_;
    u.key_label = cfg_.key_name;
    u.algorithm = cfg_.algorithm;
    dns::send_update(server_, where, u, secret.value, deadline_from_now());
  }

  static dns::CheckerConfig checker_config(const Rfc2136CutoverConfig& cfg,
                                           const Endpoint& server) {
    dns::CheckerConfig c;
    c.servers = {server};
    c.zone = cfg.zone;
    c.check_ns = cfg.check_ns;
    c.ns_port = cfg.ns_port;
    c.ns_redirect = cfg.ns_redirect;
    c.timeout_ms = cfg.timeout_ms;
    c.converge_timeout_ms = cfg.converge_timeout_ms;
    c.poll_ms = cfg.poll_ms;
    return c;
  }

  Rfc2136CutoverConfig cfg_;
  Endpoint server_;
  dns::Checker checker_;
  std::string zone_;                // absolute, lower-case
  std::vector<std::string> names_;  // absolute, lower-case
  std::string key_name_;            // absolute, lower-case
};

}  // namespace

std::unique_ptr<CutoverProvider> make_rfc2136_cutover(Rfc2136CutoverConfig cfg) {
  return std::make_unique<Rfc2136Cutover>(std::move(cfg));
}

}  // namespace ingressx::op
