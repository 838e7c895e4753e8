#include "controlplane.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#ifndef INGRESSX_SOURCE_DIR
#error "INGRESSX_SOURCE_DIR must be defined (the repository root)"
#endif

namespace ingressx::testing {
namespace {

constexpr const char* kUpHint =
    "run `dev/cluster up --control-plane-only` first (ctest does "
    "this through the controlplane fixture)";

std::string cluster_dir() {
  const char* env = std::getenv("INGRESSX_CLUSTER_DIR");
  return (env != nullptr && *env != '\0') ? std::string(env) : std::string("/tmp/ingressx-cluster");
}

// Single-quotes S for /bin/sh.
std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

std::map<std::string, std::string> read_env_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("control plane env file " + path + " not found: " + kUpHint);
  }
  std::map<std::string, std::string> kv;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

ControlPlane load() {
  const std::string dir = cluster_dir();
  const std::string env_path = dir + "/env";
  auto kv = read_env_file(env_path);
  auto get = [&](const std::string& key) {
    auto it = kv.find(key);
    if (it == kv.end() || it->second.empty()) {
      throw std::runtime_error("control plane env file " + env_path + " has no " + key + "; " +
                               kUpHint);
    }
    return it->second;
  };
  ControlPlane cp;
  cp.dir = kv.count("INGRESSX_CLUSTER_DIR") ? kv["INGRESSX_CLUSTER_DIR"] : dir;
  cp.kubeconfig = get("KUBECONFIG");
  cp.apiserver_url = get("APISERVER_URL");
  cp.etcd_url = get("ETCD_URL");
  cp.token_user_token_file = get("TOKEN_USER_TOKEN_FILE");
  cp.exec_user_token_file = get("EXEC_USER_TOKEN_FILE");
  cp.ca_file = get("CA_FILE");
  cp.admin_cert_file = get("ADMIN_CERT_FILE");
  cp.admin_key_file = get("ADMIN_KEY_FILE");
  if (!std::filesystem::exists(cp.kubeconfig)) {
    throw std::runtime_error("control plane kubeconfig " + cp.kubeconfig +
                             " not found: " + kUpHint);
  }
  return cp;
}

// Runs a shell command, returns its stdout; throws if it cannot run or exits non-zero.
std::string run_capture(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("cannot run: " + cmd);
  std::string out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("command failed (status " + std::to_string(status) + "): " + cmd +
                             "\noutput: " + out);
  }
  return out;
}

struct HttpResult {
  long code = 0;
  nlohmann::json body;
  std::string raw;
};

// POSTs JSON to etcd's v3 gateway with the curl command-line tool.
HttpResult etcd_post(const std::string& path, const nlohmann::json& body) {
  const std::string url = control_plane().etcd_url + path;
  const std::string cmd =
      "curl -sS --max-time 30 -X POST -H 'Content-Type: application/json' "
      "--data-binary " +
      sh_quote(body.dump()) + " -w '\\n%{http_code}' " + sh_quote(url);
  std::string out = run_capture(cmd);
  auto nl = out.rfind('\n');
  if (nl == std::string::npos)
    throw std::runtime_error("unexpected curl output for " + url + ": " + out);
  HttpResult r;
  r.code = std::stol(out.substr(nl + 1));
  r.raw = out.substr(0, nl);
  r.body = nlohmann::json::parse(r.raw, nullptr, /*allow_exceptions=*/false);
  return r;
}

int64_t json_int64(const nlohmann::json& v) {
  if (v.is_string()) return std::stoll(v.get<std::string>());
  if (v.is_number_integer()) return v.get<int64_t>();
  throw std::runtime_error("not an integer: " + v.dump());
}

}  // namespace

const ControlPlane& control_plane() {
  static const ControlPlane cp = load();
  return cp;
}

void restart_apiserver() {
  const ControlPlane& cp = control_plane();
  const std::string cmd = "INGRESSX_CLUSTER_DIR=" + sh_quote(cp.dir) + " " +
                          sh_quote(std::string(INGRESSX_SOURCE_DIR) + "/dev/cluster") +
                          " restart-apiserver 1>&2";
  int status = std::system(cmd.c_str());
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("`dev/cluster restart-apiserver` failed (status " +
                             std::to_string(status) + "); see " + cp.dir +
                             "/logs/kube-apiserver.log");
  }
}

int64_t compact_etcd() {
  // Any range answers with the store's current revision in its header; key "\0".
  HttpResult range = etcd_post("/v3/kv/range", {{"key", "AA=="}, {"count_only", true}});
  if (range.code != 200 || !range.body.is_object() || !range.body.contains("header") ||
      !range.body["header"].contains("revision")) {
    throw std::runtime_error("etcd range failed (HTTP " + std::to_string(range.code) +
                             "): " + range.raw);
  }
  const int64_t revision = json_int64(range.body["header"]["revision"]);

  HttpResult compact =
      etcd_post("/v3/kv/compaction", {{"revision", std::to_string(revision)}, {"physical", true}});
  if (compact.code == 200) return revision;
  // Compacting again at the revision already compacted to (nothing written since) is fine.
  if (compact.raw.find("required revision has been compacted") != std::string::npos)
    return revision;
  throw std::runtime_error("etcd compaction at revision " + std::to_string(revision) +
                           " failed (HTTP " + std::to_string(compact.code) + "): " + compact.raw);
}

}  // namespace ingressx::testing
