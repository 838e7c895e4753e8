// The HAProxy cutover provider: one backend, one server per fleet role, driven through the
// runtime API (stats socket "level admin" on host:port). One command per TCP connection:
// HAProxy answers a non-interactive command and closes, so each answer is exactly one
// command's and an error names the command that failed.

#include "cutover/cutover_haproxy.h"

#include <netdb.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <sstream>

#include "cutover/tcp.h"
#include "ingressx/core/error.h"
#include "ingressx/operator/cutover.h"

namespace ingressx::op {
namespace haproxy {
namespace {

std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < line.size()) {
    auto b = line.find_first_not_of(" \t", pos);
    if (b == std::string_view::npos) break;
    auto e = line.find_first_of(" \t", b);
    if (e == std::string_view::npos) e = line.size();
    out.push_back(line.substr(b, e - b));
    pos = e;
  }
  return out;
}

int to_int(std::string_view s, const std::string& what, const std::string& source) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    throw Error(Error::Kind::kDecode,
                source + ": column " + what + " is '" + std::string(s) + "', not a number");
  return v;
}

}  // namespace

int ServerState::effective_weight() const {
  if (in_maint() || in_drain() || op_state == 0) return 0;
  return uweight;
}

std::vector<ServerState> parse_servers_state(std::string_view text, const std::string& source) {
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < text.size();) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    auto line = trim(text.substr(pos, eol - pos));
    if (!line.empty()) lines.push_back(line);
    pos = eol + 1;
  }
  if (!lines.empty() &&
      (lines[0].rfind("Can't find backend", 0) == 0 || lines[0].rfind("No such backend", 0) == 0)) {
    throw Error(Error::Kind::kNotFound,
                source + ": HAProxy answered '" + std::string(lines[0]) + "'");
  }
  if (lines.size() < 2 || lines[0] != "1" || lines[1].rfind("#", 0) != 0) {
    // (appended, not "'" + string: g++ 12 -O2 gives a false -Wrestrict on that form)
    std::string first = "nothing";
    if (!lines.empty()) first.assign("'").append(lines[0]).append("'");
    throw Error(Error::Kind::kDecode,
                source + ": expected a format 1 'show servers state' answer, got " + first);
  }
  auto header = fields(lines[1].substr(1));
  auto column = [&](std::string_view name, bool required) -> int {
    auto it = std::find(header.begin(), header.end(), name);
    if (it != header.end()) return static_cast<int>(it - header.begin());
    if (required)
      throw Error(Error::Kind::kDecode,
                  source + ": 'show servers state' header has no column " + std::string(name));
    return -1;
  };
  const int be_name = column("be_name", false);
  const int name = column("srv_name", true);
  const int addr = column("srv_addr", true);
  const int op = column("srv_op_state", true);
  const int admin = column("srv_admin_state", true);
  const int uweight = column("srv_uweight", false);
  const int iweight = column("srv_iweight", false);
  const int port = column("srv_port", false);
  if (uweight < 0 && iweight < 0)
    throw Error(Error::Kind::kDecode,
                source + ": 'show servers state' header has no column srv_uweight or srv_iweight");

  std::vector<ServerState> out;
  for (size_t i = 2; i < lines.size(); ++i) {
    auto f = fields(lines[i]);
    auto at = [&](int col, const char* what) -> std::string_view {
      if (col < 0) return {};
      if (static_cast<size_t>(col) >= f.size())
        throw Error(Error::Kind::kDecode,
                    source + ": line '" + std::string(lines[i]) + "' has no column " + what);
      return f[static_cast<size_t>(col)];
    };
    ServerState s;
    s.backend = std::string(at(be_name, "be_name"));
    s.name = std::string(at(name, "srv_name"));
    s.addr = std::string(at(addr, "srv_addr"));
    s.op_state = to_int(at(op, "srv_op_state"), "srv_op_state", source);
    s.admin_state = to_int(at(admin, "srv_admin_state"), "srv_admin_state", source);
    if (iweight >= 0) s.iweight = to_int(at(iweight, "srv_iweight"), "srv_iweight", source);
    s.uweight =
        uweight >= 0 ? to_int(at(uweight, "srv_uweight"), "srv_uweight", source) : s.iweight;
    if (port >= 0) {
      auto p = at(port, "srv_port");
      s.port = p == "-" ? 0 : to_int(p, "srv_port", source);
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool is_error_answer(std::string_view command, std::string_view answer) {
  auto a = trim(answer);
  if (a.empty()) return false;
  if (command.find(" addr ") != std::string_view::npos)
    return !(a.rfind("IP changed", 0) == 0 || a.rfind("no need to change", 0) == 0);
  return true;
}

}  // namespace haproxy

namespace {

using SteadyClock = std::chrono::steady_clock;

struct HostPort {
  std::string host, port;
};

HostPort split_host_port(const std::string& hp) {
  auto bad = [&] {
    return Error(Error::Kind::kInvalidInput,
                 "haproxy cutover: runtime API '" + hp + "' is not host:port");
  };
  HostPort out;
  if (!hp.empty() && hp[0] == '[') {  // [v6]:port
    auto close = hp.find("]:");
    if (close == std::string::npos) throw bad();
    out = {hp.substr(1, close - 1), hp.substr(close + 2)};
  } else {
    auto colon = hp.rfind(':');
    if (colon == std::string::npos) throw bad();
    out = {hp.substr(0, colon), hp.substr(colon + 1)};
  }
  int port = 0;
  auto [p, ec] = std::from_chars(out.port.data(), out.port.data() + out.port.size(), port);
  if (out.host.empty() || ec != std::errc() || p != out.port.data() + out.port.size() || port < 1 ||
      port > 65535)
    throw bad();
  return out;
}

// A name or address that can go into a runtime API command line as one argument.
bool is_word(const std::string& s) {
  return !s.empty() && s.find_first_of(" \t\r\n;\\") == std::string::npos;
}

// Owns a socket descriptor.

class HaproxyCutover : public CutoverProvider {
 public:
  explicit HaproxyCutover(HaproxyCutoverConfig cfg)
      : cfg_(std::move(cfg)), addr_(split_host_port(cfg_.runtime_api)) {
    if (!is_word(cfg_.backend))
      throw Error(Error::Kind::kInvalidInput,
                  "haproxy cutover: invalid backend name '" + cfg_.backend + "'");
    if (cfg_.servers.empty())
      throw Error(Error::Kind::kInvalidInput,
                  "haproxy cutover: backend " + cfg_.backend + " has no servers configured");
    for (const auto& [role, server] : cfg_.servers) {
      if (!is_word(server) || server.find('/') != std::string::npos)
        throw Error(Error::Kind::kInvalidInput, "haproxy cutover: role " + role +
                                                    " has an invalid server name '" + server + "'");
      if (cfg_.fleets.count(role) == 0)
        throw Error(Error::Kind::kInvalidInput,
                    "haproxy cutover: role " + role + " has no fleet name");
    }
    if (cfg_.timeout_ms <= 0) cfg_.timeout_ms = 3000;
  }

  std::string name() const override {
    return "haproxy " + cfg_.runtime_api + " backend " + cfg_.backend;
  }

  TrafficSplit apply(const std::vector<TrafficTarget>& targets) override {
    // Check everything before the first command, so a bad call changes nothing.
    for (const auto& t : targets) {
      if (cfg_.servers.count(t.role) == 0)
        throw Error(Error::Kind::kInvalidInput, name() + ": fleet " + t.fleet + " has role '" +
                                                    t.role + "', which has no server configured");
      if (t.weight < 0 || t.weight > 100)
        throw Error(Error::Kind::kInvalidInput, name() + ": fleet " + t.fleet + " has weight " +
                                                    std::to_string(t.weight) + ", not 0..100");
      if (!t.address.empty() && !is_word(t.address))
        throw Error(Error::Kind::kInvalidInput,
                    name() + ": fleet " + t.fleet + " has an invalid address '" + t.address + "'");
      if (t.weight > 0 && (t.address.empty() || t.port < 1 || t.port > 65535))
        throw Error(Error::Kind::kInvalidInput, name() + ": fleet " + t.fleet + " has weight " +
                                                    std::to_string(t.weight) +
                                                    " but no address:port ('" + t.address + ":" +
                                                    std::to_string(t.port) + "')");
    }
    // Raise first, then lower: while the lowered servers still take traffic, the raised
    // ones are already in, so no moment has every server at weight 0.
    std::vector<const TrafficTarget*> order;
    for (const auto& t : targets)
      if (t.weight > 0) order.push_back(&t);
    for (const auto& t : targets)
      if (t.weight == 0) order.push_back(&t);

    for (const auto* t : order) {
      std::string server = "set server " + cfg_.backend + "/" + cfg_.servers.at(t->role);
      if (t->weight > 0) {
        command(server + " addr " + t->address + " port " + std::to_string(t->port));
        command(server + " state ready");
        command(server + " weight " + std::to_string(t->weight));
      } else {
        command(server + " weight 0");
        command(server + (t->address.empty() ? " state maint" : " state drain"));
      }
    }
    return read();
  }

  TrafficSplit read() override {
    std::string cmd = "show servers state " + cfg_.backend;
    auto states = haproxy::parse_servers_state(exchange(cmd), where(cmd));
    TrafficSplit split;
    for (const auto& [role, server] : cfg_.servers) {
      auto it = std::find_if(states.begin(), states.end(),
                             [&](const haproxy::ServerState& s) { return s.name == server; });
      if (it == states.end())
        throw Error(Error::Kind::kNotFound, where(cmd) + ": backend " + cfg_.backend +
                                                " has no server " + server + " (role " + role +
                                                ")");
      split[cfg_.fleets.at(role)] = it->effective_weight();
    }
    return split;
  }

 private:
  std::string where(const std::string& cmd) const {
    return "haproxy runtime API " + cfg_.runtime_api + ": '" + cmd + "'";
  }

  // Sends one "set server" command and throws when HAProxy answers an error.
  void command(const std::string& cmd) {
    auto answer = exchange(cmd);
    auto a = std::string(haproxy::trim(answer));
    spdlog::debug("haproxy {}: {} -> {}", cfg_.runtime_api, cmd, a.empty() ? "ok" : a);
    if (haproxy::is_error_answer(cmd, answer)) {
      bool missing = a.rfind("No such", 0) == 0;
      throw Error(missing ? Error::Kind::kNotFound : Error::Kind::kInvalidInput,
                  where(cmd) + ": HAProxy answered '" + a + "'");
    }
  }

  // One connection: send the command, read until HAProxy closes.
  std::string exchange(const std::string& cmd) {
    TcpConn conn(addr_.host, addr_.port,
                 SteadyClock::now() + std::chrono::milliseconds(cfg_.timeout_ms),
                 "haproxy runtime API " + cfg_.runtime_api + " (for '" + cmd + "')");
    const std::string line = cmd + "\n";
    conn.send_all(line.data(), line.size());
    std::string answer;
    char buf[4096];
    while (size_t n = conn.read_some(buf, sizeof buf)) answer.append(buf, n);
    return answer;
  }

  HaproxyCutoverConfig cfg_;
  HostPort addr_;
};

}  // namespace

std::unique_ptr<CutoverProvider> make_haproxy_cutover(HaproxyCutoverConfig cfg) {
  return std::make_unique<HaproxyCutover>(std::move(cfg));
}

}  // namespace ingressx::op
