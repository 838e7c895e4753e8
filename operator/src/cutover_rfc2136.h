#pragma once
// The rfc2136 DNS cutover provider: DNS UPDATE (RFC 2136) signed with TSIG (RFC 8945)
// that points one or more names of a zone at the serving fleet. ldns stays inside
// cutover_rfc2136.cpp; this header is what the factory and the tests see.
//
// apply() moves every name in one UPDATE message (so all names move together), then waits
// until every authoritative server of the zone (the configured server and the zone's NS
// targets that resolve) answers the new data, and returns the split read back. read()
// queries the configured server and maps the answered addresses back to fleets.
// The TSIG secret never appears in a message, a log line or an error.

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ingressx/operator/cutover.h"

namespace ingressx::op {

struct Rfc2136CutoverConfig {
  std::string server;              // host:port of the primary name server (UPDATEs go here)
  std::string zone;                // e.g. "example.com"
  std::vector<std::string> names;  // relative to the zone ("www", "@") or absolute
  int ttl = 30;
  std::string key_name;                   // TSIG key name
  std::string algorithm = "hmac-sha256";  // hmac-sha256 | hmac-sha512
  // Returns the base64 TSIG secret; called by apply() only (read() needs no key).
  std::function<std::string()> secret;
  // fleet name -> its address, for read(): an answer equal to a fleet's address counts as
  // that fleet's traffic.
  std::map<std::string, std::string> fleet_addresses;
  // Also wait for the zone's NS targets (when they resolve; one whose address is the
  // configured server's counts as that server).
  bool check_ns = true;
  int ns_port = 53;  // the port the NS targets are queried on
  // Test seam: an NS target address -> the host:port queried instead (a lab runs every
  // server on 127.0.0.1 with its own port). Empty in production.
  std::map<std::string, std::string> ns_redirect;
  int timeout_ms = 2000;            // one DNS exchange (TCP)
  int converge_timeout_ms = 30000;  // UPDATE accepted -> every server answers it
  int poll_ms = 200;                // how often the servers are asked while waiting
};
std::unique_ptr<CutoverProvider> make_rfc2136_cutover(Rfc2136CutoverConfig cfg);

namespace dns {

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

// The TSIG secret held by a Secret object's data[key] (the Kubernetes base64 encoding of
// the base64 TSIG secret). Throws Error naming `where` (never the value) when the key is
// missing or the content is not base64.
std::string tsig_secret_from(const nlohmann::json& secret, const std::string& key,
                             const std::string& where);

// True when `text` is standard base64 (RFC 4648, padding optional) of at least one byte.
bool is_base64(const std::string& text);

}  // namespace dns
}  // namespace ingressx::op
