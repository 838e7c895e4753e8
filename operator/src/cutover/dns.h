#pragma once
// DNS for the DNS cutover providers (rfc2136 and external-dns), without ldns: records and
// names (dns_records.cpp), the servers and what they answer, and the convergence checker
// (dns_checker.cpp) that waits until every authoritative server answers new data. The
// messages themselves are made and parsed by dns_client.h.

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "ingressx/operator/cutover.h"

namespace ingressx::op::dns {

enum class RecordType { kA, kAAAA, kCNAME };
const char* type_name(RecordType t);

// What a fleet address becomes in DNS: an IPv4 address an A record, an IPv6 address an
// AAAA record (canonical text), anything else a CNAME to that hostname (lower-case, with
// the trailing dot). Throws Error(kInvalidInput) when it is neither.
struct Record {
  RecordType type = RecordType::kA;
  std::string data;
};
Record record_for(const std::string& address);

// The absolute name (lower-case, trailing dot) of `name` in `zone`: "@" or "" is the apex,
// a name ending in '.' or in the zone is taken as is, anything else is relative.
std::string absolute_name(const std::string& name, const std::string& zone);

// True when the absolute name `name` is `zone` (absolute) or below it.
bool in_zone(const std::string& name, const std::string& zone);

// A DNS name we accept for a zone, record or key: letters, digits, '-', '_', '*' and dots
// (no empty label), at most 253 characters without the trailing dot.
bool is_name(const std::string& name);

// The TSIG secret held by a Secret object's data[key] (the Kubernetes base64 encoding of
// the base64 TSIG secret). Throws Error naming `where` (never the value) when the key is
// missing or the content is not base64.
std::string tsig_secret_from(const nlohmann::json& secret, const std::string& key,
                             const std::string& where);

// True when `text` is standard base64 (RFC 4648, padding optional) of at least one byte.
bool is_base64(const std::string& text);

// A DNS step points the name(s) at one fleet: the target with weight 100, every other
// target 0. Throws Error(kInvalidInput) prefixed with `who` for any other split, or when
// the serving fleet has no address ("the records are left as they are").
const TrafficTarget& serving_target(const std::vector<TrafficTarget>& targets,
                                    const std::string& who);
// record_for(target.address), its error prefixed with `who` and the fleet.
Record serving_record(const TrafficTarget& target, const std::string& who);

// ---- The DNS query path of the DNS cutover providers (rfc2136 and external-dns) ----
// Queries go over TCP (one connection per exchange, with a deadline), so a server that is
// down fails at once and every answer is a whole message.

// One DNS server to query: the text messages name it by, and where to connect.
struct Server {
  std::string label;  // "127.0.0.1:53" or "ns2.example.com (192.0.2.2:53)"
  std::string host;
  std::string port;
};
// "host:port" or "[v6]:port" -> Server. Throws Error(kInvalidInput) "<who>: server '...'
// is not host:port".
Server parse_server(const std::string& host_port, const std::string& who);

// The A/AAAA/CNAME records of one name as one server answers them.
struct NameAnswer {
  std::set<std::string> records;  // "<TYPE> <data>": "A 192.0.2.10", "CNAME lb.example.net."
  std::set<uint32_t> ttls;
  bool authoritative = true;  // every answer had the AA bit
  // "A 192.0.2.10 (ttl 30)", "no A/AAAA/CNAME record", ...
  std::string describe() const;
  // Exactly `want`, with `ttl`, answered authoritatively.
  bool is(const Record& want, int ttl) const;
};

// The fleets whose address (record_for) is among the data `answer` holds.
std::set<std::string> fleets_answered(const NameAnswer& answer,
                                      const std::map<std::string, std::string>& fleet_addresses);

struct CheckerConfig {
  std::vector<Server> servers;  // queried for every name; the first also for the zone's NS
  std::string zone;             // the zone (for the NS lookup and messages); may be empty
  // Also the zone's NS targets (glue, else the system resolver) on ns_port; one whose
  // address is a configured server's counts as that server. Needs `zone`.
  bool check_ns = true;
  int ns_port = 53;
  // Test seam: an NS target address -> the host:port queried instead.
  std::map<std::string, std::string> ns_redirect;
  int timeout_ms = 2000;            // one DNS exchange
  int converge_timeout_ms = 30000;  // wait_converged's bound
  int poll_ms = 200;                // how often the servers are asked while waiting
};

// Reads names from authoritative servers and waits until they all answer new data.
class Checker {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Checker(CheckerConfig cfg);
  const CheckerConfig& config() const { return cfg_; }
  Clock::time_point deadline_from_now() const;
  // What `server` answers for `name` (absolute, lower-case). Throws Error naming the server
  // (and the zone, when set): transport failures, an rcode other than NOERROR/NXDOMAIN.
  NameAnswer read_name(const Server& server, const std::string& name,
                       Clock::time_point deadline) const;
  // The configured servers, then (check_ns) each NS target of the zone as the first
  // server answers the zone's NS set; an NS target that does not resolve is skipped.
  std::vector<Server> authoritative_servers() const;
  // Polls every authoritative server until all answer exactly `want` with `ttl` for every
  // name, for at most converge_timeout_ms; returns how many servers were checked. On
  // timeout throws Error(kTransport): "<context>, but after N ms not every authoritative
  // server answers it: <server> answers <what> for <name>; ...".
  size_t wait_converged(const std::vector<std::string>& names, const Record& want, int ttl,
                        const std::string& context) const;

 private:
  std::string where(const Server& server) const;
  CheckerConfig cfg_;
  std::string zone_;  // absolute, lower-case; empty when none
};

}  // namespace ingressx::op::dns
