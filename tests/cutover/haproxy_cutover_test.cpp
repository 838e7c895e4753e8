// The HAProxy cutover provider against a real HAProxy (Debian package) in front of two
// nginx backends on loopback, plus its "show servers state" parser on captured answers.
// Every process the test starts is killed by its PID (process group) when the lab goes
// away, also when an assertion fails.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child.h"
#include "cutover/cutover_haproxy.h"
#include "ingressx/core/error.h"
#include "ingressx/operator/cutover.h"

namespace {

using namespace std::chrono_literals;
using hooktest::Child;
using ingressx::op::TrafficSplit;
using ingressx::op::TrafficTarget;

// ---------------------------------------------------------------------------------------
// Loopback helpers

int connect_loopback(int port, std::chrono::milliseconds timeout) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(s);
    return -1;
  }
  return s;
}

// Sends `data`, returns everything read until the peer closes ("" on connect failure).
std::string exchange(int port, const std::string& data) {
  int s = connect_loopback(port, 5s);
  if (s < 0) return "";
  send(s, data.data(), data.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = recv(s, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(s);
  return out;
}

// One HTTP/1.0 GET /; the body on a 200, else "status: <status line>".
std::string get_body(int port) {
  auto r = exchange(port, "GET / HTTP/1.0\r\nHost: test\r\n\r\n");
  auto eol = r.find("\r\n");
  auto status = r.substr(0, eol);
  if (status.find(" 200 ") == std::string::npos) return "status: " + status;
  auto body = r.find("\r\n\r\n");
  return body == std::string::npos ? "no body" : r.substr(body + 4);
}

struct Counts {
  int a = 0, b = 0, other = 0;
  std::string first_other;
};

Counts send_requests(int port, int n) {
  Counts c;
  for (int i = 0; i < n; ++i) {
    auto body = get_body(port);
    if (body == "a") {
      ++c.a;
    } else if (body == "b") {
      ++c.b;
    } else {
      if (c.other++ == 0) c.first_other = body;
    }
  }
  return c;
}

// ---------------------------------------------------------------------------------------
// The lab: nginx "a" and "b", HAProxy with backend "edge" and two placeholder servers.

std::string nginx_conf(const std::string& dir, int port, const std::string& body) {
  return "daemon off;\nmaster_process off;\npid " + dir + "/nginx.pid;\nerror_log " + dir +
         "/error.log notice;\nevents { worker_connections 256; }\n"
         "http {\n  access_log off;\n  client_body_temp_path " +
         dir + "/body;\n  proxy_temp_path " + dir + "/proxy;\n  fastcgi_temp_path " + dir +
         "/fcgi;\n  uwsgi_temp_path " + dir + "/uwsgi;\n  scgi_temp_path " + dir +
         "/scgi;\n  server {\n    listen 127.0.0.1:" + std::to_string(port) +
         ";\n    location / { default_type text/plain; return 200 \"" + body + "\"; }\n  }\n}\n";
}

// With setpriv (util-linux) the kernel also kills the process when this test process
// dies without unwinding (a crash or abort), where Child's destructor cannot run.
std::vector<std::string> guarded(std::vector<std::string> argv) {
  std::string setpriv = INGRESSX_SETPRIV;
  if (!setpriv.empty()) argv.insert(argv.begin(), {setpriv, "--pdeathsig", "KILL"});
  return argv;
}

struct Lab {
  std::string dir = hooktest::make_temp_dir("ingressx-cutover-");
  int port_a = hooktest::free_port();
  int port_b = hooktest::free_port();
  int frontend = hooktest::free_port();
  int runtime = hooktest::free_port();
  std::unique_ptr<Child> nginx_a, nginx_b, haproxy;

  Lab() {
    try {
      nginx_a = start_nginx("a", port_a);
      nginx_b = start_nginx("b", port_b);
      hooktest::write_text(dir + "/haproxy.cfg", haproxy_cfg());
      haproxy = std::make_unique<Child>(
          guarded({INGRESSX_HAPROXY, "-db", "-f", dir + "/haproxy.cfg"}), dir + "/haproxy.out");
      if (!hooktest::wait_listening(frontend, 10s) || !hooktest::wait_listening(runtime, 10s))
        throw std::runtime_error("haproxy did not listen: " + haproxy->log());
    } catch (...) {
      teardown();
      throw;
    }
  }
  ~Lab() { teardown(); }
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  // Kills exactly the processes started here (each Child kills its own process group).
  void teardown() {
    haproxy.reset();
    nginx_a.reset();
    nginx_b.reset();
    hooktest::remove_tree(dir);
  }

  std::unique_ptr<Child> start_nginx(const std::string& name, int port) {
    std::string d = dir + "/" + name;
    mkdir(d.c_str(), 0755);
    hooktest::write_text(d + "/nginx.conf", nginx_conf(d, port, name));
    auto child = std::make_unique<Child>(
        guarded({INGRESSX_NGINX, "-p", d, "-c", d + "/nginx.conf", "-e", d + "/error.log"}),
        d + "/nginx.out");
    if (!hooktest::wait_listening(port, 10s))
      throw std::runtime_error("nginx " + name + " did not listen: " +
                               hooktest::read_text(d + "/error.log") + child->log());
    return child;
  }

  std::string haproxy_cfg() const {
    return "global\n  maxconn 500\n  stats socket ipv4@127.0.0.1:" + std::to_string(runtime) +
           " level admin\n"
           "defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n"
           "  timeout server 10s\n"
           "frontend fe\n  bind 127.0.0.1:" +
           std::to_string(frontend) +
           "\n  default_backend edge\n"
           "backend edge\n  balance roundrobin\n"
           "  server edge-primary 127.0.0.1:1 weight 0 disabled\n"
           "  server edge-temp 127.0.0.1:1 weight 0 disabled\n";
  }

  std::string runtime_api() const { return "127.0.0.1:" + std::to_string(runtime); }

  ingressx::op::HaproxyCutoverConfig config(const std::string& backend = "edge") const {
    ingressx::op::HaproxyCutoverConfig cfg;
    cfg.runtime_api = runtime_api();
    cfg.backend = backend;
    cfg.servers = {{"primary", "edge-primary"}, {"temp", "edge-temp"}};
    cfg.fleets = {{"primary", "edge"}, {"temp", "edge-temp"}};
    cfg.timeout_ms = 2000;
    return cfg;
  }

  TrafficTarget primary(int weight) const {
    return {"edge", "primary", weight, "127.0.0.1", port_a};
  }
  TrafficTarget temp(int weight, bool with_address = true) const {
    if (!with_address) return {"edge-temp", "temp", weight, "", 0};
    return {"edge-temp", "temp", weight, "127.0.0.1", port_b};
  }

  // The raw server rows, straight from the runtime API (not through the provider).
  ingressx::op::haproxy::ServerState server(const std::string& name) const {
    auto rows = ingressx::op::haproxy::parse_servers_state(
        exchange(runtime, "show servers state edge\n"), "test");
    for (const auto& r : rows)
      if (r.name == name) return r;
    throw std::runtime_error("no server " + name);
  }
};

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ingressx::Error& e) {
    return e.what();
  }
  return "(no ingressx::Error thrown)";
}

