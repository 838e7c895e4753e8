// The rfc2136 DNS cutover provider (see cutover_rfc2136.h). Messages are built, signed and
// parsed with ldns; they travel over TCP (one connection per exchange, with a deadline),
// so a server that is down fails at once and every answer is a whole message.

#include "cutover/cutover_rfc2136.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>

#include "cutover/tcp.h"
#include "ingressx/core/error.h"

// ldns last, after <stdbool.h>: without it ldns/common.h defines true and false as macros,
// which breaks C++ headers included after it.
#include <ldns/ldns.h>
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

namespace ingressx::op {
namespace dns {

const char* type_name(RecordType t) {
  switch (t) {
    case RecordType::kA:
      return "A";
    case RecordType::kAAAA:
      return "AAAA";
    case RecordType::kCNAME:
      return "CNAME";
  }
  return "?";
}

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A hostname we accept as CNAME target or record name: LDH labels (and '_', '*' for
// names), each 1..63, at most 253 characters without the trailing dot.
bool is_hostname(const std::string& s, bool allow_special) {
  std::string n = s;
  if (!n.empty() && n.back() == '.') n.pop_back();
  if (n.empty() || n.size() > 253) return false;
  size_t start = 0;
  while (start <= n.size()) {
    size_t dot = n.find('.', start);
    if (dot == std::string::npos) dot = n.size();
    const size_t len = dot - start;
    if (len == 0 || len > 63) return false;
    for (size_t i = start; i < dot; ++i) {
      const unsigned char c = static_cast<unsigned char>(n[i]);
      if (std::isalnum(c) || c == '-') continue;
      if (allow_special && (c == '_' || c == '*')) continue;
      return false;
    }
    start = dot + 1;
  }
  return true;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Decodes standard base64 (padding optional, whitespace skipped); false if not base64.
bool b64_decode(const std::string& text, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return false;  // data after padding
    const int v = b64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return pad <= 2 && bits < 6 && !out.empty();
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

Record record_for(const std::string& address) {
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return {RecordType::kA, address};
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &v6, buf, sizeof buf);
    return {RecordType::kAAAA, buf};
  }
  if (!is_hostname(address, false))
    throw Error(Error::Kind::kInvalidInput,
                "address '" + address + "' is neither an IP address nor a hostname");
  std::string h = lower(address);
  if (h.back() != '.') h += '.';
  return {RecordType::kCNAME, h};
}

std::string absolute_name(const std::string& name, const std::string& zone) {
  std::string z = lower(zone);
  if (!z.empty() && z.back() == '.') z.pop_back();
  std::string n = lower(name);
  if (n.empty() || n == "@") return z + ".";
  if (n.back() == '.') return n;
  if (n == z || (n.size() > z.size() && n.compare(n.size() - z.size(), z.size(), z) == 0 &&
                 n[n.size() - z.size() - 1] == '.'))
    return n + ".";
  return n + "." + z + ".";
}

bool is_name(const std::string& n) {
  std::string s = n;
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '*')) return false;
  }
  return s.find("..") == std::string::npos && s.front() != '.';
}

bool in_zone(const std::string& name, const std::string& zone) {
  return name == zone || (name.size() > zone.size() &&
                          name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
                          name[name.size() - zone.size() - 1] == '.');
}

bool is_base64(const std::string& text) {
  std::string out;
  return b64_decode(text, out);
}

std::string tsig_secret_from(const nlohmann::json& secret, const std::string& key,
                             const std::string& where) {
  const auto data = secret.value("data", nlohmann::json::object());
  if (!data.is_object() || !data.contains(key) || !data[key].is_string())
    throw Error(Error::Kind::kNotFound, where + " has no data key '" + key + "'");
  std::string decoded;
  if (!b64_decode(data[key].get<std::string>(), decoded))
    throw Error(Error::Kind::kInvalidInput,
                where + " data key '" + key + "' is not base64 (Secret data must be)");
  std::string tsig = trim(decoded);
  if (!is_base64(tsig))
    throw Error(Error::Kind::kInvalidInput,
                where + " data key '" + key +
                    "' does not hold a base64 TSIG secret (as tsig-keygen prints it)");
  return tsig;
}

}  // namespace dns

