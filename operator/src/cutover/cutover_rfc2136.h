#pragma once
// The rfc2136 DNS cutover provider: DNS UPDATE (RFC 2136) signed with TSIG (RFC 8945)
// that points one or more names of a zone at the serving fleet. The DNS messages are made
// by dns_client.cpp (the only file that includes ldns); records, names and the convergence
// checker it shares with external-dns are in dns.h.
//
// apply() moves every name in one UPDATE message (so all names move together), then waits
// until every authoritative server of the zone (the configured server and the zone's NS
// targets that resolve) answers the new data, and returns the split read back. read()
// queries the configured server and maps the answered addresses back to fleets.
// The TSIG secret never appears in a message, a log line or an error.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cutover/dns.h"
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

}  // namespace ingressx::op
