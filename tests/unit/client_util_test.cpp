// The REST client's pure helpers: Retry-After, backoff, paths, query encoding, error mapping,
// ExecCredential parsing.
#include "../../core/src/client_util.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>

#include "../../core/src/auth.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"

using namespace ingressx;
using namespace std::chrono_literals;

TEST_CASE("parse_retry_after reads delta-seconds", "[client][retry]") {
  CHECK(parse_retry_after("1") == 1s);
  CHECK(parse_retry_after("120") == 120s);
  CHECK(parse_retry_after(" 7 ") == 7s);
  CHECK(parse_retry_after("0") == 0s);
}

TEST_CASE("parse_retry_after reads an HTTP-date relative to now", "[client][retry]") {
  // Sun, 06 Nov 1994 08:49:37 GMT
  auto date = std::chrono::system_clock::from_time_t(784111777);
  CHECK(detail::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date - 30s) == 30s);
  CHECK(detail::parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", date - 5s) == 5s);
  // A date in the past means "now".
  CHECK(detail::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date + 1h) == 0s);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT") == 0s);
}

TEST_CASE("parse_retry_after returns 0 for garbage", "[client][retry]") {
  CHECK(parse_retry_after("") == 0s);
  CHECK(parse_retry_after("soon") == 0s);
  CHECK(parse_retry_after("-1") == 0s);
  CHECK(parse_retry_after("1.5") == 0s);
  CHECK(parse_retry_after("99999999999999999999") == 0s);
  CHECK(parse_retry_after("Sun, 99 Nov 1994 garbage") == 0s);
}

TEST_CASE("backoff_delay doubles from the base delay up to the cap", "[client][retry]") {
  RetryPolicy p{10, 200ms, 10000ms};
  CHECK(backoff_delay(p, 1, 0.0) == 0ms);  // the first attempt does not wait
  CHECK(backoff_delay(p, 2, 0.0) == 200ms);
  CHECK(backoff_delay(p, 3, 0.0) == 400ms);
  CHECK(backoff_delay(p, 4, 0.0) == 800ms);
  CHECK(backoff_delay(p, 7, 0.0) == 6400ms);
  CHECK(backoff_delay(p, 8, 0.0) == 10000ms);
  CHECK(backoff_delay(p, 1000, 0.0) == 10000ms);  // no overflow
}

TEST_CASE("backoff_delay jitter stays within 20% below the nominal delay", "[client][retry]") {
  RetryPolicy p{10, 200ms, 10000ms};
  for (int attempt : {2, 3, 5, 8, 30}) {
    auto nominal = backoff_delay(p, attempt, 0.0);
    for (double j : {0.0, 0.25, 0.5, 0.75, 0.999999}) {
      auto d = backoff_delay(p, attempt, j);
      CHECK(d <= nominal);
      CHECK(d.count() >= nominal.count() * 8 / 10);
      CHECK(d <= p.max_delay);
    }
  }
  CHECK(backoff_delay(p, 2, 0.5) == 180ms);
  CHECK(backoff_delay(p, 2, 0.5) < backoff_delay(p, 2, 0.0));
}

