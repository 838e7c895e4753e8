// DNS messages with ldns (dns_client.h): the only file that includes it.
#include "cutover/dns_client.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>

#include "cutover/tcp.h"
#include "ingressx/core/error.h"

// ldns last, after <stdbool.h>: without it ldns/common.h defines true and false as macros,
// which breaks C++ headers included after it.
#include <ldns/ldns.h>
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

namespace ingressx::op::dns {
namespace {

using SteadyClock = std::chrono::steady_clock;

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

using Endpoint = Server;

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
Pkt raw_query(const Endpoint& ep, const std::string& where, const std::string& qname,
              ldns_rr_type type, SteadyClock::time_point deadline) {
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

ldns_rr_type rr_type_of(const std::string& type) {
  if (type == "A") return LDNS_RR_TYPE_A;
  if (type == "AAAA") return LDNS_RR_TYPE_AAAA;
  if (type == "CNAME") return LDNS_RR_TYPE_CNAME;
  if (type == "NS") return LDNS_RR_TYPE_NS;
  throw Error(Error::Kind::kInternal, "DNS query of unsupported type " + type);
}

std::vector<Rr> rrs_of(ldns_rr_list* list) {
  std::vector<Rr> out;
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(list, i);
    out.push_back({lower(rdf_text(ldns_rr_owner(rr))), rr_type_name(ldns_rr_get_type(rr)),
                   rdf_text(ldns_rr_rdf(rr, 0)), ldns_rr_ttl(rr)});
  }
  return out;
}

}  // namespace

Message query(const Server& server, const std::string& where, const std::string& qname,
              const std::string& type, Deadline deadline) {
  auto a = raw_query(server, where, qname, rr_type_of(type), deadline);
  Message m;
  m.rcode = rcode_name(ldns_pkt_get_rcode(a.get()));
  m.authoritative = ldns_pkt_aa(a.get());
  m.answer = rrs_of(ldns_pkt_answer(a.get()));
  m.additional = rrs_of(ldns_pkt_additional(a.get()));
  return m;
}

void send_update(const Server& server, const std::string& where, const Update& u,
                 const std::string& secret, Deadline deadline) {
  std::unique_ptr<ldns_rr_list, RrListFree> ups(ldns_rr_list_new());
  auto add = [&](ldns_rr* rr) {
    if (!rr || !ldns_rr_list_push_rr(ups.get(), rr)) {
      if (rr) ldns_rr_free(rr);
      throw Error(Error::Kind::kInternal, where + ": cannot build the update");
    }
  };
  for (const auto& n : u.names) {
    for (ldns_rr_type t : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_CNAME}) {
      ldns_rr* del = ldns_rr_new();
      ldns_rr_set_owner(del, ldns_dname_new_frm_str(n.c_str()));
      ldns_rr_set_type(del, t);
      ldns_rr_set_class(del, LDNS_RR_CLASS_ANY);
      ldns_rr_set_ttl(del, 0);
      add(del);
    }
    ldns_rr* rr = nullptr;
    const std::string text = n + " " + std::to_string(u.ttl) + " IN " + u.type + " " + u.data;
    ldns_status st = ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr);
    if (st != LDNS_STATUS_OK)
      throw Error(Error::Kind::kInvalidInput,
                  where + ": record '" + text + "': " + ldns_get_errorstr_by_id(st));
    add(rr);
  }
  Pkt pkt(ldns_update_pkt_new(ldns_dname_new_frm_str(u.zone.c_str()), LDNS_RR_CLASS_IN, nullptr,
                              ups.get(), nullptr));
  if (!pkt) throw Error(Error::Kind::kInternal, where + ": cannot build the update");
  ldns_pkt_set_rd(pkt.get(), false);
  ldns_pkt_set_random_id(pkt.get());
  const std::string alg = u.algorithm + ".";
  ldns_status st =
      ldns_pkt_tsig_sign(pkt.get(), u.key_name.c_str(), secret.c_str(), 300, alg.c_str(), nullptr);
  if (st != LDNS_STATUS_OK)
    throw Error(Error::Kind::kInvalidInput, where + ": signing with TSIG key " + u.key_label +
                                                " (" + u.algorithm +
                                                ") failed: " + ldns_get_errorstr_by_id(st));
  auto wire = to_wire(pkt.get());
  auto answer_wire = exchange_tcp(server, wire.data(), wire.size(), deadline, where);
  auto answer = from_wire(answer_wire, where);
  if (ldns_pkt_id(answer.get()) != ldns_pkt_id(pkt.get()))
    throw Error(Error::Kind::kDecode, where + ": answer with a different message id");
  const auto rc = ldns_pkt_get_rcode(answer.get());
  ldns_rr* tsig = ldns_pkt_tsig(answer.get());
  uint16_t tsig_error = 0;
  if (tsig && ldns_rr_rd_count(tsig) > 5) tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
  if (rc != LDNS_RCODE_NOERROR || tsig_error != 0) {
    std::string what = "server answered " + rcode_name(rc);
    if (tsig_error != 0) what += " (TSIG error " + tsig_error_name(tsig_error) + ")";
    if (rc == LDNS_RCODE_NOTAUTH || tsig_error != 0)
      what += ": the server did not accept TSIG key " + u.key_label + " (" + u.algorithm +
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
                                     u.key_name.c_str(), secret.c_str(), query_mac))
    throw Error(Error::Kind::kApi, where + ": the answer (NOERROR) is not signed with TSIG key " +
                                       u.key_label + "; not trusting it");
}

}  // namespace ingressx::op::dns
