// Client behaviour over a scripted fake transport: headers, verbs, retries, auth refresh,
// paging, watches and discovery. No sockets, no sleeping (FakeClock).
#include "ingressx/core/client.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <deque>
#include <filesystem>
#include <fstream>

#include "../../core/src/auth.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"
#include "ingressx/core/http.h"
#include "ingressx/core/process.h"

using namespace ingressx;
using namespace std::chrono_literals;

namespace {

struct Script {
  std::deque<HttpResponse> responses;           // for send() and stream()
  std::deque<std::vector<std::string>> chunks;  // body chunks of 2xx streams
  std::vector<HttpRequest> requests;
  std::deque<bool> transport_failures;  // true: fail the next send, "sent" flag as value
};

class FakeTransport : public HttpTransport {
 public:
  explicit FakeTransport(Script& s) : s_(s) {}
  HttpResponse send(const HttpRequest& req) override {
    s_.requests.push_back(req);
    if (!s_.transport_failures.empty()) {
      bool sent = s_.transport_failures.front();
      s_.transport_failures.pop_front();
      throw TransportError(req.method + " " + req.url + ": Connection refused", sent);
    }
    REQUIRE_FALSE(s_.responses.empty());
    HttpResponse r = s_.responses.front();
    s_.responses.pop_front();
    return r;
  }
  HttpResponse stream(const HttpRequest& req, const ChunkHandler& on_chunk,
                      const std::function<bool()>&) override {
    HttpResponse r = send(req);
    if (r.status == 200 && !s_.chunks.empty()) {
      for (const auto& c : s_.chunks.front())
        if (!on_chunk(c.data(), c.size())) break;
      s_.chunks.pop_front();
    }
    return r;
  }

 private:
  Script& s_;
};

class FakeRunner : public ProcessRunner {
 public:
  std::vector<ProcessSpec> runs;
  std::deque<ProcessResult> results;
  ProcessResult run(const ProcessSpec& spec) override {
    runs.push_back(spec);
    REQUIRE_FALSE(results.empty());
    ProcessResult r = results.front();
    results.pop_front();
    return r;
  }
};

HttpResponse ok(const json& body) {
  return {200, {{"content-type", "application/json"}}, body.dump()};
}
HttpResponse status(int code, const std::string& reason = "",
                    std::map<std::string, std::string> h = {}) {
  return {code, std::move(h),
          json{{"kind", "Status"},
               {"status", "Failure"},
               {"reason", reason},
               {"message", "scripted"},
               {"code", code}}
              .dump()};
}

std::string header(const HttpRequest& r, const std::string& name, int nth = 0) {
  for (const auto& [k, v] : r.headers)
    if (k == name && nth-- == 0) return v;
  return "";
}

RestConfig config() {
  RestConfig c;
  c.server = "https://k8s.test:6443/";
  c.token = "static-token";
  return c;
}

struct Fixture {
  Script script;
  FakeRunner runner;
  FakeClock clock;
  std::unique_ptr<Client> client;
  explicit Fixture(RestConfig cfg = config()) {
    client = std::make_unique<Client>(std::move(cfg), std::make_unique<FakeTransport>(script),
                                      &runner, &clock);
  }
  const HttpRequest& last() const { return script.requests.back(); }
};

json cm(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}};
}

std::string exec_output(const std::string& token, const std::string& expiry = "") {
  json status = {{"token", token}};
  if (!expiry.empty()) status["expirationTimestamp"] = expiry;
  return json{{"apiVersion", "client.authentication.k8s.io/v1"},
              {"kind", "ExecCredential"},
              {"status", status}}
      .dump();
}

}  // namespace

TEST_CASE("requests carry the standard headers, auth and impersonation", "[client][fake]") {
  RestConfig cfg = config();
  cfg.impersonate_user = "jane";
  cfg.impersonate_groups = {"devs", "ops"};
  Fixture f(cfg);
  f.script.responses = {ok(cm("a"))};
  f.client->get(refs::kConfigMaps, "ns", "a");
  const HttpRequest& r = f.last();
  CHECK(r.method == "GET");
  CHECK(r.url == "https://k8s.test:6443/api/v1/namespaces/ns/configmaps/a");
  CHECK(header(r, "Accept") == "application/json");
  CHECK(header(r, "User-Agent") == "ingressx/0.1");
  CHECK(header(r, "Authorization") == "Bearer static-token");
  CHECK(header(r, "Impersonate-User") == "jane");
  CHECK(header(r, "Impersonate-Group", 0) == "devs");
  CHECK(header(r, "Impersonate-Group", 1) == "ops");
  CHECK(header(r, "Content-Type").empty());
  CHECK(f.client->default_namespace() == "default");
  CHECK(f.client->config().server == "https://k8s.test:6443");
}

