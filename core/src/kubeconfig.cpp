// kubeconfig loading with clientcmd's rules (see kubeconfig.h). Files are read as YAML
// through yaml.cpp and then handled as JSON.
#include "ingressx/core/kubeconfig.h"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <system_error>

#include "ingressx/core/error.h"
#include "ingressx/core/yaml.h"
#include "kubeconfig_fields.h"

namespace ingressx {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using kubeconfig_detail::Fields;

// One named entry (a cluster, user or context) and the file that defined it.
struct Entry {
  json value;
  std::string file;
};
using Entries = std::map<std::string, Entry>;

// The merge of all kubeconfig files, first file wins per entry and for current-context.
struct Merged {
  std::vector<std::string> files;
  std::string current_context, current_context_file;
  Entries clusters, users, contexts;

  bool empty() const {
    return current_context.empty() && clusters.empty() && users.empty() && contexts.empty();
  }
  std::string source() const {
    std::string s;
    for (const auto& f : files) s += (s.empty() ? "" : ":") + f;
    return s;
  }
};

std::string in_quotes(const std::string& s) {
  return "\"" + s + "\"";
}

std::string names(const Entries& entries) {
  if (entries.empty()) return "none";
  std::string s;
  for (const auto& [name, entry] : entries) s += (s.empty() ? "" : ", ") + name;
  return s;
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw Error(Error::Kind::kInvalidInput, "kubeconfig " + path + ": is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(Error::Kind::kInvalidInput,
                "kubeconfig " + path + ": cannot open: " + std::generic_category().message(errno));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(Error::Kind::kInvalidInput, "kubeconfig " + path + ": read failed");
  return text;
}

void merge_list(const json& doc, const char* list, const char* inner, const std::string& path,
                Entries& into) {
  auto it = doc.find(list);
  if (it == doc.end() || it->is_null()) return;
  std::string where = "kubeconfig " + path + ": " + list;
  if (!it->is_array()) throw Error(Error::Kind::kInvalidInput, where + ": expected a list");
  std::set<std::string> seen;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& item = (*it)[i];
    Fields f(item, where + "[" + std::to_string(i) + "]", path);
    std::string name = f.str("name");
    if (name.empty()) f.fail("name", "missing");
    if (!seen.insert(name).second) f.fail("name", "duplicate " + in_quotes(name) + " in this file");
    const json value = f.object(inner);
    into.emplace(name, Entry{value, path});  // keeps an entry set by an earlier file
  }
}

void merge_file(Merged& m, const std::string& path) {
  json doc;
  try {
    doc = yaml_to_json(read_file(path), "kubeconfig " + path);
  } catch (const Error& e) {
    if (e.kind() != Error::Kind::kDecode) throw;
    throw Error(Error::Kind::kInvalidInput, e.what());
  }
  m.files.push_back(path);
  if (doc.is_null()) return;  // an empty file is an empty config
  Fields top(doc, "kubeconfig " + path, path);
  std::string current = top.str("current-context");
  if (m.current_context.empty() && !current.empty()) {
    m.current_context = current;
    m.current_context_file = path;
  }
  merge_list(doc, "clusters", "cluster", path, m.clusters);
  merge_list(doc, "users", "user", path, m.users);
  merge_list(doc, "contexts", "context", path, m.contexts);
}