// ---------------------------------------------------------------------------------------
// The parser, on an answer captured from HAProxy 2.6 (edge-primary ready at weight 100,
// edge-temp configured "disabled" and then set to drain).

const char* const kCaptured =
    "1\n"
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
    "srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
    "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
    "srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
    "srv_agent_port\n"
    "3 edge 1 edge-primary 127.0.0.2 2 4 100 0 2 1 0 0 8 0 0 0 - 8081 - 0 0 - - 0\n"
    "3 edge 2 edge-temp 127.0.0.1 2 12 0 0 1 1 0 0 8 0 0 0 - 1 - 0 0 - - 0\n"
    "\n";

TEST_CASE("haproxy servers state: captured answer", "[cutover][parse]") {
  auto rows = ingressx::op::haproxy::parse_servers_state(kCaptured, "sample");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].backend == "edge");
  CHECK(rows[0].name == "edge-primary");
  CHECK(rows[0].addr == "127.0.0.2");
  CHECK(rows[0].port == 8081);
  CHECK(rows[0].op_state == 2);
  CHECK(rows[0].admin_state == 4);  // CMAINT only: configured disabled, now ready
  CHECK_FALSE(rows[0].in_maint());
  CHECK_FALSE(rows[0].in_drain());
  CHECK(rows[0].uweight == 100);
  CHECK(rows[0].effective_weight() == 100);
  CHECK(rows[1].name == "edge-temp");
  CHECK(rows[1].admin_state == 12);  // CMAINT | FDRAIN
  CHECK(rows[1].in_drain());
  CHECK(rows[1].effective_weight() == 0);
}