TEST_CASE("ResourceRef::path builds collection and object paths", "[client][refs]") {
  CHECK(refs::kConfigMaps.path("default") == "/api/v1/namespaces/default/configmaps");
  CHECK(refs::kConfigMaps.path("default", "cm") == "/api/v1/namespaces/default/configmaps/cm");
  CHECK(refs::kConfigMaps.path("") == "/api/v1/configmaps");  // all namespaces
  CHECK(refs::kDeployments.path("web", "front") ==
        "/apis/apps/v1/namespaces/web/deployments/front");
  CHECK(refs::kLeases.path("kube-system") ==
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases");
  // Cluster-scoped: the namespace is ignored.
  CHECK(refs::kNamespaces.path("", "prod") == "/api/v1/namespaces/prod");
  CHECK(refs::kNamespaces.path("ignored", "prod") == "/api/v1/namespaces/prod");
  CHECK(refs::kCRDs.path("", "widgets.test.ingressx.io") ==
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.ingressx.io");
  ResourceRef fleets{"ingressx.io", "v1alpha1", "proxyfleets", true, "ProxyFleet"};
  CHECK(fleets.api_version() == "ingressx.io/v1alpha1");
  CHECK(fleets.path("edge", "nginx") ==
        "/apis/ingressx.io/v1alpha1/namespaces/edge/proxyfleets/nginx");
  CHECK(refs::kConfigMaps.api_version() == "v1");
  // Names with ':' (RBAC objects) stay readable; anything odd is escaped.
  ResourceRef roles{"rbac.authorization.k8s.io", "v1", "clusterroles", false, "ClusterRole"};
  CHECK(roles.path("", "system:node") ==
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node");
  CHECK(refs::kConfigMaps.path("ns", "a b/c") == "/api/v1/namespaces/ns/configmaps/a%20b%2Fc");
}

TEST_CASE("query parameters are percent-encoded", "[client][url]") {
  CHECK(detail::percent_encode("abc-_.~XYZ09") == "abc-_.~XYZ09");
  CHECK(detail::percent_encode("a b&c=d/e") == "a%20b%26c%3Dd%2Fe");
  CHECK(detail::encode_query({}) == "");
  CHECK(detail::encode_query({{"labelSelector", "app in (a,b),tier!=x"}}) ==
        "labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Dx");
  CHECK(detail::with_query("/api/v1/pods", {}) == "/api/v1/pods");
  CHECK(detail::with_query("/api/v1/pods", {{"limit", "5"}}) == "/api/v1/pods?limit=5");
  CHECK(detail::with_query("/x?a=1", {{"b", "2"}}) == "/x?a=1&b=2");
}

TEST_CASE("list and watch queries carry the options that apply to them", "[client][url]") {
  ListOptions o;
  o.label_selector = "app=web";
  o.field_selector = "metadata.name=a";
  o.limit = 50;
  o.continue_token = "eyJ2Ijoi+/=";
  o.resource_version = "123";
  o.resource_version_match = "NotOlderThan";
  o.timeout_seconds = 30;
  o.allow_watch_bookmarks = true;
  CHECK(detail::encode_query(detail::list_query(o, false)) ==
        "labelSelector=app%3Dweb&fieldSelector=metadata.name%3Da&limit=50&"
        "continue=eyJ2Ijoi%2B%2F%3D&resourceVersion=123&resourceVersionMatch=NotOlderThan");
  CHECK(detail::encode_query(detail::list_query(o, true)) ==
        "watch=1&labelSelector=app%3Dweb&fieldSelector=metadata.name%3Da&resourceVersion=123&"
        "allowWatchBookmarks=true&timeoutSeconds=30");
  CHECK(detail::list_query(ListOptions{}, false).empty());
}

TEST_CASE("patch types map to their content types", "[client][url]") {
  CHECK(detail::patch_content_type(PatchType::kMerge) == "application/merge-patch+json");
  CHECK(detail::patch_content_type(PatchType::kJson) == "application/json-patch+json");
  CHECK(detail::patch_content_type(PatchType::kStrategicMerge) ==
        "application/strategic-merge-patch+json");
}

TEST_CASE("a metav1.Status body becomes an API error", "[client][errors]") {
  std::string url = "https://10.0.0.1:6443/api/v1/namespaces/ns/configmaps/cm";
  std::string body = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
                     R"("message":"configmaps \"cm\" not found","reason":"NotFound",)"
                     R"("details":{"name":"cm","kind":"configmaps"},"code":404})";
  Error e = detail::api_error("GET", url, 404, body);
  CHECK(e.kind() == Error::Kind::kApi);
  CHECK(e.http_status() == 404);
  CHECK(e.reason() == "NotFound");
  CHECK(e.is_not_found());
  CHECK(std::string(e.what()) ==
        "GET " + url + ": configmaps \"cm\" not found (NotFound, HTTP 404)");

  Error conflict = detail::api_error(
      "PUT", url, 409,
      R"({"kind":"Status","status":"Failure","message":"the object has been modified","reason":"Conflict","code":409})");
  CHECK(conflict.is_conflict());
  CHECK(conflict.reason() == "Conflict");
}

TEST_CASE("a non-Status error body still gives a reason and a short message", "[client][errors]") {
  Error e = detail::api_error("POST", "https://h/x", 502, "<html>\nBad Gateway\n</html>");
  CHECK(e.http_status() == 502);
  CHECK(e.reason() == "Unknown");
  CHECK(std::string(e.what()) ==
        "POST https://h/x: <html> Bad Gateway </html> (Unknown, HTTP 502)");
  Error empty = detail::api_error("GET", "https://h/x", 403, "");
  CHECK(empty.reason() == "Forbidden");
  CHECK(std::string(empty.what()) ==
        "GET https://h/x: the server answered HTTP 403 (Forbidden, HTTP 403)");
  Error gone = detail::api_error("GET", "https://h/x", 410, "{}");
  CHECK(gone.is_gone());
}

TEST_CASE("a watch ERROR Status maps to Expired", "[client][errors]") {
  Error e = detail::status_error(
      "GET", "https://h/w", json{{"kind", "Status"}, {"code", 410}, {"message", "too old"}}, 500);
  CHECK(e.is_gone());
  CHECK(e.reason() == "Expired");
  CHECK(std::string(e.what()) == "GET https://h/w: too old (Expired, HTTP 410)");
  Error other = detail::status_error("GET", "https://h/w", json::object(), 500);
  CHECK(other.http_status() == 500);
  CHECK(other.reason() == "InternalError");
}

TEST_CASE("a garbage body is a decode error showing its start", "[client][errors]") {
  std::string garbage = "<html><body>" + std::string(200, 'x') + "</body></html>";
  try {
    detail::decode_json("GET", "https://h/api/v1/pods", garbage);
    FAIL("garbage decoded");
  } catch (const Error& e) {
    CHECK(e.kind() == Error::Kind::kDecode);
    CHECK(std::string(e.what()) ==
          "GET https://h/api/v1/pods: response is not JSON: " + garbage.substr(0, 80));
  }
  CHECK(detail::decode_json("GET", "u", R"({"a":1})")["a"] == 1);
  CHECK_THROWS_AS(detail::decode_json("GET", "u", ""), Error);
}

TEST_CASE("small text helpers", "[client][util]") {
  CHECK(detail::first_line("\n  first line  \nsecond") == "first line");
  CHECK(detail::first_line("") == "");
  CHECK(detail::snippet("a\nb\tc", 80) == "a b c");
  CHECK(detail::base64_encode("") == "");
  CHECK(detail::base64_encode("f") == "Zg==");
  CHECK(detail::base64_encode("fo") == "Zm8=");
  CHECK(detail::base64_encode("foo") == "Zm9v");
  CHECK(detail::base64_encode("admin:s3cret") == "YWRtaW46czNjcmV0");
}

TEST_CASE("ExecCredential with a token and an expiry", "[client][auth]") {
  auto c = detail::parse_exec_credential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
          "status":{"token":"tok-1","expirationTimestamp":"2030-01-02T03:04:05Z"}})",
      "my-plugin", "client.authentication.k8s.io/v1");
  CHECK(c.token == "tok-1");
  REQUIRE(c.expiration.has_value());
  CHECK(std::chrono::system_clock::to_time_t(*c.expiration) == 1893553445);
  CHECK(c.client_certificate_data.empty());
}

