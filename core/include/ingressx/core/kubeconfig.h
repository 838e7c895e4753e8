#pragma once
// Client configuration with kubectl's rules.
//
// load_rest_config() follows clientcmd's loading rules:
//  - `LoadOptions::kubeconfig` (the --kubeconfig flag) names exactly one file, which must exist;
//  - otherwise KUBECONFIG is a ':'-separated list merged in order, the first file that sets a
//    key wins (maps such as clusters/contexts/users merge per name; current-context from the
//    first file that sets it); missing files in the list are ignored;
//  - otherwise ~/.kube/config; if none exists and in-cluster env is present, in-cluster config;
//  - context/cluster/user/namespace overrides replace what the current context names;
//  - relative paths (certificate-authority, client-certificate, client-key, tokenFile,
//    exec command when it contains '/') resolve against the directory of the file that
//    named them.
// Errors are Error(kInvalidInput|kNotFound) with the file and field in the message.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ingressx {

struct ExecConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 (v1beta1 accepted)
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string interactive_mode;  // Never | IfAvailable | Always
  bool provide_cluster_info = false;
};

struct RestConfig {
  std::string server;  // https://host:port, no trailing slash
  std::string tls_server_name;
  bool insecure_skip_tls_verify = false;
  std::string ca_file;  // PEM file, or
  std::string ca_data;  // PEM bytes (already base64-decoded)
  std::string client_cert_file, client_cert_data;
  std::string client_key_file, client_key_data;
  std::string token;       // static bearer token
  std::string token_file;  // re-read periodically (in-cluster, tokenFile)
  std::optional<ExecConfig> exec;
  std::string username, password;  // basic auth (legacy)
  std::string impersonate_user;
  std::vector<std::string> impersonate_groups;
  std::string proxy_url;
  std::string namespace_;  // default namespace of the context ("default" if unset)
  std::string context_name;
  std::string source;  // the file(s) the config came from, or "in-cluster", for messages
  std::chrono::milliseconds timeout{0};  // --request-timeout; 0 = none
};

struct LoadOptions {
  std::string kubeconfig;              // --kubeconfig
  std::string context;                 // --context
  std::string cluster;                 // --cluster
  std::string user;                    // --user
  std::string namespace_;              // -n/--namespace
  std::string as_user;                 // --as
  std::vector<std::string> as_groups;  // --as-group
  std::chrono::milliseconds request_timeout{0};
};

// Reads environment variables; replaceable in tests.
struct Environment {
  std::map<std::string, std::string> vars;  // empty + use_process_env = real environment
  bool use_process_env = true;
  std::optional<std::string> get(const std::string& name) const;
};

RestConfig load_rest_config(const LoadOptions& opts, const Environment& env = {});

// In-cluster: KUBERNETES_SERVICE_HOST/PORT, the service-account token file (re-read by the
// client), CA and namespace files under `sa_dir`.
RestConfig in_cluster_config(
    const Environment& env = {},
    const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

}  // namespace ingressx