TEST_CASE("basic auth is encoded", "[client][fake]") {
  RestConfig cfg = config();
  cfg.token.clear();
  cfg.username = "admin";
  cfg.password = "s3cret";
  Fixture f(cfg);
  f.script.responses = {ok(json::object())};
  f.client->raw("GET", "/version");
  CHECK(header(f.last(), "Authorization") == "Basic YWRtaW46czNjcmV0");
}

TEST_CASE("patch types, update_status and apply build the right requests", "[client][fake]") {
  Fixture f;
  for (int i = 0; i < 5; ++i) f.script.responses.push_back(ok(cm("a")));
  f.client->patch(refs::kConfigMaps, "ns", "a", PatchType::kJson, json::array());
  CHECK(f.last().method == "PATCH");
  CHECK(header(f.last(), "Content-Type") == "application/json-patch+json");
  f.client->patch(refs::kDeployments, "ns", "d", PatchType::kStrategicMerge, json::object(),
                  "scale");
  CHECK(f.last().url == "https://k8s.test:6443/apis/apps/v1/namespaces/ns/deployments/d/scale");
  CHECK(header(f.last(), "Content-Type") == "application/strategic-merge-patch+json");

  f.client->update_status(refs::kConfigMaps, "ns", cm("a"));
  CHECK(f.last().method == "PUT");
  CHECK(f.last().url == "https://k8s.test:6443/api/v1/namespaces/ns/configmaps/a/status");

  json bare = {{"metadata", {{"name", "a"}}}, {"data", {{"k", "v"}}}};
  f.client->apply(refs::kConfigMaps, "ns", bare, "ingressx", true);
  CHECK(f.last().url ==
        "https://k8s.test:6443/api/v1/namespaces/ns/configmaps/a?fieldManager=ingressx&force=true");
  CHECK(header(f.last(), "Content-Type") == "application/apply-patch+yaml");
  json sent = json::parse(f.last().body);
  CHECK(sent["apiVersion"] == "v1");
  CHECK(sent["kind"] == "ConfigMap");

  // Without force there is no force parameter; the object's namespace fills an empty ns.
  json placed = cm("b");
  placed["metadata"]["namespace"] = "elsewhere";
  f.client->apply(refs::kConfigMaps, "", placed, "ingressx");
  CHECK(f.last().url ==
        "https://k8s.test:6443/api/v1/namespaces/elsewhere/configmaps/b?fieldManager=ingressx");

  CHECK_THROWS_MATCHES(f.client->apply(refs::kConfigMaps, "ns", bare, ""), Error,
                       Catch::Matchers::Predicate<Error>(
                           [](const Error& e) { return e.kind() == Error::Kind::kInvalidInput; }));
  CHECK_THROWS_AS(f.client->update(refs::kConfigMaps, "ns", json::object()), Error);
}

TEST_CASE("remove sends DeleteOptions and returns false on 404", "[client][fake]") {
  Fixture f;
  f.script.responses = {ok({{"kind", "Status"}, {"status", "Success"}}), status(404, "NotFound"),
                        status(403, "Forbidden")};
  CHECK(f.client->remove(refs::kConfigMaps, "ns", "a", "Foreground"));
  CHECK(f.last().method == "DELETE");
  CHECK(json::parse(f.last().body)["propagationPolicy"] == "Foreground");
  CHECK_FALSE(f.client->remove(refs::kConfigMaps, "ns", "a"));
  CHECK_THROWS_AS(f.client->remove(refs::kConfigMaps, "ns", "a"), Error);
}

TEST_CASE("try_get turns only HTTP 404 into nullopt", "[client][fake]") {
  Fixture f;
  f.script.responses = {status(404, "NotFound"), status(500, "InternalError")};
  f.client->set_retry_policy({1, 1ms, 1ms});
  CHECK_FALSE(f.client->try_get(refs::kConfigMaps, "ns", "a").has_value());
  CHECK_THROWS_AS(f.client->try_get(refs::kConfigMaps, "ns", "a"), Error);
}

