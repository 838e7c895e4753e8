#include "ingressx/proxy/proc_net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ingressx/core/error.h"
#include "text_util.h"

namespace ingressx::proxy {
namespace {

Error decode_error(const std::string& source, int line, const std::string& what) {
  return Error(Error::Kind::kDecode, source + " line " + std::to_string(line) + ": " + what);
}

unsigned long long parse_hex(std::string_view s, const std::string& source, int line,
                             const char* column) {
  unsigned long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    throw decode_error(source, line,
                       std::string("expected hex in ") + column + ", got '" + std::string(s) + "'");
  }
  return v;
}

std::string format_address(std::string_view hex, bool ipv6, const std::string& source, int line) {
  const size_t want = ipv6 ? 32 : 8;
  if (hex.size() != want) {
    throw decode_error(source, line,
                       "expected " + std::to_string(want) + " hex digits of address, got '" +
                           std::string(hex) + "'");
  }
  std::array<unsigned char, 16> bytes{};
  for (size_t word = 0; word < want / 8; ++word) {
    // The kernel prints each 32-bit word in host byte order.
    auto v = static_cast<uint32_t>(parse_hex(hex.substr(word * 8, 8), source, line, "address"));
    std::memcpy(bytes.data() + word * 4, &v, 4);
  }
  char out[INET6_ADDRSTRLEN] = {};
  inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes.data(), out, sizeof out);
  return out;
}

void parse_endpoint(std::string_view token, bool ipv6, const std::string& source, int line,
                    std::string& address, int& port) {
  auto colon = token.find(':');
  if (colon == std::string_view::npos) {
    throw decode_error(source, line,
                       "expected ADDRESS:PORT in hex, got '" + std::string(token) + "'");
  }
  address = format_address(token.substr(0, colon), ipv6, source, line);
  auto p = parse_hex(token.substr(colon + 1), source, line, "port");
  if (p > 65535) throw decode_error(source, line, "port out of range: " + std::string(token));
  port = static_cast<int>(p);
}

SocketEntry parse_line(std::string_view line, bool ipv6, const std::string& source, int number) {
  auto tokens = split_ws(line);
  if (tokens.size() < 10) {
    throw decode_error(source, number,
                       "expected at least 10 columns (sl local_address rem_address st ... "
                       "inode), got " +
                           std::to_string(tokens.size()));
  }
  SocketEntry e;
  parse_endpoint(tokens[1], ipv6, source, number, e.local_address, e.local_port);
  parse_endpoint(tokens[2], ipv6, source, number, e.remote_address, e.remote_port);
  e.state = static_cast<int>(parse_hex(tokens[3], source, number, "st"));
  auto [end, ec] = std::from_chars(tokens[9].data(), tokens[9].data() + tokens[9].size(), e.inode);
  if (ec != std::errc() || end != tokens[9].data() + tokens[9].size()) {
    throw decode_error(source, number,
                       "expected a decimal inode, got '" + std::string(tokens[9]) + "'");
  }
  return e;
}

}  // namespace

std::vector<SocketEntry> parse_proc_net_tcp(std::string_view text, bool ipv6,
                                            const std::string& source) {
  std::vector<SocketEntry> out;
  int number = 0;
  for (auto line : split_lines(text)) {
    ++number;
    if (trim(line).empty()) continue;
    if (number == 1) {
      if (trim(line).substr(0, 3) != "sl ") {
        throw decode_error(source, 1, "expected the header line starting with 'sl'");
      }
      continue;
    }
    out.push_back(parse_line(line, ipv6, source, number));
  }
  return out;
}

std::vector<SocketEntry> read_sockets(const std::string& proc_root) {
  auto v4 = read_file(proc_root + "/net/tcp");
  if (!v4) throw Error(Error::Kind::kNotFound, "cannot read " + proc_root + "/net/tcp");
  auto out = parse_proc_net_tcp(*v4, false, proc_root + "/net/tcp");
  if (auto v6 = read_file(proc_root + "/net/tcp6")) {
    auto six = parse_proc_net_tcp(*v6, true, proc_root + "/net/tcp6");
    out.insert(out.end(), six.begin(), six.end());
  }
  return out;
}

int count_established(const std::vector<SocketEntry>& sockets, const std::set<int>& ports) {
  int n = 0;
  for (const auto& s : sockets) {
    if (s.state == static_cast<int>(TcpState::kEstablished) && ports.count(s.local_port)) ++n;
  }
  return n;
}

std::set<int> listen_ports(const std::vector<SocketEntry>& sockets,
                           const std::set<unsigned long long>& inodes) {
  std::set<int> out;
  for (const auto& s : sockets) {
    if (s.state != static_cast<int>(TcpState::kListen)) continue;
    if (!inodes.empty() && !inodes.count(s.inode)) continue;
    out.insert(s.local_port);
  }
  return out;
}

std::set<unsigned long long> socket_inodes(const std::vector<int>& pids,
                                           const std::string& proc_root) {
  std::set<unsigned long long> out;
  for (int pid : pids) {
    std::string dir = proc_root + "/" + std::to_string(pid) + "/fd";
    DIR* d = opendir(dir.c_str());
    if (!d) continue;
    while (auto* ent = readdir(d)) {
      char target[256];
      std::string link = dir + "/" + ent->d_name;
      ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      std::string_view t(target, static_cast<size_t>(n));
      if (t.substr(0, 8) != "socket:[" || t.back() != ']') continue;
      unsigned long long inode = 0;
      auto digits = t.substr(8, t.size() - 9);
      if (std::from_chars(digits.data(), digits.data() + digits.size(), inode).ec == std::errc()) {
        out.insert(inode);
      }
    }
    closedir(d);
  }
  return out;
}

}  // namespace ingressx::proxy
