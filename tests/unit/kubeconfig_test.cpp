#include "ingressx/core/kubeconfig.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "ingressx/core/error.h"

using namespace ingressx;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

namespace fs = std::filesystem;

const std::string kData = std::string(INGRESSX_TEST_DATA) + "/kubeconfig";

std::string data(const std::string& name) {
  return fs::path(kData + "/" + name).lexically_normal().string();
}

// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ingressx-kubeconfig-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p.string();
  }
};

// An environment that sees only `vars`, never the real one.
Environment env_of(std::map<std::string, std::string> vars) {
  Environment env;
  env.vars = std::move(vars);
  env.use_process_env = false;
  return env;
}

Environment kubeconfig_env(const std::vector<std::string>& files) {
  std::string list;
  for (const auto& f : files) list += (list.empty() ? "" : ":") + data(f);
  return env_of({{"KUBECONFIG", list}});
}

Error load_error(const LoadOptions& opts, const Environment& env) {
  try {
    load_rest_config(opts, env);
  } catch (const Error& e) {
    return e;
  }
  FAIL("load_rest_config did not throw");
  return Error(Error::Kind::kInternal, "unreachable");
}

}  // namespace

TEST_CASE("KUBECONFIG merge: first file wins per entry and for current-context", "[kubeconfig]") {
  SECTION("a then b") {
    auto cfg = load_rest_config({}, kubeconfig_env({"merge/a.yaml", "merge/b.yaml"}));
    CHECK(cfg.context_name == "a-ctx");
    CHECK(cfg.server == "https://a.example:6443");
    CHECK(cfg.insecure_skip_tls_verify);
    CHECK(cfg.token == "a-token");
    CHECK(cfg.namespace_ == "a-ns");
    CHECK(cfg.source == data("merge/a.yaml") + ":" + data("merge/b.yaml"));
  }
  SECTION("b then a") {
    auto cfg = load_rest_config({}, kubeconfig_env({"merge/b.yaml", "merge/a.yaml"}));
    CHECK(cfg.context_name == "b-ctx");
    CHECK(cfg.server == "https://b-only.example:6443");
    CHECK(cfg.username == "b-admin");
    CHECK(cfg.password == "b-secret");
    CHECK(cfg.namespace_ == "default");
  }
  SECTION("a context with the same name in two files comes from the first") {
    LoadOptions opts;
    opts.context = "shared-ctx";
    auto cfg = load_rest_config(opts, kubeconfig_env({"merge/a.yaml", "merge/b.yaml"}));
    CHECK(cfg.server == "https://a-only.example:6443");  // trailing slash removed
    CHECK(cfg.token == "a-token");
    CHECK(cfg.namespace_ == "default");
  }
  SECTION("three files: current-context from the first that sets one") {
    auto env = kubeconfig_env({"merge/c.yaml", "merge/b.yaml", "merge/a.yaml"});
    auto cfg = load_rest_config({}, env);
    CHECK(cfg.context_name == "b-ctx");
    LoadOptions opts;
    opts.context = "c-ctx";
    cfg = load_rest_config(opts, env);
    CHECK(cfg.server == "https://b.example:6443");  // "shared" from b, which precedes a
    CHECK(cfg.username == "b-admin");
    CHECK(cfg.namespace_ == "c-ns");
    opts.cluster = "c-only";
    CHECK(load_rest_config(opts, env).server == "https://c-only.example:443");
  }
  SECTION("missing files in the list are ignored, duplicates read once") {
    auto env = env_of({{"KUBECONFIG", "/nonexistent/config::" + data("merge/b.yaml") + ":" +
                                          data("merge/b.yaml")}});
    auto cfg = load_rest_config({}, env);
    CHECK(cfg.context_name == "b-ctx");
    CHECK(cfg.source == data("merge/b.yaml"));
  }
}