TEST_CASE("throttling and 5xx are retried with backoff", "[client][fake][retry]") {
  Fixture f;
  f.script.responses = {status(429, "TooManyRequests", {{"retry-after", "3"}}),
                        status(503, "ServiceUnavailable"), ok(cm("a"))};
  auto t0 = f.clock.now();
  CHECK(f.client->get(refs::kConfigMaps, "ns", "a")["metadata"]["name"] == "a");
  CHECK(f.client->stats().retries == 2);
  CHECK(f.client->stats().requests == 3);
  // 3 s from Retry-After, then a backoff of at most 400 ms.
  CHECK(f.clock.now() - t0 >= 3s);
  CHECK(f.clock.now() - t0 <= 3400ms);
}

TEST_CASE("Retry-After is capped by the policy's max delay", "[client][fake][retry]") {
  Fixture f;
  f.client->set_retry_policy({3, 10ms, 500ms});
  f.script.responses = {status(429, "", {{"retry-after", "60"}}), ok(cm("a"))};
  auto t0 = f.clock.now();
  f.client->get(refs::kConfigMaps, "ns", "a");
  CHECK(f.clock.now() - t0 == 500ms);
}

TEST_CASE("a create is retried on 429 but not on 500", "[client][fake][retry]") {
  Fixture f;
  f.script.responses = {status(429), ok(cm("a")), status(500, "InternalError")};
  f.client->create(refs::kConfigMaps, "ns", cm("a"));
  CHECK(f.client->stats().retries == 1);
  CHECK_THROWS_AS(f.client->create(refs::kConfigMaps, "ns", cm("a")), Error);
  CHECK(f.client->stats().retries == 1);
}

TEST_CASE("connection failures: idempotent verbs retry, creates only if nothing was sent",
          "[client][fake][retry]") {
  Fixture f;
  f.client->set_retry_policy({3, 10ms, 100ms});
  f.script.transport_failures = {true, true};
  f.script.responses = {ok(cm("a"))};
  f.client->get(refs::kConfigMaps, "ns", "a");
  CHECK(f.client->stats().retries == 2);

  f.script.transport_failures = {false};
  f.script.responses = {ok(cm("a"))};
  f.client->create(refs::kConfigMaps, "ns", cm("a"));  // connect refused: safe to resend

  f.script.transport_failures = {true};
  CHECK_THROWS_AS(f.client->create(refs::kConfigMaps, "ns", cm("a")), TransportError);

  f.script.transport_failures = {true, true, true};
  try {
    f.client->get(refs::kConfigMaps, "ns", "a");
    FAIL("three failures with max_attempts 3 succeeded");
  } catch (const Error& e) {
    CHECK(e.kind() == Error::Kind::kTransport);
    CHECK_THAT(e.what(),
               Catch::Contains("https://k8s.test:6443/api/v1/namespaces/ns/configmaps/a"));
  }
}

TEST_CASE("a garbage 2xx body is a decode error naming the URL", "[client][fake]") {
  Fixture f;
  f.script.responses = {{200, {}, "<html>proxy login</html>"}};
  try {
    f.client->get(refs::kPods, "ns", "p");
    FAIL("decoded garbage");
  } catch (const Error& e) {
    CHECK(e.kind() == Error::Kind::kDecode);
    CHECK(std::string(e.what()) ==
          "GET https://k8s.test:6443/api/v1/namespaces/ns/pods/p: response is not JSON: "
          "<html>proxy login</html>");
  }
  f.script.responses = {{200, {{"content-type", "text/plain"}}, "ok"}};
  CHECK(f.client->raw("GET", "/healthz") == json("ok"));
}

