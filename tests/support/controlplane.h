// Test support: the real etcd + kube-apiserver started by `dev/cluster up
// --control-plane-only` (a ctest fixture). Only the standard library and nlohmann/json.
#pragma once

#include <cstdint>
#include <string>

namespace ingressx::testing {

struct ControlPlane {
  std::string dir;                    // state directory ($INGRESSX_CLUSTER_DIR)
  std::string kubeconfig;             // contexts: admin (current), token, exec
  std::string apiserver_url;          // https://127.0.0.1:PORT
  std::string etcd_url;               // http://127.0.0.1:PORT
  std::string token_user_token_file;  // bearer token of ingressx-token-user (view + configmaps)
  std::string exec_user_token_file;   // token the exec plugin hands out (cluster-admin)
  std::string ca_file;                // cluster CA (PEM)
  std::string admin_cert_file;        // admin client cert (CN=ingressx-admin, O=system:masters)
  std::string admin_key_file;
};

// Reads $INGRESSX_CLUSTER_DIR/env (default /tmp/ingressx-cluster) once. Throws
// std::runtime_error telling to run `dev/cluster up --control-plane-only` if the env file
// or the kubeconfig is missing.
const ControlPlane& control_plane();

// Runs `dev/cluster restart-apiserver` (same port and flags; returns after /readyz).
// Throws std::runtime_error on failure.
void restart_apiserver();

// Compacts etcd at its current revision through etcd's v3 JSON gateway and waits until
// the compaction is physically applied. Returns the revision compacted to. Throws
// std::runtime_error on failure.
int64_t compact_etcd();

}  // namespace ingressx::testing