TEST_CASE("overrides replace what the context names", "[kubeconfig]") {
  auto env = kubeconfig_env({"merge/a.yaml", "merge/b.yaml"});
  LoadOptions opts;
  opts.context = "b-ctx";
  opts.namespace_ = "override-ns";
  opts.user = "shared-user";
  opts.as_user = "jane";
  opts.as_groups = {"devs", "ops"};
  opts.request_timeout = std::chrono::seconds(7);
  auto cfg = load_rest_config(opts, env);
  CHECK(cfg.context_name == "b-ctx");
  CHECK(cfg.server == "https://b-only.example:6443");
  CHECK(cfg.token == "a-token");
  CHECK(cfg.username.empty());
  CHECK(cfg.namespace_ == "override-ns");
  CHECK(cfg.impersonate_user == "jane");
  CHECK(cfg.impersonate_groups == std::vector<std::string>{"devs", "ops"});
  CHECK(cfg.timeout == std::chrono::seconds(7));

  SECTION("unknown names are errors naming the flag and what exists") {
    LoadOptions bad;
    bad.context = "foo";
    auto e = load_error(bad, env);
    CHECK(e.kind() == Error::Kind::kNotFound);
    CHECK_THAT(e.what(), Contains(data("merge/a.yaml")));
    CHECK_THAT(e.what(), Contains("context \"foo\" (from --context) not found; "
                                  "have: a-ctx, b-ctx, shared-ctx"));
    bad = {};
    bad.cluster = "nope";
    CHECK_THAT(load_error(bad, env).what(),
               Contains("cluster \"nope\" (from --cluster) not found"));
    bad = {};
    bad.user = "nobody";
    CHECK_THAT(load_error(bad, env).what(), Contains("user \"nobody\" (from --user) not found"));
  }
  SECTION("--as-group without --as") {
    LoadOptions bad;
    bad.as_groups = {"devs"};
    CHECK_THAT(load_error(bad, env).what(), Contains("needs a user to impersonate"));
  }
}

TEST_CASE("the --kubeconfig flag names exactly one file, which must exist", "[kubeconfig]") {
  auto env = kubeconfig_env({"merge/a.yaml"});
  LoadOptions opts;
  opts.kubeconfig = data("merge/b.yaml");
  CHECK(load_rest_config(opts, env).context_name == "b-ctx");  // KUBECONFIG not consulted

  TempDir tmp;
  opts.kubeconfig = (tmp.path / "missing").string();
  auto e = load_error(opts, env);
  CHECK(e.kind() == Error::Kind::kNotFound);
  CHECK_THAT(e.what(), Contains(opts.kubeconfig));
  CHECK_THAT(e.what(), Contains("--kubeconfig"));
}

TEST_CASE("~/.kube/config comes from HOME in the environment", "[kubeconfig]") {
  TempDir home;
  std::ifstream in(data("merge/b.yaml"));
  home.write(".kube/config", std::string(std::istreambuf_iterator<char>(in), {}));
  auto cfg = load_rest_config({}, env_of({{"HOME", home.path.string()}}));
  CHECK(cfg.context_name == "b-ctx");
  CHECK(cfg.source == (home.path / ".kube/config").string());

  TempDir empty_home;
  auto e = load_error({}, env_of({{"HOME", empty_home.path.string()}}));
  CHECK(e.kind() == Error::Kind::kNotFound);
  CHECK_THAT(e.what(), Contains("no kubeconfig found"));
}

TEST_CASE("relative paths resolve against the defining file", "[kubeconfig]") {
  auto env = kubeconfig_env({"relative/config"});
  auto cfg = load_rest_config({}, env);
  CHECK(cfg.ca_file == data("relative/certs/ca.crt"));
  CHECK(cfg.client_cert_file == data("relative/certs/client.crt"));
  CHECK(cfg.client_key_file == data("relative/certs/client.key"));
  CHECK(cfg.tls_server_name == "kubernetes.default");
  CHECK(cfg.proxy_url == "http://proxy.example:3128");
  CHECK(cfg.namespace_ == "rel-ns");

  LoadOptions opts;
  opts.context = "token-file";
  cfg = load_rest_config(opts, env);
  CHECK(cfg.token_file == data("relative/token"));
  CHECK(cfg.impersonate_user == "impersonated");
  CHECK(cfg.impersonate_groups == std::vector<std::string>{"team-a", "team-b"});
}