std::string absolute(const std::string& path) {
  return fs::absolute(fs::path(path)).lexically_normal().string();
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// `origin` says where the name came from when not from the referring entry ("--context").
const Entry& lookup(const Entries& entries, const std::string& kind, const std::string& name,
                    const std::string& origin, const std::string& referrer) {
  auto it = entries.find(name);
  if (it == entries.end()) {
    std::string from = origin.empty() ? "" : " (from " + origin + ")";
    throw Error(Error::Kind::kNotFound, referrer + ": " + kind + " " + in_quotes(name) + from +
                                            " not found; have: " + names(entries));
  }
  return it->second;
}

std::string normalize_server(const std::string& server, const Fields& f) {
  std::string s = server;
  if (s.find("://") == std::string::npos) s = "https://" + s;
  if (s.rfind("https://", 0) != 0 && s.rfind("http://", 0) != 0) {
    f.fail("server", in_quotes(server) + ": expected an http:// or https:// URL");
  }
  while (s.size() > 8 && s.back() == '/') s.pop_back();
  return s;
}

void apply_cluster(const Entry& e, const std::string& name, RestConfig& cfg) {
  Fields f(e.value, "kubeconfig " + e.file + ": cluster " + in_quotes(name), e.file);
  std::string server = f.str("server");
  if (server.empty()) f.fail("server", "missing (the API server URL)");
  cfg.server = normalize_server(server, f);
  cfg.tls_server_name = f.str("tls-server-name");
  cfg.insecure_skip_tls_verify = f.boolean("insecure-skip-tls-verify");
  cfg.proxy_url = f.str("proxy-url");
  cfg.ca_file = f.path("certificate-authority");
  cfg.ca_data = f.base64("certificate-authority-data");
  if (!cfg.ca_file.empty() && !cfg.ca_data.empty()) {
    f.fail("certificate-authority-data", "set together with certificate-authority; keep one");
  }
  if (cfg.insecure_skip_tls_verify && (!cfg.ca_file.empty() || !cfg.ca_data.empty())) {
    f.fail("insecure-skip-tls-verify", "set together with a certificate authority; keep one");
  }
}

ExecConfig parse_exec(const Fields& user) {
  Fields f = user.sub("exec");
  ExecConfig x;
  x.api_version = f.str("apiVersion");
  if (x.api_version != "client.authentication.k8s.io/v1" &&
      x.api_version != "client.authentication.k8s.io/v1beta1") {
    f.fail("apiVersion",
           in_quotes(x.api_version) + ": expected client.authentication.k8s.io/v1 or v1beta1");
  }
  x.command = f.str("command");
  if (x.command.empty()) f.fail("command", "missing");
  if (x.command.find('/') != std::string::npos) x.command = f.resolve(x.command);
  x.args = f.strings("args");
  x.env = f.name_values("env");
  x.interactive_mode = f.str("interactiveMode");
  if (x.interactive_mode.empty()) {
    if (x.api_version == "client.authentication.k8s.io/v1") {
      f.fail("interactiveMode", "missing (Never, IfAvailable or Always)");
    }
    x.interactive_mode = "IfAvailable";
  } else if (x.interactive_mode != "Never" && x.interactive_mode != "IfAvailable" &&
             x.interactive_mode != "Always") {
    f.fail("interactiveMode",
           in_quotes(x.interactive_mode) + ": expected Never, IfAvailable or Always");
  }
  x.provide_cluster_info = f.boolean("provideClusterInfo");
  return x;
}

void apply_user(const Entry& e, const std::string& name, RestConfig& cfg) {
  Fields f(e.value, "kubeconfig " + e.file + ": user " + in_quotes(name), e.file);
  cfg.client_cert_file = f.path("client-certificate");
  cfg.client_cert_data = f.base64("client-certificate-data");
  cfg.client_key_file = f.path("client-key");
  cfg.client_key_data = f.base64("client-key-data");
  if (!cfg.client_cert_file.empty() && !cfg.client_cert_data.empty()) {
    f.fail("client-certificate-data", "set together with client-certificate; keep one");
  }
  if (!cfg.client_key_file.empty() && !cfg.client_key_data.empty()) {
    f.fail("client-key-data", "set together with client-key; keep one");
  }
  bool has_cert = !cfg.client_cert_file.empty() || !cfg.client_cert_data.empty();
  bool has_key = !cfg.client_key_file.empty() || !cfg.client_key_data.empty();
  if (has_cert != has_key) {
    f.fail(has_cert ? "client-key" : "client-certificate",
           "missing (a client certificate needs both certificate and key)");
  }
  cfg.token = f.str("token");
  cfg.token_file = f.path("tokenFile", /*must_exist=*/false);
  cfg.username = f.str("username");
  cfg.password = f.str("password");
  if ((!cfg.token.empty() || !cfg.token_file.empty()) &&
      (!cfg.username.empty() || !cfg.password.empty())) {
    f.fail("username", "set together with a token; only one authentication method is allowed");
  }
  if (f.has("exec")) cfg.exec = parse_exec(f);
  if (f.has("auth-provider")) {
    f.fail("auth-provider", "not supported; use an exec credential plugin instead");
  }
  cfg.impersonate_user = f.str("as");
  cfg.impersonate_groups = f.strings("as-groups");
}

RestConfig build(const Merged& m, const LoadOptions& o) {
  RestConfig cfg;
  cfg.source = m.source();
  const std::string all = "kubeconfig " + cfg.source;
  cfg.context_name = o.context.empty() ? m.current_context : o.context;
  Entry ctx{json::object(), cfg.source};
  if (!o.context.empty()) {
    ctx = lookup(m.contexts, "context", o.context, "--context", all);
  } else if (!m.current_context.empty()) {
    ctx = lookup(m.contexts, "context", m.current_context, "current-context",
                 "kubeconfig " + m.current_context_file);
  } else if (o.cluster.empty()) {
    std::string have = names(m.contexts);
    throw Error(Error::Kind::kInvalidInput,
                all + ": no current-context is set; pass --context (have: " + have + ")");
  }
  std::string ctx_where = "kubeconfig " + ctx.file + ": context " + in_quotes(cfg.context_name);
  Fields cf(ctx.value, ctx_where, ctx.file);
  std::string cluster = o.cluster.empty() ? cf.str("cluster") : o.cluster;
  if (cluster.empty()) cf.fail("cluster", "missing");
  apply_cluster(o.cluster.empty() ? lookup(m.clusters, "cluster", cluster, "", ctx_where)
                                  : lookup(m.clusters, "cluster", cluster, "--cluster", all),
                cluster, cfg);
  std::string user = o.user.empty() ? cf.str("user") : o.user;
  if (!user.empty()) {  // no user: anonymous
    apply_user(o.user.empty() ? lookup(m.users, "user", user, "", ctx_where)
                              : lookup(m.users, "user", user, "--user", all),
               user, cfg);
  }
  cfg.namespace_ = cf.str("namespace");
  return cfg;
}

// Applies what every source shares: default namespace, impersonation, request timeout.
RestConfig finish(RestConfig cfg, const LoadOptions& o) {
  if (!o.namespace_.empty()) cfg.namespace_ = o.namespace_;
  if (cfg.namespace_.empty()) cfg.namespace_ = "default";
  if (!o.as_user.empty()) cfg.impersonate_user = o.as_user;
  if (!o.as_groups.empty()) cfg.impersonate_groups = o.as_groups;
  if (!cfg.impersonate_groups.empty() && cfg.impersonate_user.empty()) {
    std::string label =
        cfg.source == "in-cluster" ? "in-cluster config" : "kubeconfig " + cfg.source;
    throw Error(Error::Kind::kInvalidInput, label +
                                                ": impersonating groups (--as-group, as-groups) "
                                                "needs a user to impersonate (--as, as)");
  }
  cfg.timeout = o.request_timeout;
  return cfg;
}

bool in_cluster_possible(const Environment& env) {
  return !env.get("KUBERNETES_SERVICE_HOST").value_or("").empty() &&
         !env.get("KUBERNETES_SERVICE_PORT").value_or("").empty();
}

}  // namespace