TEST_CASE("list_all follows continue tokens and restarts once on 410", "[client][fake]") {
  Fixture f;
  auto page = [](std::vector<std::string> names, const std::string& cont, const std::string& rv) {
    json items = json::array();
    for (auto& n : names) items.push_back(cm(n));
    return ok({{"apiVersion", "v1"},
               {"kind", "ConfigMapList"},
               {"metadata", {{"resourceVersion", rv}, {"continue", cont}}},
               {"items", items}});
  };
  f.script.responses = {page({"a", "b"}, "t1", "10"), status(410, "Expired"),
                        page({"a", "b"}, "t2", "20"), page({"c"}, "", "20")};
  ListOptions o;
  o.limit = 2;
  o.resource_version = "0";
  json all = f.client->list_all(refs::kConfigMaps, "ns", o);
  CHECK(all["items"].size() == 3);
  CHECK(all["metadata"]["resourceVersion"] == "20");
  CHECK(all["kind"] == "ConfigMapList");
  CHECK(f.script.requests[0].url ==
        "https://k8s.test:6443/api/v1/namespaces/ns/configmaps?limit=2&resourceVersion=0");
  CHECK(f.script.requests[1].url ==
        "https://k8s.test:6443/api/v1/namespaces/ns/configmaps?limit=2&continue=t1");
  CHECK(f.script.requests[3].url ==
        "https://k8s.test:6443/api/v1/namespaces/ns/configmaps?limit=2&continue=t2");

  f.script.responses = {page({"a"}, "t1", "1"), status(410), page({"a"}, "t2", "2"), status(410)};
  CHECK_THROWS_MATCHES(
      f.client->list_all(refs::kConfigMaps, "ns", o), Error,
      Catch::Matchers::Predicate<Error>([](const Error& e) { return e.is_gone(); }));
}

TEST_CASE("exec plugin credentials are cached until expiry and refreshed on 401",
          "[client][fake][auth]") {
  RestConfig cfg = config();
  cfg.token.clear();
  cfg.exec = ExecConfig{"client.authentication.k8s.io/v1",
                        "get-token",
                        {"--cluster", "x"},
                        {{"REGION", "eu"}},
                        "Never",
                        false};
  Fixture f(cfg);
  auto expiry = [&](std::chrono::seconds in) { return format_time(f.clock.wall_now() + in); };
  f.runner.results = {{0, exec_output("t1", expiry(600s)), ""}};
  f.script.responses = {ok(cm("a")), ok(cm("a"))};
  f.client->get(refs::kConfigMaps, "ns", "a");
  f.client->get(refs::kConfigMaps, "ns", "a");
  REQUIRE(f.runner.runs.size() == 1);
  CHECK(f.runner.runs[0].argv == std::vector<std::string>{"get-token", "--cluster", "x"});
  CHECK(f.runner.runs[0].extra_env.at("REGION") == "eu");
  json info = json::parse(f.runner.runs[0].extra_env.at("KUBERNETES_EXEC_INFO"));
  CHECK(info["spec"]["interactive"] == false);
  CHECK(header(f.last(), "Authorization") == "Bearer t1");

  // Expired: the plugin runs again.
  f.clock.advance(601s);
  f.runner.results = {{0, exec_output("t2", expiry(600s)), ""}};
  f.script.responses = {ok(cm("a"))};
  f.client->get(refs::kConfigMaps, "ns", "a");
  CHECK(header(f.last(), "Authorization") == "Bearer t2");

  // A 401 re-runs the plugin once and retries; a second 401 is the answer.
  f.runner.results = {{0, exec_output("t3"), ""}, {0, exec_output("t4"), ""}};
  f.script.responses = {status(401, "Unauthorized"), ok(cm("a"))};
  f.client->get(refs::kConfigMaps, "ns", "a");
  CHECK(header(f.last(), "Authorization") == "Bearer t3");
  f.script.responses = {status(401, "Unauthorized"), status(401, "Unauthorized")};
  CHECK_THROWS_AS(f.client->get(refs::kConfigMaps, "ns", "a"), Error);
  CHECK(f.client->stats().exec_plugin_runs == 4);
}

TEST_CASE("a failing exec plugin names the command and its stderr", "[client][fake][auth]") {
  RestConfig cfg = config();
  cfg.exec = ExecConfig{"client.authentication.k8s.io/v1", "aws-auth", {}, {}, "", false};
  Fixture f(cfg);
  f.runner.results = {{3, "", "error: SSO session expired\nrun aws sso login\n"}};
  try {
    f.client->get(refs::kConfigMaps, "ns", "a");
    FAIL("request without credentials succeeded");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) ==
          "exec plugin \"aws-auth\" exited with code 3: error: SSO session expired");
  }
  CHECK(f.script.requests.empty());
}