TEST_CASE("exec credential plugin configuration", "[kubeconfig]") {
  auto env = kubeconfig_env({"relative/config"});
  LoadOptions opts;
  opts.context = "plugin";
  auto cfg = load_rest_config(opts, env);
  REQUIRE(cfg.exec.has_value());
  CHECK(cfg.exec->api_version == "client.authentication.k8s.io/v1");
  CHECK(cfg.exec->command == data("relative/bin/get-token"));
  CHECK(cfg.exec->args == std::vector<std::string>{"--cluster", "rel"});
  using Env = std::vector<std::pair<std::string, std::string>>;
  CHECK(cfg.exec->env == Env{{"PLUGIN_MODE", "test"}, {"EMPTY", ""}});
  CHECK(cfg.exec->interactive_mode == "Never");
  CHECK(cfg.exec->provide_cluster_info);

  opts.context = "plugin-in-path";
  cfg = load_rest_config(opts, env);
  REQUIRE(cfg.exec.has_value());
  CHECK(cfg.exec->command == "kubelogin");             // no '/': looked up in PATH when run
  CHECK(cfg.exec->interactive_mode == "IfAvailable");  // v1beta1 default
  CHECK_FALSE(cfg.exec->provide_cluster_info);

  SECTION("v1 requires interactiveMode") {
    TempDir tmp;
    std::string path = tmp.write("config", R"(
current-context: x
clusters: [{name: x, cluster: {server: "https://x:6443"}}]
users:
- name: x
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: plugin}
contexts: [{name: x, context: {cluster: x, user: x}}]
)");
    LoadOptions explicit_file;
    explicit_file.kubeconfig = path;
    auto e = load_error(explicit_file, env_of({}));
    CHECK(e.kind() == Error::Kind::kInvalidInput);
    CHECK_THAT(e.what(), StartsWith("kubeconfig " + path + ": user \"x\": exec: interactiveMode"));
  }
}

TEST_CASE("certificate data is base64-decoded", "[kubeconfig]") {
  auto cfg = load_rest_config({}, kubeconfig_env({"data.yaml"}));
  CHECK(cfg.ca_data == "-----BEGIN CERTIFICATE-----\ninline CA\n-----END CERTIFICATE-----\n");
  CHECK(cfg.client_cert_data ==
        "-----BEGIN CERTIFICATE-----\ninline client\n-----END CERTIFICATE-----\n");
  CHECK(cfg.client_key_data ==
        "-----BEGIN PRIVATE KEY-----\ninline key\n-----END PRIVATE KEY-----\n");
  CHECK(cfg.ca_file.empty());
}