namespace {

using SteadyClock = std::chrono::steady_clock;
using dns::Record;
using dns::RecordType;

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;
struct RrListFree {
  void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
struct CFree {
  void operator()(void* p) const { std::free(p); }
};

// Wipes a string holding key material before it is released.
struct Wiped {
  std::string value;
  ~Wiped() {
    volatile char* p = value.data();
    for (size_t i = 0; i < value.size(); ++i) p[i] = 0;
  }
};

std::string rdf_text(const ldns_rdf* rdf) {
  if (!rdf) return "";
  std::unique_ptr<char, CFree> s(ldns_rdf2str(rdf));
  return s ? std::string(s.get()) : std::string();
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string rcode_name(ldns_pkt_rcode rc) {
  ldns_lookup_table* t = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(rc));
  return t && t->name ? t->name : "RCODE" + std::to_string(static_cast<int>(rc));
}

std::string tsig_error_name(uint16_t e) {
  switch (e) {
    case 16:
      return "BADSIG";
    case 17:
      return "BADKEY";
    case 18:
      return "BADTIME";
    case 19:
      return "BADMODE";
    case 20:
      return "BADNAME";
    case 21:
      return "BADALG";
    case 22:
      return "BADTRUNC";
  }
  return std::to_string(e);
}

using Endpoint = dns::Server;

// One DNS message over TCP (RFC 7766: two-byte length prefix); returns the answer's wire.
// Throws Error(kTransport) prefixed with `where`.
std::vector<uint8_t> exchange_tcp(const Endpoint& ep, const uint8_t* msg, size_t len,
                                  SteadyClock::time_point deadline, const std::string& where) {
  if (len > 65535)
    throw Error(Error::Kind::kTransport,
                where + ": message of " + std::to_string(len) + " bytes is too large");
  TcpConn conn(ep.host, ep.port, deadline, where);
  std::vector<uint8_t> out;
  out.reserve(len + 2);
  out.push_back(static_cast<uint8_t>((len >> 8) & 0xff));
  out.push_back(static_cast<uint8_t>(len & 0xff));
  out.insert(out.end(), msg, msg + len);
  conn.send_all(out.data(), out.size());
  std::vector<uint8_t> in;
  size_t want = 2;
  bool have_len = false;
  uint8_t buf[4096];
  while (in.size() < want) {
    const size_t n = conn.read_some(buf, sizeof buf);
    if (n == 0)
      throw Error(Error::Kind::kTransport, where + ": connection closed before a whole answer");
    in.insert(in.end(), buf, buf + n);
    if (!have_len && in.size() >= 2) {
      want = 2 + ((static_cast<size_t>(in[0]) << 8) | in[1]);
      have_len = true;
    }
  }
  return std::vector<uint8_t>(in.begin() + 2, in.begin() + static_cast<ptrdiff_t>(want));
}

std::vector<uint8_t> to_wire(const ldns_pkt* p) {
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_status st = ldns_pkt2wire(&wire, p, &size);
  std::unique_ptr<uint8_t, CFree> guard(wire);
  if (st != LDNS_STATUS_OK)
    throw Error(Error::Kind::kInternal,
                std::string("DNS message encoding failed: ") + ldns_get_errorstr_by_id(st));
  return std::vector<uint8_t>(wire, wire + size);
}

Pkt from_wire(const std::vector<uint8_t>& wire, const std::string& where) {
  ldns_pkt* p = nullptr;
  ldns_status st = ldns_wire2pkt(&p, wire.data(), wire.size());
  if (st != LDNS_STATUS_OK)
    throw Error(Error::Kind::kDecode,
                where + ": answer is not a DNS message: " + ldns_get_errorstr_by_id(st));
  return Pkt(p);
}

std::string rr_type_name(ldns_rr_type t) {
  switch (t) {
    case LDNS_RR_TYPE_A:
      return "A";
    case LDNS_RR_TYPE_AAAA:
      return "AAAA";
    case LDNS_RR_TYPE_CNAME:
      return "CNAME";
    case LDNS_RR_TYPE_NS:
      return "NS";
    default:
      return "TYPE" + std::to_string(static_cast<int>(t));
  }
}

// One query to `ep` (`where` names it in errors); the answer packet (rcode checked by the
// caller).
Pkt query(const Endpoint& ep, const std::string& where, const std::string& qname, ldns_rr_type type,
          SteadyClock::time_point deadline) {
  ldns_rdf* owner = ldns_dname_new_frm_str(qname.c_str());
  if (!owner) throw Error(Error::Kind::kInvalidInput, where + ": invalid name '" + qname + "'");
  Pkt q(ldns_pkt_query_new(owner, type, LDNS_RR_CLASS_IN, 0));
  if (!q) throw Error(Error::Kind::kInternal, where + ": cannot build a query");
  ldns_pkt_set_random_id(q.get());
  auto wire = to_wire(q.get());
  auto answer = from_wire(exchange_tcp(ep, wire.data(), wire.size(), deadline, where), where);
  if (ldns_pkt_id(answer.get()) != ldns_pkt_id(q.get()))
    throw Error(Error::Kind::kDecode, where + ": answer with a different message id");
  return answer;
}

}  // namespace

namespace dns {

Server parse_server(const std::string& hp, const std::string& who) {
  auto bad = [&] {
    return Error(Error::Kind::kInvalidInput, who + ": server '" + hp + "' is not host:port");
  };
  Server e;
  e.label = hp;
  if (!hp.empty() && hp[0] == '[') {
    auto close = hp.find("]:");
    if (close == std::string::npos) throw bad();
    e.host = hp.substr(1, close - 1);
    e.port = hp.substr(close + 2);
  } else {
    auto colon = hp.rfind(':');
    if (colon == std::string::npos || hp.find(':') != colon) throw bad();
    e.host = hp.substr(0, colon);
    e.port = hp.substr(colon + 1);
  }
  int port = 0;
  auto [p, ec] = std::from_chars(e.port.data(), e.port.data() + e.port.size(), port);
  if (e.host.empty() || ec != std::errc() || p != e.port.data() + e.port.size() || port < 1 ||
      port > 65535)
    throw bad();
  return e;
}

std::string NameAnswer::describe() const {
  if (records.empty()) return "no A/AAAA/CNAME record";
  std::string s;
  for (const auto& r : records) s += (s.empty() ? "" : ", ") + r;
  if (ttls.size() == 1) s += " (ttl " + std::to_string(*ttls.begin()) + ")";
  if (!authoritative) s += " (not authoritative)";
  return s;
}

bool NameAnswer::is(const Record& want, int ttl) const {
  return records.size() == 1 &&
         *records.begin() == std::string(type_name(want.type)) + " " + want.data &&
         ttls.size() == 1 && *ttls.begin() == static_cast<uint32_t>(ttl) && authoritative;
}

const TrafficTarget& serving_target(const std::vector<TrafficTarget>& targets,
                                    const std::string& who) {
  const TrafficTarget* to = nullptr;
  std::string summary;
  for (const auto& t : targets)
    summary += (summary.empty() ? "" : " ") + t.fleet + "=" + std::to_string(t.weight);
  for (const auto& t : targets) {
    if (t.weight == 100 && !to) {
      to = &t;
    } else if (t.weight != 0) {
      throw Error(Error::Kind::kInvalidInput,
                  who +
                      ": a DNS cutover moves the record at once: weights must be 100 "
                      "for one fleet and 0 for the others (got " +
                      summary + ")");
    }
  }
  if (!to || to->address.empty())
    throw Error(Error::Kind::kInvalidInput, who +
                                                ": no fleet with weight 100 and an address (got " +
                                                summary + "); the records are left as they are");
  return *to;
}

Record serving_record(const TrafficTarget& target, const std::string& who) {
  try {
    return record_for(target.address);
  } catch (const Error& e) {
    throw Error(Error::Kind::kInvalidInput, who + ": fleet " + target.fleet + ": " + e.what());
  }
}

std::set<std::string> fleets_answered(const NameAnswer& answer,
                                      const std::map<std::string, std::string>& fleet_addresses) {
  std::set<std::string> fleets;
  for (const auto& r : answer.records) {
    const std::string data = r.substr(r.find(' ') + 1);
    for (const auto& [fleet, address] : fleet_addresses) {
      if (address.empty()) continue;
      try {
        if (record_for(address).data == data) fleets.insert(fleet);
      } catch (const Error&) {
      }
    }
  }
  return fleets;
}

Checker::Checker(CheckerConfig cfg) : cfg_(std::move(cfg)) {
  if (!cfg_.zone.empty()) zone_ = absolute_name("@", cfg_.zone);
  if (cfg_.timeout_ms <= 0) cfg_.timeout_ms = 2000;
  if (cfg_.poll_ms <= 0) cfg_.poll_ms = 200;
  if (cfg_.converge_timeout_ms < 0) cfg_.converge_timeout_ms = 0;
}

Checker::Clock::time_point Checker::deadline_from_now() const {
  return Clock::now() + std::chrono::milliseconds(cfg_.timeout_ms);
}

std::string Checker::where(const Server& server) const {
  return "DNS server " + server.label +
         (zone_.empty() ? std::string() : " (zone " + zone_.substr(0, zone_.size() - 1) + ")");
}

NameAnswer Checker::read_name(const Server& ep, const std::string& qname,
                              Clock::time_point deadline) const {
  NameAnswer st;
  for (ldns_rr_type type : {LDNS_RR_TYPE_CNAME, LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA}) {
    auto a = query(ep, where(ep), qname, type, deadline);
    const auto rc = ldns_pkt_get_rcode(a.get());
    if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN)
      throw Error(Error::Kind::kApi, where(ep) + " answered " + rcode_name(rc) + " to the query " +
                                         qname + " " + rr_type_name(type));
    if (!ldns_pkt_aa(a.get())) st.authoritative = false;
    ldns_rr_list* answers = ldns_pkt_answer(a.get());
    bool cname = false;
    for (size_t i = 0; answers && i < ldns_rr_list_rr_count(answers); ++i) {
      ldns_rr* rr = ldns_rr_list_rr(answers, i);
      if (lower(rdf_text(ldns_rr_owner(rr))) != qname) continue;
      const ldns_rr_type t = ldns_rr_get_type(rr);
      if (t != LDNS_RR_TYPE_A && t != LDNS_RR_TYPE_AAAA && t != LDNS_RR_TYPE_CNAME) continue;
      if (t == LDNS_RR_TYPE_CNAME) cname = true;
      std::string data = rdf_text(ldns_rr_rdf(rr, 0));
      if (t == LDNS_RR_TYPE_CNAME) data = lower(data);
      st.records.insert(rr_type_name(t) + " " + data);
      st.ttls.insert(ldns_rr_ttl(rr));
    }
    if (cname) break;  // a CNAME answers every type; A/AAAA queries would only chase it
  }
  return st;
}

std::vector<Server> Checker::authoritative_servers() const {
  std::vector<Server> out = cfg_.servers;
  if (!cfg_.check_ns || zone_.empty() || out.empty()) return out;
  const Server& first = out.front();
  std::set<std::string> seen;
  for (const auto& server : cfg_.servers) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (getaddrinfo(server.host.c_str(), server.port.c_str(), &hints, &res) == 0) {
      for (auto* ai = res; ai; ai = ai->ai_next) {
        char host[NI_MAXHOST];
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, nullptr, 0,
                        NI_NUMERICHOST) == 0)
          seen.insert(host);  // an NS target with this address is that configured server
      }
      freeaddrinfo(res);
    }
    seen.insert(server.host + "#" + server.port);
  }
  Pkt ns;
  try {
    ns = query(first, where(first), zone_, LDNS_RR_TYPE_NS, deadline_from_now());
  } catch (const Error& e) {
    spdlog::debug("{}: NS query failed: {}", where(first), e.what());
    return out;
  }
  std::map<std::string, std::vector<std::string>> glue;
  ldns_rr_list* add = ldns_pkt_additional(ns.get());
  for (size_t i = 0; add && i < ldns_rr_list_rr_count(add); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(add, i);
    const auto t = ldns_rr_get_type(rr);
    if (t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA)
      glue[lower(rdf_text(ldns_rr_owner(rr)))].push_back(rdf_text(ldns_rr_rdf(rr, 0)));
  }
  const std::string port = std::to_string(cfg_.ns_port);
  ldns_rr_list* ans = ldns_pkt_answer(ns.get());
  for (size_t i = 0; ans && i < ldns_rr_list_rr_count(ans); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(ans, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS) continue;
    const std::string target = lower(rdf_text(ldns_rr_rdf(rr, 0)));
    std::vector<std::string> addrs = glue[target];
    if (addrs.empty()) {
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      if (getaddrinfo(target.c_str(), nullptr, &hints, &res) == 0) {
        for (auto* ai = res; ai; ai = ai->ai_next) {
          char host[NI_MAXHOST];
          if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, nullptr, 0,
                          NI_NUMERICHOST) == 0)
            addrs.push_back(host);
        }
        freeaddrinfo(res);
      } else {
        spdlog::debug("{}: NS {} does not resolve; not waiting for it", where(first), target);
      }
    }
    for (const auto& a : addrs) {
      const std::string target_text = target.substr(0, target.size() - 1);
      if (auto r = cfg_.ns_redirect.find(a); r != cfg_.ns_redirect.end()) {
        Server ep = parse_server(r->second, where(first));
        if (!seen.insert(ep.host + "#" + ep.port).second) continue;
        ep.label = target_text + " (" + r->second + ")";
        out.push_back(ep);
        continue;
      }
      if (seen.count(a) || !seen.insert(a + "#" + port).second) continue;
      const bool v6 = a.find(':') != std::string::npos;
      out.push_back({target_text + " (" + (v6 ? "[" + a + "]" : a) + ":" + port + ")", a, port});
    }
  }
  return out;
}