TEST_CASE("the token file is re-read at most once a minute", "[client][fake][auth]") {
  auto path =
      std::filesystem::temp_directory_path() / ("ingressx-token-" + std::to_string(::getpid()));
  std::ofstream(path) << "first\n";
  RestConfig cfg = config();
  cfg.token_file = path.string();
  FakeRunner runner;
  FakeClock clock;
  detail::Authenticator auth(cfg, runner, clock);
  CHECK(auth.credentials().headers.at(0).second == "Bearer first");
  std::ofstream(path) << "second\n";
  clock.advance(59s);
  CHECK(auth.credentials().headers.at(0).second == "Bearer first");
  clock.advance(2s);
  CHECK(auth.credentials().headers.at(0).second == "Bearer second");
  // After a 401 the file is read again at once.
  std::ofstream(path) << "third\n";
  CHECK(auth.invalidate(auth.credentials()));
  CHECK(auth.credentials().headers.at(0).second == "Bearer third");
  // A vanished file keeps the last good token.
  std::filesystem::remove(path);
  clock.advance(61s);
  CHECK(auth.credentials().headers.at(0).second == "Bearer third");

  RestConfig missing = config();
  missing.token_file = path.string();
  detail::Authenticator auth2(missing, runner, clock);
  CHECK_THROWS_WITH(auth2.credentials(), Catch::Contains(path.string()));
  // Static credentials cannot be refreshed.
  detail::Authenticator plain(config(), runner, clock);
  CHECK_FALSE(plain.invalidate(plain.credentials()));
}

TEST_CASE("watch splits events across chunks and stops when asked", "[client][fake][watch]") {
  Fixture f;
  f.script.responses = {ok(json::object())};
  std::string e1 = R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})";
  std::string e2 = R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}})";
  std::string text = e1 + "\n" + e2 + "\n";
  f.script.chunks = {{text.substr(0, 10), text.substr(10, 50), text.substr(60)}};
  std::vector<WatchEvent> got;
  ListOptions o;
  o.resource_version = "5";
  o.allow_watch_bookmarks = true;
  o.timeout_seconds = 30;
  f.client->watch(
      refs::kConfigMaps, "ns", o,
      [&](const WatchEvent& e) {
        got.push_back(e);
        return true;
      },
      [] { return false; });
  REQUIRE(got.size() == 2);
  CHECK(got[0].type == "ADDED");
  CHECK(got[0].object["metadata"]["name"] == "a");
  CHECK(got[1].type == "BOOKMARK");
  CHECK(f.last().url ==
        "https://k8s.test:6443/api/v1/namespaces/ns/configmaps?watch=1&"
        "resourceVersion=5&allowWatchBookmarks=true&timeoutSeconds=30");

  f.script.responses = {ok(json::object())};
  f.script.chunks = {{text}};
  int n = 0;
  f.client->watch(
      refs::kConfigMaps, "ns", {}, [&](const WatchEvent&) { return ++n < 1; },
      [] { return false; });
  CHECK(n == 1);
}

TEST_CASE("watch reports 410 from an ERROR event and from the HTTP status",
          "[client][fake][watch]") {
  Fixture f;
  f.script.responses = {ok(json::object()), status(410, "Gone"), status(403, "Forbidden")};
  f.script.chunks = {
      {R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}})"
       "\n"}};
  auto run = [&] {
    f.client->watch(
        refs::kConfigMaps, "ns", {}, [](const WatchEvent&) { return true; }, [] { return false; });
  };
  try {
    run();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.is_gone());
    CHECK(e.reason() == "Expired");
    CHECK_THAT(e.what(), Catch::Contains("too old resource version"));
  }
  CHECK_THROWS_MATCHES(
      run(), Error, Catch::Matchers::Predicate<Error>([](const Error& e) { return e.is_gone(); }));
  CHECK_THROWS_MATCHES(run(), Error, Catch::Matchers::Predicate<Error>([](const Error& e) {
                         return e.http_status() == 403;
                       }));
}