TEST_CASE("invalid kubeconfigs give one-line errors naming file and field", "[kubeconfig]") {
  SECTION("bad base64") {
    auto e = load_error({}, kubeconfig_env({"bad-base64.yaml"}));
    CHECK(e.kind() == Error::Kind::kInvalidInput);
    CHECK(std::string(e.what()) == "kubeconfig " + data("bad-base64.yaml") +
                                       ": user \"data\": client-key-data: not valid base64");
  }
  SECTION("malformed YAML") {
    auto e = load_error({}, kubeconfig_env({"malformed.yaml"}));
    CHECK(e.kind() == Error::Kind::kInvalidInput);
    CHECK_THAT(e.what(), StartsWith("kubeconfig " + data("malformed.yaml") + ": line "));
    CHECK_THAT(e.what(), Contains("column"));
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
  }
  SECTION("no server") {
    auto e = load_error({}, kubeconfig_env({"no-server.yaml"}));
    CHECK_THAT(e.what(), Contains("cluster \"empty\": server: missing"));
  }
  SECTION("current-context names a missing context") {
    TempDir tmp;
    std::string path = tmp.write("config", "current-context: gone\ncontexts: []\n");
    auto e = load_error({}, env_of({{"KUBECONFIG", path}}));
    CHECK(std::string(e.what()) == "kubeconfig " + path +
                                       ": context \"gone\" (from current-context) not found; "
                                       "have: none");
  }
  SECTION("context names a missing cluster or user") {
    TempDir tmp;
    std::string path = tmp.write("config", R"(
current-context: c
clusters: [{name: real, cluster: {server: "https://x"}}]
contexts: [{name: c, context: {cluster: ghost}}, {name: d, context: {cluster: real, user: u}}]
)");
    auto env = env_of({{"KUBECONFIG", path}});
    CHECK(std::string(load_error({}, env).what()) ==
          "kubeconfig " + path + ": context \"c\": cluster \"ghost\" not found; have: real");
    LoadOptions opts;
    opts.context = "d";
    CHECK_THAT(load_error(opts, env).what(), Contains("context \"d\": user \"u\" not found"));
  }
  SECTION("wrong types and missing files") {
    TempDir tmp;
    tmp.write("config", R"(
current-context: c
clusters: [{name: c, cluster: {server: "https://x", certificate-authority: ca.pem}}]
users: [{name: u, user: {token: 12345}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
)");
    LoadOptions opts;
    opts.kubeconfig = (tmp.path / "config").string();
    auto e = load_error(opts, env_of({}));
    CHECK(e.kind() == Error::Kind::kNotFound);
    CHECK_THAT(e.what(), Contains("certificate-authority: " + (tmp.path / "ca.pem").string() +
                                  ": no such file"));
    tmp.write("ca.pem", "pem");
    CHECK_THAT(load_error(opts, env_of({})).what(),
               Contains("user \"u\": token: expected a string, found a number"));
  }
}

TEST_CASE("in-cluster configuration", "[kubeconfig]") {
  TempDir sa;
  sa.write("token", "tok");
  sa.write("ca.crt", "pem");
  sa.write("namespace", "ingress-system\n");
  auto env = env_of({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  auto cfg = in_cluster_config(env, sa.path.string());
  CHECK(cfg.server == "https://10.96.0.1:443");
  CHECK(cfg.token_file == (sa.path / "token").string());
  CHECK(cfg.ca_file == (sa.path / "ca.crt").string());
  CHECK(cfg.namespace_ == "ingress-system");
  CHECK(cfg.source == "in-cluster");

  env.vars["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  CHECK(in_cluster_config(env, sa.path.string()).server == "https://[fd00::1]:443");

  SECTION("missing pieces") {
    fs::remove(sa.path / "namespace");
    CHECK(in_cluster_config(env, sa.path.string()).namespace_ == "default");
    fs::remove(sa.path / "token");
    CHECK_THROWS_WITH(in_cluster_config(env, sa.path.string()),
                      Contains((sa.path / "token").string()));
    CHECK_THROWS_WITH(in_cluster_config(env_of({}), sa.path.string()),
                      Contains("KUBERNETES_SERVICE_HOST"));
  }
  SECTION("load_rest_config falls back to in-cluster when no kubeconfig exists") {
    TempDir empty_home;
    env.vars["HOME"] = empty_home.path.string();
    // The default service-account directory does not exist here, so the fallback shows
    // itself through in_cluster_config's error.
    CHECK_THROWS_WITH(load_rest_config({}, env), StartsWith("in-cluster config:"));
    env.vars["KUBECONFIG"] = data("merge/a.yaml");
    CHECK(load_rest_config({}, env).context_name == "a-ctx");  // a kubeconfig wins
  }
}

TEST_CASE("Environment reads vars, then the process environment if allowed", "[kubeconfig]") {
  setenv("INGRESSX_KUBECONFIG_TEST", "from-process", 1);
  Environment env;
  CHECK(env.get("INGRESSX_KUBECONFIG_TEST") == "from-process");
  env.vars["INGRESSX_KUBECONFIG_TEST"] = "from-vars";
  CHECK(env.get("INGRESSX_KUBECONFIG_TEST") == "from-vars");
  CHECK_FALSE(env_of({}).get("INGRESSX_KUBECONFIG_TEST").has_value());
  unsetenv("INGRESSX_KUBECONFIG_TEST");
}
