#pragma once
// DNS messages over TCP (RFC 7766: one connection per exchange, with a deadline, so a
// server that is down fails at once and every answer is a whole message): a query, and an
// UPDATE signed with TSIG. dns_client.cpp is the only file that includes ldns.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cutover/dns.h"

namespace ingressx::op::dns {

using Deadline = std::chrono::steady_clock::time_point;

// One resource record as text: owner lower-case, with the trailing dot; data as ldns
// prints it ("192.0.2.10", "lb.example.net.").
struct Rr {
  std::string owner;
  std::string type;  // "A", "AAAA", "CNAME", "NS", "TYPE<n>"
  std::string data;
  uint32_t ttl = 0;
};
// An answer: its rcode ("NOERROR", "NXDOMAIN", ...), the AA bit, its sections.
struct Message {
  std::string rcode;
  bool authoritative = false;
  std::vector<Rr> answer, additional;
};

// One query for `qname` (absolute) of `type` ("A", "AAAA", "CNAME", "NS") to `server`;
// `where` names the server in errors. Throws Error(kTransport) when it cannot be asked,
// Error(kDecode) for an answer that is not a DNS message or not to this query. The rcode is
// the caller's to judge.
Message query(const Server& server, const std::string& where, const std::string& qname,
              const std::string& type, Deadline deadline);

// One UPDATE of `zone` (absolute): for every name, its A, AAAA and CNAME sets deleted and
// `type data` added with `ttl`, signed with TSIG key `key_name` (absolute, lower-case) and
// `algorithm` ("hmac-sha256", "hmac-sha512") using `secret` (base64). `key_label` names
// the key in messages (never the secret). Throws Error(kApi) when the server refuses it
// ("...; nothing was changed") or its answer is not signed with the key.
struct Update {
  std::string zone;
  std::vector<std::string> names;
  int ttl = 30;
  std::string type, data;
  std::string key_name, key_label, algorithm;
};
void send_update(const Server& server, const std::string& where, const Update& update,
                 const std::string& secret, Deadline deadline);

}  // namespace ingressx::op::dns