TEST_CASE("resolve uses discovery, caches it and refreshes on a miss",
          "[client][fake][discovery]") {
  Fixture f;
  json apps = {
      {"kind", "APIResourceList"},
      {"groupVersion", "apps/v1"},
      {"resources",
       json::array({{{"name", "deployments"}, {"namespaced", true}, {"kind", "Deployment"}},
                    {{"name", "deployments/scale"},
                     {"namespaced", true},
                     {"kind", "Scale"},
                     {"group", "autoscaling"}}})}};
  json apps2 = apps;
  apps2["resources"].push_back(
      {{"name", "statefulsets"}, {"namespaced", true}, {"kind", "StatefulSet"}});
  f.script.responses = {ok(apps), ok(apps2), ok(apps2), status(404, "NotFound")};
  ResourceRef d = f.client->resolve("apps/v1", "Deployment");
  CHECK(f.last().url == "https://k8s.test:6443/apis/apps/v1");
  CHECK(d.group == "apps");
  CHECK(d.version == "v1");
  CHECK(d.resource == "deployments");
  CHECK(d.namespaced);
  CHECK(d.kind == "Deployment");
  f.client->resolve("apps/v1", "Deployment");
  CHECK(f.script.requests.size() == 1);                                           // cached
  CHECK(f.client->resolve("apps/v1", "StatefulSet").resource == "statefulsets");  // refreshed
  CHECK(f.script.requests.size() == 2);
  // Subresources are not resources; an unknown kind is NotFound after one refresh.
  try {
    f.client->resolve("apps/v1", "Scale");
    FAIL("resolved a subresource");
  } catch (const Error& e) {
    CHECK(e.kind() == Error::Kind::kNotFound);
    CHECK(std::string(e.what()) == "no resource for kind Scale in apiVersion apps/v1");
  }
  CHECK_THROWS_AS(f.client->resolve("nope.io/v1", "Thing"), Error);
  CHECK(f.last().url == "https://k8s.test:6443/apis/nope.io/v1");
}

TEST_CASE("a call's deadline bounds every attempt and wait", "[client][fake][retry][faults]") {
  Fixture f;
  RetryPolicy p;
  p.max_attempts = 20;
  p.base_delay = 1s;
  p.max_delay = 2s;
  p.deadline = 5s;
  f.client->set_retry_policy(p);
  for (int i = 0; i < 20; ++i) f.script.responses.push_back(status(500, "InternalError"));
  const auto t0 = f.clock.now();
  CHECK_THROWS_AS(f.client->get(refs::kConfigMaps, "ns", "a"), Error);
  // Stopped retrying within the deadline, long before max_attempts.
  CHECK(f.clock.now() - t0 <= 5s);
  CHECK(f.client->stats().requests < 20);
  // Each attempt's timeout is what was left of the deadline.
  for (const auto& r : f.script.requests) {
    CHECK(r.timeout.count() > 0);
    CHECK(r.timeout <= 5s);
  }
  CHECK(f.script.requests.back().timeout < f.script.requests.front().timeout);
}

TEST_CASE("a patch made conditional by resourceVersion is retried on 5xx; a plain one is not",
          "[client][fake][retry][faults]") {
  Fixture f;
  f.client->set_retry_policy({3, 1ms, 1ms});
  const json cond = {{"metadata", {{"resourceVersion", "41"}}}, {"status", {{"phase", "Ready"}}}};
  f.script.responses = {status(500, "InternalError"), ok(cm("a"))};
  f.client->patch(refs::kConfigMaps, "ns", "a", PatchType::kMerge, cond, "status");
  CHECK(f.client->stats().retries == 1);
  f.script.responses = {status(500, "InternalError")};
  CHECK_THROWS_AS(f.client->patch(refs::kConfigMaps, "ns", "a", PatchType::kMerge,
                                  json{{"status", {{"phase", "Ready"}}}}, "status"),
                  Error);
  CHECK(f.client->stats().retries == 1);
  // The resourceVersion travels in the body, so the server can refuse a stale writer.
  CHECK(json::parse(f.script.requests[0].body)["metadata"]["resourceVersion"] == "41");
}

TEST_CASE("the write guard stops writes before they are sent, never reads",
          "[client][fake][faults]") {
  Fixture f;
  bool fenced = false;
  f.client->set_write_guard([&](const std::string& method, const std::string&) {
    if (fenced) throw Error(Error::Kind::kTransport, method + ": fenced");
  });
  f.script.responses = {ok(cm("a")), ok(cm("a"))};
  f.client->create(refs::kConfigMaps, "ns", cm("a"));
  fenced = true;
  const size_t sent = f.script.requests.size();
  CHECK_THROWS_WITH(f.client->create(refs::kConfigMaps, "ns", cm("a")), Catch::Contains("fenced"));
  CHECK_THROWS_AS(f.client->patch(refs::kConfigMaps, "ns", "a", PatchType::kMerge, json::object()),
                  Error);
  CHECK_THROWS_AS(f.client->remove(refs::kConfigMaps, "ns", "a"), Error);
  CHECK(f.script.requests.size() == sent);
  CHECK(f.client->get(refs::kConfigMaps, "ns", "a")["metadata"]["name"] == "a");
}
