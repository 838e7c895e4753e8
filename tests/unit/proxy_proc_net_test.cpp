#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "../support/samples.h"
#include "ingressx/core/error.h"
#include "ingressx/proxy/proc_net.h"

using namespace ingressx;
using namespace ingressx::proxy;

namespace {

std::string sample(const std::string& name) {
  return testing::read_sample("proxy", name);
}

// Captured with nginx on 127.0.0.1:51581 and [::1]:51581, HAProxy on 127.0.0.1:51582.
constexpr int kNginx = 51581, kHaproxy = 51582;

}  // namespace

TEST_CASE("proc/net/tcp: parses a captured table") {
  auto s = parse_proc_net_tcp(sample("proc_net_tcp.txt"), false, "tcp");
  REQUIRE(s.size() == 9);
  CHECK(s[0].local_address == "127.0.0.1");
  CHECK(s[0].local_port == kHaproxy);
  CHECK(s[0].state == 0x0A);
  CHECK(s[0].inode == 58475);
  CHECK(s[6].remote_port == 48906);
  CHECK(s[4].state == 0x06);  // TIME_WAIT
  CHECK(count_established(s, {kNginx}) == 2);
  CHECK(count_established(s, {kHaproxy}) == 1);
  CHECK(count_established(s, {kNginx, kHaproxy}) == 3);
  CHECK(listen_ports(s) == std::set<int>{kNginx, kHaproxy});
  CHECK(listen_ports(s, {58460}) == std::set<int>{kNginx});
}

TEST_CASE("proc/net/tcp6: parses a captured table") {
  auto s = parse_proc_net_tcp(sample("proc_net_tcp6.txt"), true, "tcp6");
  REQUIRE(s.size() == 3);
  CHECK(s[0].local_address == "::1");
  CHECK(s[0].remote_address == "::");
  CHECK(count_established(s, {kNginx}) == 1);
  CHECK(listen_ports(s) == std::set<int>{kNginx});
}

TEST_CASE("proc/net/tcp: malformed input is a clear error") {
  const std::string header =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
      "inode\n";
  auto fails_with = [&](const std::string& body, const std::string& what) {
    try {
      parse_proc_net_tcp(header + body, false, "/proc/net/tcp");
      FAIL("no error for " << body);
    } catch (const Error& e) {
      CHECK(e.kind() == Error::Kind::kDecode);
      CHECK_THAT(e.what(), Catch::Contains("/proc/net/tcp line 2") && Catch::Contains(what));
    }
  };
  fails_with("   0: 0100007F:1F90 00000000:0000 0A\n", "at least 10 columns");
  fails_with("   0: 0100007F1F90 00000000:0000 0A 0:0 00:0 0 0 0 1 1\n", "ADDRESS:PORT");
  fails_with("   0: 0100ZZ7F:1F90 00000000:0000 0A 0:0 00:0 0 0 0 1 1\n", "hex");
  fails_with("   0: 0100007F:1F90 00000000:0000 0A 0:0 00:0 0 0 0 x1 1\n", "inode");
  fails_with("   0: 01007F:1F90 00000000:0000 0A 0:0 00:0 0 0 0 1 1\n", "8 hex digits");
  fails_with("   0: 0100007F:FFFFF 00000000:0000 0A 0:0 00:0 0 0 0 1 1\n", "port out of range");
  CHECK_THROWS_WITH(parse_proc_net_tcp("garbage\n", false, "x"), Catch::Contains("header"));
  CHECK(parse_proc_net_tcp("", false, "x").empty());
}

TEST_CASE("proc/net/tcp: counts a live connection and attributes the listener to this process") {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(server, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(server, 4) == 0);
  socklen_t len = sizeof a;
  getsockname(server, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  int accepted = accept(server, nullptr, nullptr);

  auto sockets = read_sockets();
  CHECK(count_established(sockets, {port}) == 1);  // the server side only
  CHECK(listen_ports(sockets).count(port) == 1);
  auto mine = socket_inodes({static_cast<int>(getpid())});
  CHECK(listen_ports(sockets, mine).count(port) == 1);

  close(accepted);
  close(client);
  close(server);
  CHECK(count_established(read_sockets(), {port}) == 0);
}