size_t Checker::wait_converged(const std::vector<std::string>& names, const Record& want, int ttl,
                               const std::string& context) const {
  const auto servers = authoritative_servers();
  const auto deadline = Clock::now() + std::chrono::milliseconds(cfg_.converge_timeout_ms);
  for (;;) {
    std::vector<std::string> pending;
    auto note = [&](const std::string& p) {
      if (std::find(pending.begin(), pending.end(), p) == pending.end()) pending.push_back(p);
    };
    for (const auto& ep : servers) {
      for (const auto& n : names) {
        try {
          // Each exchange gets timeout_ms, but not (much) past the overall deadline.
          auto per = std::max(std::min(deadline_from_now(), deadline),
                              Clock::now() + std::chrono::milliseconds(cfg_.poll_ms));
          auto st = read_name(ep, n, per);
          if (!st.is(want, ttl)) note(ep.label + " answers " + st.describe() + " for " + n);
        } catch (const Error& e) {
          note(e.what());
        }
      }
    }
    if (pending.empty()) return servers.size();
    if (Clock::now() >= deadline) {
      std::string msg;
      for (const auto& p : pending) msg += (msg.empty() ? "" : "; ") + p;
      throw Error(Error::Kind::kTransport,
                  context + ", but after " + std::to_string(cfg_.converge_timeout_ms) +
                      " ms not every authoritative server answers it: " + msg);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(cfg_.poll_ms));
  }
}

}  // namespace dns

