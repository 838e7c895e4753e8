#include "auth.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client_util.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/error.h"
#include "ingressx/core/process.h"

namespace ingressx::detail {

namespace {

using nlohmann::json;

constexpr const char* kExecV1 = "client.authentication.k8s.io/v1";

std::string plugin_name(const std::string& command) {
  return "exec plugin \"" + command + "\"";
}

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Error::Kind::kNotFound, "cannot read " + what + " " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::string string_at(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "";
  if (!it->is_string()) throw Error(Error::Kind::kDecode, where + ": " + key + " is not a string");
  return it->get<std::string>();
}

}  // namespace

ExecCredential parse_exec_credential(const std::string& output, const std::string& command,
                                     const std::string& expected_api_version) {
  std::string who = plugin_name(command);
  json j = json::parse(output, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    throw Error(Error::Kind::kDecode,
                who + ": output is not an ExecCredential JSON object: " + snippet(output));
  std::string kind = string_at(j, "kind", who);
  if (kind != "ExecCredential")
    throw Error(Error::Kind::kDecode,
                who + ": output has kind \"" + kind + "\", expected \"ExecCredential\"");
  std::string api_version = string_at(j, "apiVersion", who);
  if (!expected_api_version.empty() && api_version != expected_api_version)
    throw Error(Error::Kind::kDecode, who + ": output has apiVersion \"" + api_version +
                                          "\", the kubeconfig asks for \"" + expected_api_version +
                                          "\"");
  auto status = j.find("status");
  if (status == j.end() || !status->is_object())
    throw Error(Error::Kind::kDecode, who + ": ExecCredential has no status");

  ExecCredential c;
  std::string where = who + ": status";
  c.token = string_at(*status, "token", where);
  c.client_certificate_data = string_at(*status, "clientCertificateData", where);
  c.client_key_data = string_at(*status, "clientKeyData", where);
  if (c.client_certificate_data.empty() != c.client_key_data.empty())
    throw Error(Error::Kind::kDecode,
                where + " must set both clientCertificateData and clientKeyData, or neither");
  if (c.token.empty() && c.client_certificate_data.empty())
    throw Error(Error::Kind::kDecode,
                where + " has neither a token nor a clientCertificateData/clientKeyData pair");
  std::string expiry = string_at(*status, "expirationTimestamp", where);
  if (!expiry.empty()) c.expiration = parse_time(expiry, where + ".expirationTimestamp");
  return c;
}

std::string exec_info(const RestConfig& cfg) {
  std::string api_version =
      cfg.exec && !cfg.exec->api_version.empty() ? cfg.exec->api_version : std::string(kExecV1);
  json spec = {{"interactive", false}};
  if (cfg.exec && cfg.exec->provide_cluster_info) {
    json cluster = {{"server", cfg.server}};
    if (!cfg.tls_server_name.empty()) cluster["tls-server-name"] = cfg.tls_server_name;
    if (cfg.insecure_skip_tls_verify) cluster["insecure-skip-tls-verify"] = true;
    std::string ca = cfg.ca_data;
    if (ca.empty() && !cfg.ca_file.empty()) ca = read_file(cfg.ca_file, "certificate-authority");
    if (!ca.empty()) cluster["certificate-authority-data"] = base64_encode(ca);
    if (!cfg.proxy_url.empty()) cluster["proxy-url"] = cfg.proxy_url;
    spec["cluster"] = std::move(cluster);
  }
  json info = {{"apiVersion", api_version}, {"kind", "ExecCredential"}, {"spec", spec}};
  return info.dump();
}

Authenticator::Authenticator(const RestConfig& cfg, ProcessRunner& runner, Clock& clock)
    : cfg_(cfg), runner_(runner), clock_(clock) {}

Credentials Authenticator::credentials() {
  std::lock_guard lock(mu_);
  Credentials c;
  c.generation = generation_;
  if (cfg_.exec) {
    c = exec_credentials();
  } else if (!cfg_.token_file.empty()) {
    c.headers.emplace_back("Authorization", "Bearer " + token_from_file());
  } else if (!cfg_.token.empty()) {
    c.headers.emplace_back("Authorization", "Bearer " + cfg_.token);
  } else if (!cfg_.username.empty() || !cfg_.password.empty()) {
    c.headers.emplace_back("Authorization",
                           "Basic " + base64_encode(cfg_.username + ":" + cfg_.password));
  }
  return c;
}

bool Authenticator::invalidate(const Credentials& used) {
  std::lock_guard lock(mu_);
  if (!cfg_.exec && cfg_.token_file.empty()) return false;
  if (used.generation == generation_) {
    ++generation_;
    exec_cache_.reset();
    file_read_at_.reset();
  }
  return true;
}

uint64_t Authenticator::exec_runs() const {
  std::lock_guard lock(mu_);
  return exec_runs_;
}

Credentials Authenticator::exec_credentials() {
  const ExecConfig& exec = *cfg_.exec;
  bool expired =
      exec_cache_ && exec_cache_->expiration && clock_.wall_now() >= *exec_cache_->expiration;
  if (!exec_cache_ || expired) {
    exec_cache_.reset();
    std::string who = plugin_name(exec.command);
    if (exec.interactive_mode == "Always")
      throw Error(Error::Kind::kInvalidInput,
                  who + " requires interactiveMode Always, but ingressx runs non-interactively");
    ProcessSpec spec;
    spec.argv.push_back(exec.command);
    spec.argv.insert(spec.argv.end(), exec.args.begin(), exec.args.end());
    for (const auto& [name, value] : exec.env) spec.extra_env[name] = value;
    spec.extra_env["KUBERNETES_EXEC_INFO"] = exec_info(cfg_);
    ProcessResult r;
    try {
      ++exec_runs_;
      r = runner_.run(spec);
    } catch (const Error& e) {
      throw Error(e.kind(), who + ": " + e.what());
    }
    if (r.exit_code != 0) {
      std::string err = first_line(r.err);
      throw Error(Error::Kind::kInvalidInput, who + " exited with code " +
                                                  std::to_string(r.exit_code) + ": " +
                                                  (err.empty() ? "(nothing on stderr)" : err));
    }
    exec_cache_ = parse_exec_credential(r.out, exec.command, exec.api_version);
    ++generation_;
  }
  Credentials c;
  c.generation = generation_;
  if (!exec_cache_->token.empty())
    c.headers.emplace_back("Authorization", "Bearer " + exec_cache_->token);
  c.client_cert_pem = exec_cache_->client_certificate_data;
  c.client_key_pem = exec_cache_->client_key_data;
  return c;
}

std::string Authenticator::token_from_file() {
  auto now = clock_.now();
  if (file_read_at_ && now - *file_read_at_ < kTokenFileRefresh) return file_token_;
  try {
    std::string token = trim(read_file(cfg_.token_file, "token file"));
    if (token.empty())
      throw Error(Error::Kind::kInvalidInput, "token file " + cfg_.token_file + " is empty");
    file_token_ = std::move(token);
  } catch (const Error&) {
    // A rotated token is written by replacing the file; keep using the last good token.
    if (file_token_.empty()) throw;
  }
  file_read_at_ = now;
  return file_token_;
}

}  // namespace ingressx::detail