TEST_CASE("haproxy servers state: columns found by name, maint and down count 0",
          "[cutover][parse]") {
  const char* text =
      "1\n# srv_port srv_uweight srv_name srv_admin_state srv_addr srv_op_state\n"
      "8080 30 a 0 10.0.0.1 2\n"
      "8080 40 b 1 10.0.0.2 0\n"   // FMAINT
      "8080 50 c 0 10.0.0.3 0\n"   // down
      "8080 60 d 32 10.0.0.4 2\n"  // RMAINT
      "- 70 e 64 10.0.0.5 2\n"     // HMAINT is not maintenance
      "8080 80 f 8 10.0.0.6 2\n";  // FDRAIN
  auto rows = ingressx::op::haproxy::parse_servers_state(text, "sample");
  REQUIRE(rows.size() == 6);
  CHECK(rows[0].name == "a");
  CHECK(rows[0].addr == "10.0.0.1");
  CHECK(rows[0].port == 8080);
  CHECK(rows[0].effective_weight() == 30);
  CHECK(rows[1].effective_weight() == 0);
  CHECK(rows[2].effective_weight() == 0);
  CHECK(rows[3].effective_weight() == 0);
  CHECK(rows[4].port == 0);
  CHECK(rows[4].effective_weight() == 70);
  CHECK(rows[5].in_drain());
  CHECK(rows[5].effective_weight() == 0);
}

TEST_CASE("haproxy servers state: errors name the source", "[cutover][parse]") {
  using ingressx::Error;
  using ingressx::op::haproxy::parse_servers_state;
  auto kind_of = [](const char* text) {
    try {
      parse_servers_state(text, "api 1.2.3.4:9999");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("api 1.2.3.4:9999") != std::string::npos);
      return e.kind();
    }
    return Error::Kind::kInternal;
  };
  CHECK(kind_of("Can't find backend.\n\n") == Error::Kind::kNotFound);
  CHECK(kind_of("") == Error::Kind::kDecode);
  CHECK(kind_of("Unknown command.\n") == Error::Kind::kDecode);
  CHECK(kind_of("2\n# srv_name\n") == Error::Kind::kDecode);
  CHECK(kind_of("1\n# srv_name srv_addr srv_op_state srv_uweight\n") == Error::Kind::kDecode);
  CHECK(kind_of("1\n# srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n"
                "a 10.0.0.1 2 x 5\n") == Error::Kind::kDecode);
  CHECK(kind_of("1\n# srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n"
                "a 10.0.0.1 2\n") == Error::Kind::kDecode);
}

TEST_CASE("haproxy command answers", "[cutover][parse]") {
  using ingressx::op::haproxy::is_error_answer;
  CHECK_FALSE(is_error_answer("set server b/s weight 10", "\n"));
  CHECK_FALSE(is_error_answer("set server b/s state ready", ""));
  CHECK(is_error_answer("set server b/s weight 300",
                        "Absolute weight can only be between 0 and 256 inclusive.\n\n"));
  CHECK(is_error_answer("set server b/s state ready", "No such server.\n\n"));
  CHECK(is_error_answer("set server b state ready", "Require 'backend/server'.\n\n"));
  CHECK_FALSE(is_error_answer("set server b/s addr 127.0.0.2 port 81",
                              "IP changed from '127.0.0.1' to '127.0.0.2', no need to change "
                              "the port by 'stats socket command'\n\n"));
  CHECK_FALSE(is_error_answer("set server b/s addr 127.0.0.1 port 81",
                              "no need to change the addr, port changed from '1' to '81' by "
                              "'stats socket command'\n\n"));
  CHECK(is_error_answer("set server b/s addr foo port 81",
                        "Invalid addr 'foo' by 'stats socket command'\n\n"));
  CHECK(is_error_answer("set server b/s addr 127.0.0.1 port 81", "No such backend.\n\n"));
}

// ---------------------------------------------------------------------------------------
// Against a real HAProxy