TEST_CASE("ExecCredential with a client certificate and no expiry", "[client][auth]") {
  auto c = detail::parse_exec_credential(
      R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",
          "status":{"clientCertificateData":"CERT","clientKeyData":"KEY"}})",
      "p");
  CHECK(c.token.empty());
  CHECK(c.client_certificate_data == "CERT");
  CHECK(c.client_key_data == "KEY");
  CHECK_FALSE(c.expiration.has_value());
}

TEST_CASE("malformed ExecCredentials give errors naming the plugin", "[client][auth]") {
  auto message = [](const std::string& out, const std::string& want_version = "") {
    try {
      detail::parse_exec_credential(out, "gke-auth", want_version);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(message(R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"})"),
             Catch::Contains("exec plugin \"gke-auth\"") && Catch::Contains("has no status"));
  CHECK_THAT(message("Please log in first"), Catch::Contains("gke-auth") &&
                                                 Catch::Contains("not an ExecCredential") &&
                                                 Catch::Contains("Please log in first"));
  CHECK_THAT(message(R"({"kind":"ExecCredential","status":{}})"),
             Catch::Contains("neither a token nor"));
  CHECK_THAT(message(R"({"kind":"ExecCredential","status":{"clientCertificateData":"C"}})"),
             Catch::Contains("both clientCertificateData and clientKeyData"));
  CHECK_THAT(message(R"({"kind":"Pod","status":{"token":"t"}})"), Catch::Contains("kind \"Pod\""));
  CHECK_THAT(
      message(R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",
                         "status":{"token":"t"}})",
              "client.authentication.k8s.io/v1"),
      Catch::Contains("apiVersion"));
  CHECK_THAT(
      message(
          R"({"kind":"ExecCredential","status":{"token":"t","expirationTimestamp":"tomorrow"}})"),
      Catch::Contains("expirationTimestamp"));
}

TEST_CASE("KUBERNETES_EXEC_INFO is non-interactive and carries cluster info on request",
          "[client][auth]") {
  RestConfig cfg;
  cfg.server = "https://10.0.0.1:6443";
  cfg.ca_data = "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n";
  cfg.exec = ExecConfig{};
  cfg.exec->api_version = "client.authentication.k8s.io/v1";
  json info = json::parse(detail::exec_info(cfg));
  CHECK(info["apiVersion"] == "client.authentication.k8s.io/v1");
  CHECK(info["kind"] == "ExecCredential");
  CHECK(info["spec"]["interactive"] == false);
  CHECK_FALSE(info["spec"].contains("cluster"));

  cfg.exec->provide_cluster_info = true;
  cfg.tls_server_name = "kubernetes";
  info = json::parse(detail::exec_info(cfg));
  CHECK(info["spec"]["cluster"]["server"] == "https://10.0.0.1:6443");
  CHECK(info["spec"]["cluster"]["tls-server-name"] == "kubernetes");
  CHECK(info["spec"]["cluster"]["certificate-authority-data"] ==
        detail::base64_encode(cfg.ca_data));
}
