// The convergence checker of the DNS cutover providers (dns.h): what each authoritative
// server answers, and waiting until all answer new data.
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <thread>

#include "cutover/dns.h"
#include "cutover/dns_client.h"
#include "ingressx/core/error.h"

namespace ingressx::op::dns {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

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
  for (const char* type : {"CNAME", "A", "AAAA"}) {
    const Message a = query(ep, where(ep), qname, type, deadline);
    if (a.rcode != "NOERROR" && a.rcode != "NXDOMAIN")
      throw Error(Error::Kind::kApi,
                  where(ep) + " answered " + a.rcode + " to the query " + qname + " " + type);
    if (!a.authoritative) st.authoritative = false;
    bool cname = false;
    for (const auto& rr : a.answer) {
      if (rr.owner != qname) continue;
      if (rr.type != "A" && rr.type != "AAAA" && rr.type != "CNAME") continue;
      if (rr.type == "CNAME") cname = true;
      st.records.insert(rr.type + " " + (rr.type == "CNAME" ? lower(rr.data) : rr.data));
      st.ttls.insert(rr.ttl);
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
  Message ns;
  try {
    ns = query(first, where(first), zone_, "NS", deadline_from_now());
  } catch (const Error& e) {
    spdlog::debug("{}: NS query failed: {}", where(first), e.what());
    return out;
  }
  std::map<std::string, std::vector<std::string>> glue;
  for (const auto& rr : ns.additional)
    if (rr.type == "A" || rr.type == "AAAA") glue[rr.owner].push_back(rr.data);
  const std::string port = std::to_string(cfg_.ns_port);
  for (const auto& rr : ns.answer) {
    if (rr.type != "NS") continue;
    const std::string target = lower(rr.data);
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

}  // namespace ingressx::op::dns