TEST_CASE("haproxy cutover: all traffic to primary, temp without address", "[cutover]") {
  Lab lab;
  auto p = ingressx::op::make_haproxy_cutover(lab.config());
  CHECK(p->name() == "haproxy " + lab.runtime_api() + " backend edge");
  CHECK(send_requests(lab.frontend, 1).other == 1);  // nothing configured yet: 503

  auto split = p->apply({lab.primary(100), lab.temp(0, false)});
  CHECK(split == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  CHECK(p->read() == split);
  CHECK(lab.server("edge-temp").in_maint());  // no address: maint, not drain
  CHECK(lab.server("edge-primary").port == lab.port_a);

  auto c = send_requests(lab.frontend, 100);
  INFO("first unexpected answer: " << c.first_other);
  CHECK(c.a == 100);
  CHECK(c.b == 0);
  CHECK(c.other == 0);
}

TEST_CASE("haproxy cutover: 20/80 split", "[cutover]") {
  Lab lab;
  auto p = ingressx::op::make_haproxy_cutover(lab.config());
  p->apply({lab.primary(100), lab.temp(0, false)});
  auto split = p->apply({lab.primary(20), lab.temp(80)});
  CHECK(split == TrafficSplit{{"edge", 20}, {"edge-temp", 80}});
  CHECK(p->read() == split);

  auto c = send_requests(lab.frontend, 200);
  INFO("a " << c.a << ", b " << c.b << ", other " << c.other << " " << c.first_other);
  CHECK(c.other == 0);
  CHECK(c.a > 0);
  CHECK(c.b >= 120);  // temp share between 60% and 95%
  CHECK(c.b <= 190);
}

TEST_CASE("haproxy cutover: apply is idempotent", "[cutover]") {
  Lab lab;
  auto p = ingressx::op::make_haproxy_cutover(lab.config());
  std::vector<TrafficTarget> targets{lab.primary(20), lab.temp(80)};
  auto first = p->apply(targets);
  auto second = p->apply(targets);
  CHECK(first == TrafficSplit{{"edge", 20}, {"edge-temp", 80}});
  CHECK(second == first);
  CHECK(p->read() == first);
  auto primary = lab.server("edge-primary");
  CHECK(primary.addr == "127.0.0.1");
  CHECK(primary.port == lab.port_a);
  CHECK(primary.uweight == 20);
  CHECK(lab.server("edge-temp").port == lab.port_b);

  // read() reports what HAProxy does, also after a change behind the provider's back.
  CHECK(exchange(lab.runtime, "set server edge/edge-temp state drain\n") == "\n");
  CHECK(p->read() == TrafficSplit{{"edge", 20}, {"edge-temp", 0}});
  CHECK(p->apply(targets) == first);
}

TEST_CASE("haproxy cutover: all traffic to temp, primary drained", "[cutover]") {
  Lab lab;
  auto p = ingressx::op::make_haproxy_cutover(lab.config());
  p->apply({lab.primary(20), lab.temp(80)});
  auto split = p->apply({lab.primary(0), lab.temp(100)});
  CHECK(split == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
  CHECK(p->read() == split);
  auto primary = lab.server("edge-primary");
  CHECK(primary.in_drain());  // it has an address: drain, not maint
  CHECK_FALSE(primary.in_maint());

  auto c = send_requests(lab.frontend, 100);
  INFO("first unexpected answer: " << c.first_other);
  CHECK(c.b == 100);
  CHECK(c.a == 0);
  CHECK(c.other == 0);
}

TEST_CASE("haproxy cutover: no request fails while traffic flips back and forth", "[cutover]") {
  Lab lab;
  auto p = ingressx::op::make_haproxy_cutover(lab.config());
  p->apply({lab.primary(100), lab.temp(0)});
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::string first_failure;
  std::thread load([&] {
    while (!stop) {
      auto body = get_body(lab.frontend);
      if (body == "a" || body == "b") {
        ++ok;
      } else if (failed++ == 0) {
        first_failure = body;
      }
    }
  });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } join{stop, load};
  for (int i = 0; i < 20; ++i) {
    bool to_temp = i % 2 == 0;
    p->apply({lab.primary(to_temp ? 0 : 100), lab.temp(to_temp ? 100 : 0)});
    std::this_thread::sleep_for(20ms);
  }
  stop = true;
  load.join();
  INFO("ok " << ok << ", failed " << failed << ", first failure: " << first_failure);
  CHECK(ok > 20);
  CHECK(failed == 0);
}

TEST_CASE("haproxy cutover: errors name the runtime API and what failed", "[cutover]") {
  Lab lab;

  SECTION("unknown backend") {
    auto p = ingressx::op::make_haproxy_cutover(lab.config("no-such-edge"));
    auto msg = what_of([&] { p->apply({lab.primary(100), lab.temp(0, false)}); });
    INFO(msg);
    CHECK(msg.find("no-such-edge") != std::string::npos);
    CHECK(msg.find(lab.runtime_api()) != std::string::npos);
    CHECK(msg.find("No such backend") != std::string::npos);
    auto read_msg = what_of([&] { p->read(); });
    INFO(read_msg);
    CHECK(read_msg.find("no-such-edge") != std::string::npos);
    CHECK(read_msg.find(lab.runtime_api()) != std::string::npos);
  }

  SECTION("unknown server") {
    auto cfg = lab.config();
    cfg.servers["temp"] = "edge-missing";
    auto p = ingressx::op::make_haproxy_cutover(cfg);
    auto msg = what_of([&] { p->apply({lab.temp(100)}); });
    INFO(msg);
    CHECK(msg.find("edge/edge-missing") != std::string::npos);
    CHECK(msg.find("No such server") != std::string::npos);
    auto read_msg = what_of([&] { p->read(); });
    INFO(read_msg);
    CHECK(read_msg.find("edge-missing") != std::string::npos);
  }

  SECTION("unknown role: nothing is changed") {
    auto p = ingressx::op::make_haproxy_cutover(lab.config());
    auto msg = what_of([&] { p->apply({lab.primary(100), {"edge-blue", "blue", 0, "", 0}}); });
    INFO(msg);
    CHECK(msg.find("blue") != std::string::npos);
    CHECK(p->read() == TrafficSplit{{"edge", 0}, {"edge-temp", 0}});
  }

  SECTION("HAProxy rejects an address") {
    auto p = ingressx::op::make_haproxy_cutover(lab.config());
    auto msg = what_of([&] { p->apply({{"edge", "primary", 100, "not-an-ip", 80}}); });
    INFO(msg);
    CHECK(msg.find("edge/edge-primary") != std::string::npos);
    CHECK(msg.find("Invalid addr") != std::string::npos);
  }

  SECTION("nothing listening on the runtime API port") {
    auto cfg = lab.config();
    cfg.runtime_api = "127.0.0.1:" + std::to_string(hooktest::free_port());
    auto p = ingressx::op::make_haproxy_cutover(cfg);
    auto start = std::chrono::steady_clock::now();
    auto msg = what_of([&] { p->apply({lab.primary(100), lab.temp(0, false)}); });
    auto took = std::chrono::steady_clock::now() - start;
    INFO(msg);
    CHECK(msg.find(cfg.runtime_api) != std::string::npos);
    CHECK(took < 5s);
    CHECK(what_of([&] { p->read(); }).find(cfg.runtime_api) != std::string::npos);
  }

  SECTION("runtime API that never answers: timeout") {
    // A listening socket nobody accepts on: connect succeeds, the answer never comes.
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(s, 8) == 0);
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    auto cfg = lab.config();
    cfg.runtime_api = "localhost:" + std::to_string(ntohs(a.sin_port));
    cfg.timeout_ms = 300;
    auto p = ingressx::op::make_haproxy_cutover(cfg);
    auto start = std::chrono::steady_clock::now();
    auto msg = what_of([&] { p->read(); });
    auto took = std::chrono::steady_clock::now() - start;
    close(s);
    INFO(msg);
    CHECK(msg.find(cfg.runtime_api) != std::string::npos);
    CHECK(msg.find("timed out") != std::string::npos);
    CHECK(took < 2s);
  }

  SECTION("bad configuration") {
    auto cfg = lab.config();
    cfg.runtime_api = "no-port";
    CHECK(what_of([&] { ingressx::op::make_haproxy_cutover(cfg); }).find("no-port") !=
          std::string::npos);
    cfg = lab.config();
    cfg.fleets.erase("temp");
    CHECK(what_of([&] { ingressx::op::make_haproxy_cutover(cfg); }).find("temp") !=
          std::string::npos);
    CHECK(what_of([&] {
            ingressx::op::make_haproxy_cutover(lab.config("edge; shutdown"));
          }).find("invalid backend") != std::string::npos);
    auto p = ingressx::op::make_haproxy_cutover(lab.config());
    CHECK(what_of([&] {
            p->apply({{"edge", "primary", 50, "127.0.0.1;set server edge/edge-temp", 80}});
          }).find("invalid address") != std::string::npos);
    CHECK(what_of([&] {
            p->apply({{"edge", "primary", 50, "", 0}});
          }).find("no address") != std::string::npos);
  }
}

}  // namespace
