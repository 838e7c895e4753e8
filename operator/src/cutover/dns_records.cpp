// Records, names, servers and answers of the DNS cutover providers (dns.h); no ldns.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

#include "cutover/dns.h"
#include "ingressx/core/error.h"

namespace ingressx::op::dns {

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

}  // namespace ingressx::op::dns
