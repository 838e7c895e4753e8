// The libcurl transport and the client's retries against a scripted HTTP server on
// 127.0.0.1 (tests/data/http/scripted_server.py). Loopback only, plain HTTP.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "ingressx/core/client.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"
#include "ingressx/core/http.h"

extern char** environ;

using namespace ingressx;
using namespace std::chrono_literals;

namespace {

// The server process; killed by PID when the test ends, passed or failed.
class ScriptedServer {
 public:
  ScriptedServer() {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::string script = std::string(INGRESSX_TEST_DATA) + "/http/scripted_server.py";
    const char* argv[] = {"python3", script.c_str(), nullptr};
    int rc = posix_spawnp(&pid_, "python3", &actions, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      pid_ = -1;
      ::close(fds[0]);
      FAIL("cannot start python3 " << script);
    }
    port_ = read_port(fds[0]);
    ::close(fds[0]);
    if (port_.empty()) FAIL("the scripted server did not report its port");
  }
  ~ScriptedServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + port_; }

 private:
  static std::string read_port(int fd) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[64];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    return line.substr(0, line.find('\n'));
  }

  pid_t pid_ = -1;
  std::string port_;
};

ScriptedServer& server() {
  static ScriptedServer s;  // one per test process; destroyed at exit
  return s;
}

RestConfig local_config() {
  RestConfig c;
  c.server = server().url();
  return c;
}

std::string unique_key() {
  static std::atomic<int> n{0};
  return std::to_string(::getpid()) + "-" + std::to_string(++n);
}

}  // namespace

TEST_CASE("loopback: a 429 with Retry-After is retried after the given delay",
          "[client][loopback]") {
  FakeClock clock;
  Client c(local_config(), nullptr, nullptr, &clock);
  auto t0 = clock.now();
  json j = c.raw("GET", "/retry-after/" + unique_key());
  CHECK(j["count"] == 2);
  CHECK(clock.now() - t0 >= 1s);
  CHECK(c.stats().retries == 1);
  CHECK(c.stats().requests == 2);
}

TEST_CASE("loopback: 503 twice then 200 succeeds with backoff", "[client][loopback]") {
  FakeClock clock;
  Client c(local_config(), nullptr, nullptr, &clock);
  json j = c.raw("GET", "/flaky/" + unique_key());
  CHECK(j["count"] == 3);
  CHECK(c.stats().retries == 2);

  c.set_retry_policy({2, 10ms, 10ms});
  try {
    c.raw("GET", "/always-503/" + unique_key());
    FAIL("503 forever succeeded");
  } catch (const Error& e) {
    CHECK(e.http_status() == 503);
    CHECK(e.reason() == "ServiceUnavailable");
    CHECK_THAT(e.what(), Catch::Contains("try later (ServiceUnavailable, HTTP 503)"));
  }
}

TEST_CASE("loopback: a garbage body and a Status body", "[client][loopback]") {
  Client c(local_config());
  try {
    c.get(refs::kConfigMaps, "ns", "x");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.is_not_found());
    CHECK_THAT(e.what(), Catch::StartsWith("GET " + server().url() + "/api/v1/namespaces/ns/"));
  }
  try {
    c.raw("GET", "/status/409");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.is_conflict());
    CHECK(std::string(e.what()) ==
          "GET " + server().url() + "/status/409: scripted failure (Conflict, HTTP 409)");
  }
  // raw() accepts text/html as a string only when it is not JSON; get() never does.
  CHECK(c.raw("GET", "/garbage") == json("<html>this is not json</html>"));
}

TEST_CASE("loopback: headers and bodies reach the server, and the connection is reused",
          "[client][loopback]") {
  RestConfig cfg = local_config();
  cfg.token = "tok";
  cfg.impersonate_groups = {"a", "b"};
  Client c(cfg);
  json first = c.raw("POST", "/echo", R"({"x":1})");
  json second = c.raw("PUT", "/echo", "{}");
  CHECK(first["method"] == "POST");
  CHECK(first["body"] == R"({"x":1})");
  std::multimap<std::string, std::string> h;
  for (auto& kv : first["headers"]) h.emplace(kv[0], kv[1]);
  CHECK(h.find("authorization")->second == "Bearer tok");
  CHECK(h.find("content-type")->second == "application/json");
  CHECK(h.find("user-agent")->second == "ingressx/0.1");
  CHECK(h.count("impersonate-group") == 2);
  CHECK(h.count("expect") == 0);
  CHECK(first["client_port"] == second["client_port"]);  // one kept-alive connection
}

TEST_CASE("loopback: a closed port is a transport error naming the URL", "[client][loopback]") {
  RestConfig cfg;
  cfg.server = "http://127.0.0.1:1";
  auto t = make_curl_transport(cfg);
  HttpRequest req;
  req.url = "http://127.0.0.1:1/api/v1/pods";
  try {
    t->send(req);
    FAIL("connected to port 1");
  } catch (const TransportError& e) {
    CHECK(e.kind() == Error::Kind::kTransport);
    CHECK_FALSE(e.request_sent());
    CHECK_THAT(e.what(), Catch::StartsWith("GET http://127.0.0.1:1/api/v1/pods: "));
  }
}

TEST_CASE("loopback: watch events split across chunks and ERROR 410", "[client][loopback]") {
  Client c(local_config());
  ResourceRef split{"", "v1", "split", false, "Split"};
  std::vector<std::string> types;
  c.watch(
      split, "", {},
      [&](const WatchEvent& e) {
        types.push_back(e.type);
        return true;
      },
      [] { return false; });
  CHECK(types == std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"});

  ResourceRef gone{"", "v1", "gone", false, "Gone"};
  try {
    c.watch(
        gone, "", {}, [](const WatchEvent&) { return true; }, [] { return false; });
    FAIL("no 410");
  } catch (const Error& e) {
    CHECK(e.is_gone());
    CHECK(e.reason() == "Expired");
  }
}

TEST_CASE("loopback: a quiet watch stops within 200 ms of cancellation", "[client][loopback]") {
  Client c(local_config());
  ResourceRef hold{"", "v1", "hold", false, "Hold"};
  std::atomic<bool> cancel{false};
  std::atomic<int> events{0};
  std::chrono::steady_clock::time_point returned;
  std::thread t([&] {
    c.watch(
        hold, "", {},
        [&](const WatchEvent&) {
          ++events;
          return true;
        },
        [&] { return cancel.load(); });
    returned = std::chrono::steady_clock::now();
  });
  for (int i = 0; i < 100 && events == 0; ++i) std::this_thread::sleep_for(20ms);
  std::this_thread::sleep_for(150ms);
  auto cancelled_at = std::chrono::steady_clock::now();
  cancel = true;
  t.join();
  CHECK(events == 1);
  CHECK(returned - cancelled_at < 200ms);

  // on_event returning false ends the stream too.
  auto t0 = std::chrono::steady_clock::now();
  c.watch(
      hold, "", {}, [](const WatchEvent&) { return false; }, [] { return false; });
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
}
