// kubeconfig loading rules and every auth method against the real kube-apiserver.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "controlplane.h"
#include "ingressx/core/client.h"
#include "ingressx/core/error.h"
#include "ingressx/core/kubeconfig.h"

using namespace ingressx;
namespace fs = std::filesystem;

namespace {

// Who the apiserver says we are (SelfSubjectReview, GA since 1.28).
std::string whoami(Client& c) {
  json review = c.raw("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                      R"({"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"})");
  return review["status"]["userInfo"]["username"].get<std::string>();
}

Environment env_with(std::map<std::string, std::string> vars) {
  Environment e;
  e.use_process_env = false;
  e.vars = std::move(vars);
  if (!e.vars.count("HOME")) e.vars["HOME"] = "/nonexistent-home";
  return e;
}

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("ingressx-kc-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

}  // namespace

TEST_CASE("client certificate auth from the admin context", "[integration][auth]") {
  LoadOptions o;
  o.kubeconfig = testing::control_plane().kubeconfig;
  RestConfig cfg = load_rest_config(o, env_with({}));
  CHECK(cfg.context_name == "admin");
  Client c(cfg);
  CHECK(whoami(c) == "ingressx-admin");
}

TEST_CASE("bearer token auth is subject to RBAC", "[integration][auth]") {
  LoadOptions o;
  o.kubeconfig = testing::control_plane().kubeconfig;
  o.context = "token";
  Client c(load_rest_config(o, env_with({})));
  CHECK(whoami(c) == "ingressx-token-user");
  CHECK(c.list(refs::kConfigMaps, "default")["items"].is_array());
  try {
    c.create(refs::kSecrets, "default",
             {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "nope"}}}});
    FAIL("the token user created a Secret");
  } catch (const Error& e) {
    CHECK(e.http_status() == 403);
    CHECK(e.reason() == "Forbidden");
  }
}

TEST_CASE("exec credential plugin runs once and is cached until expiry", "[integration][auth]") {
  fs::path dir = temp_dir();
  fs::path count = dir / "exec-count";
  fs::remove(count);
  ::setenv("INGRESSX_EXEC_COUNT_FILE", count.c_str(), 1);
  LoadOptions o;
  o.kubeconfig = testing::control_plane().kubeconfig;
  o.context = "exec";
  Client c(load_rest_config(o, env_with({})));
  CHECK(whoami(c) == "ingressx-exec-user");
  for (int i = 0; i < 3; ++i) c.list(refs::kConfigMaps, "default");
  std::ifstream in(count);
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  CHECK(lines == 1);
  CHECK(c.stats().exec_plugin_runs == 1);
  ::unsetenv("INGRESSX_EXEC_COUNT_FILE");
}

TEST_CASE("KUBECONFIG lists merge with first-file-wins, and --context overrides",
          "[integration][kubeconfig]") {
  fs::path dir = temp_dir();
  // The first file names only a current-context; the cluster's file supplies the rest.
  write(dir / "first", "apiVersion: v1\nkind: Config\ncurrent-context: token\n");
  std::string list = (dir / "first").string() + ":" + (dir / "missing-is-ignored").string() + ":" +
                     testing::control_plane().kubeconfig;
  {
    Client c(load_rest_config({}, env_with({{"KUBECONFIG", list}})));
    CHECK(c.config().context_name == "token");
    CHECK(whoami(c) == "ingressx-token-user");
  }
  {
    LoadOptions o;
    o.context = "admin";
    o.namespace_ = "kube-system";
    Client c(load_rest_config(o, env_with({{"KUBECONFIG", list}})));
    CHECK(whoami(c) == "ingressx-admin");
    CHECK(c.default_namespace() == "kube-system");
  }
}

TEST_CASE("an unreachable server and an untrusted CA give one-line errors naming the URL",
          "[integration][errors]") {
  LoadOptions o;
  o.kubeconfig = testing::control_plane().kubeconfig;
  RestConfig good = load_rest_config(o, env_with({}));

  RestConfig down = good;
  down.server = "https://127.0.0.1:1";
  Client c1(down);
  c1.set_retry_policy({1, std::chrono::milliseconds(10), std::chrono::milliseconds(10)});
  try {
    c1.list(refs::kConfigMaps, "default");
    FAIL("request to a closed port succeeded");
  } catch (const Error& e) {
    CHECK(e.kind() == Error::Kind::kTransport);
    CHECK_THAT(e.what(), Catch::Contains("127.0.0.1:1"));
  }

  RestConfig untrusted = good;
  untrusted.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  untrusted.ca_data.clear();
  Client c2(untrusted);
  c2.set_retry_policy({1, std::chrono::milliseconds(10), std::chrono::milliseconds(10)});
  try {
    c2.list(refs::kConfigMaps, "default");
    FAIL("TLS verification accepted a server certificate from an unknown CA");
  } catch (const Error& e) {
    CHECK(e.kind() == Error::Kind::kTransport);
    CHECK_THAT(e.what(), Catch::Contains(good.server));
  }
}