std::optional<std::string> Environment::get(const std::string& name) const {
  if (auto it = vars.find(name); it != vars.end()) return it->second;
  if (use_process_env) {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
  }
  return std::nullopt;
}

RestConfig load_rest_config(const LoadOptions& o, const Environment& env) {
  Merged m;
  if (!o.kubeconfig.empty()) {
    std::string path = absolute(o.kubeconfig);
    if (!file_exists(path)) {
      throw Error(Error::Kind::kNotFound,
                  "kubeconfig " + path + " (from --kubeconfig): no such file");
    }
    merge_file(m, path);
    return finish(build(m, o), o);
  }
  std::string tried;
  if (std::string list = env.get("KUBECONFIG").value_or(""); !list.empty()) {
    tried = "KUBECONFIG=" + list;
    std::set<std::string> seen;
    std::stringstream ss(list);
    for (std::string item; std::getline(ss, item, ':');) {
      if (item.empty()) continue;
      std::string path = absolute(item);
      if (seen.insert(path).second && file_exists(path)) merge_file(m, path);
    }
  } else if (std::string home = env.get("HOME").value_or(""); !home.empty()) {
    std::string path = absolute(home + "/.kube/config");
    tried = path;
    if (file_exists(path)) merge_file(m, path);
  } else {
    tried = "~/.kube/config, but HOME is not set";
  }
  if (m.empty() && in_cluster_possible(env)) return finish(in_cluster_config(env), o);
  if (m.files.empty()) {
    throw Error(Error::Kind::kNotFound, "no kubeconfig found (tried " + tried +
                                            ") and not running in a cluster "
                                            "(KUBERNETES_SERVICE_HOST/PORT unset); "
                                            "pass --kubeconfig or set KUBECONFIG");
  }
  return finish(build(m, o), o);
}

RestConfig in_cluster_config(const Environment& env, const std::string& sa_dir) {
  std::string host = env.get("KUBERNETES_SERVICE_HOST").value_or("");
  std::string port = env.get("KUBERNETES_SERVICE_PORT").value_or("");
  if (host.empty() || port.empty()) {
    throw Error(Error::Kind::kNotFound,
                "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must "
                "be set (not running in a pod?)");
  }
  RestConfig cfg;
  cfg.source = "in-cluster";
  bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  cfg.server = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;
  cfg.token_file = sa_dir + "/token";
  cfg.ca_file = sa_dir + "/ca.crt";
  for (const auto* f : {&cfg.token_file, &cfg.ca_file}) {
    if (!file_exists(*f)) {
      throw Error(
          Error::Kind::kNotFound,
          "in-cluster config: " + *f + ": no such file (is the service account token mounted?)");
    }
  }
  cfg.namespace_ = env.get("POD_NAMESPACE").value_or("");
  if (std::string ns_file = sa_dir + "/namespace"; cfg.namespace_.empty() && file_exists(ns_file)) {
    std::ifstream in(ns_file);
    std::getline(in, cfg.namespace_);
    while (!cfg.namespace_.empty() &&
           std::isspace(static_cast<unsigned char>(cfg.namespace_.back()))) {
      cfg.namespace_.pop_back();
    }
  }
  if (cfg.namespace_.empty()) cfg.namespace_ = "default";
  return cfg;
}

}  // namespace ingressx