namespace {

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

    std::unique_ptr<ldns_rr_list, RrListFree> ups(ldns_rr_list_new());
    auto add = [&](ldns_rr* rr) {
      if (!rr || !ldns_rr_list_push_rr(ups.get(), rr)) {
        if (rr) ldns_rr_free(rr);
        throw Error(Error::Kind::kInternal, where + ": cannot build the update");
      }
    };
    for (const auto& n : names_) {
      for (ldns_rr_type t : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_CNAME}) {
        ldns_rr* del = ldns_rr_new();
        ldns_rr_set_owner(del, ldns_dname_new_frm_str(n.c_str()));
        ldns_rr_set_type(del, t);
        ldns_rr_set_class(del, LDNS_RR_CLASS_ANY);
        ldns_rr_set_ttl(del, 0);
        add(del);
      }
      ldns_rr* rr = nullptr;
      const std::string text =
          n + " " + std::to_string(cfg_.ttl) + " IN " + dns::type_name(want.type) + " " + want.data;
      ldns_status st = ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr);
      if (st != LDNS_STATUS_OK)
        throw Error(Error::Kind::kInvalidInput,
                    where + ": record '" + text + "': " + ldns_get_errorstr_by_id(st));
      add(rr);
    }
    Pkt pkt(ldns_update_pkt_new(ldns_dname_new_frm_str(zone_.c_str()), LDNS_RR_CLASS_IN, nullptr,
                                ups.get(), nullptr));
    if (!pkt) throw Error(Error::Kind::kInternal, where + ": cannot build the update");
    ldns_pkt_set_rd(pkt.get(), false);
    ldns_pkt_set_random_id(pkt.get());
    const std::string alg = cfg_.algorithm + ".";
    ldns_status st = ldns_pkt_tsig_sign(pkt.get(), key_name_.c_str(), secret.value.c_str(), 300,
                                        alg.c_str(), nullptr);
    if (st != LDNS_STATUS_OK)
      throw Error(Error::Kind::kInvalidInput, where + ": signing with TSIG key " + cfg_.key_name +
                                                  " (" + cfg_.algorithm +
                                                  ") failed: " + ldns_get_errorstr_by_id(st));
    auto wire = to_wire(pkt.get());
    auto answer_wire = exchange_tcp(server_, wire.data(), wire.size(), deadline_from_now(), where);
    auto answer = from_wire(answer_wire, where);
    if (ldns_pkt_id(answer.get()) != ldns_pkt_id(pkt.get()))
      throw Error(Error::Kind::kDecode, where + ": answer with a different message id");
    const auto rc = ldns_pkt_get_rcode(answer.get());
    ldns_rr* tsig = ldns_pkt_tsig(answer.get());
    uint16_t tsig_error = 0;
    if (tsig && ldns_rr_rd_count(tsig) > 5)
      tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
    if (rc != LDNS_RCODE_NOERROR || tsig_error != 0) {
      std::string what = "server answered " + rcode_name(rc);
      if (tsig_error != 0) what += " (TSIG error " + tsig_error_name(tsig_error) + ")";
      if (rc == LDNS_RCODE_NOTAUTH || tsig_error != 0)
        what += ": the server did not accept TSIG key " + cfg_.key_name + " (" + cfg_.algorithm +
                ") for this zone";
      else if (rc == LDNS_RCODE_REFUSED)
        what += ": the server does not allow this key to update the zone";
      else if (rc == LDNS_RCODE_NOTZONE)
        what += ": a name is not in the zone";
      throw Error(Error::Kind::kApi, where + ": " + what + "; nothing was changed");
    }
    ldns_rr* sent_tsig = ldns_pkt_tsig(pkt.get());
    const ldns_rdf* query_mac = sent_tsig ? ldns_rr_rdf(sent_tsig, 3) : nullptr;
    if (!tsig || !ldns_pkt_tsig_verify(answer.get(), answer_wire.data(), answer_wire.size(),
                                       key_name_.c_str(), secret.value.c_str(), query_mac))
      throw Error(Error::Kind::kApi, where + ": the answer (NOERROR) is not signed with TSIG key " +
                                         cfg_.key_name + "; not trusting it");
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
