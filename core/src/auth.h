#pragma once
// Client authentication (internal to core): turns a RestConfig into request headers and, for
// exec plugins that return certificates, a client certificate and key for the transport.
//
// Precedence: exec plugin, then token file, then static token, then basic auth. Client
// certificates from the RestConfig itself are the transport's business, not this class's.
// Thread-safe: concurrent callers share one token-file read and one plugin run.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ingressx/core/kubeconfig.h"

namespace ingressx {

class Clock;
class ProcessRunner;

namespace detail {

struct Credentials {
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization
  std::string client_cert_pem, client_key_pem;               // exec plugin certificates
  uint64_t generation = 0;                                   // for Authenticator::invalidate
};

// The status of a client.authentication.k8s.io ExecCredential.
struct ExecCredential {
  std::string token;
  std::string client_certificate_data, client_key_data;  // PEM
  std::optional<std::chrono::system_clock::time_point> expiration;
};

// Parses a plugin's stdout. `expected_api_version` (if not empty) must match the output's
// apiVersion. Throws Error(kInvalidInput|kDecode) naming `command`.
ExecCredential parse_exec_credential(const std::string& output, const std::string& command,
                                     const std::string& expected_api_version = "");

// The KUBERNETES_EXEC_INFO value handed to the plugin: an ExecCredential with
// spec.interactive = false and, with provideClusterInfo, spec.cluster.
std::string exec_info(const RestConfig& cfg);

class Authenticator {
 public:
  static constexpr std::chrono::seconds kTokenFileRefresh{60};

  Authenticator(const RestConfig& cfg, ProcessRunner& runner, Clock& clock);

  // The credentials for the next request; may read the token file or run the exec plugin.
  // Throws Error naming the file or the plugin command.
  Credentials credentials();
  // Called after a 401 answered a request made with `used`: forgets cached plugin output (and
  // forces a token-file re-read) unless another caller already did. Returns false when fresh
  // credentials cannot differ (static token, basic auth, none), so retrying is pointless.
  bool invalidate(const Credentials& used);
  uint64_t exec_runs() const;

 private:
  Credentials exec_credentials();  // with mu_ held
  std::string token_from_file();   // with mu_ held

  const RestConfig cfg_;
  ProcessRunner& runner_;
  Clock& clock_;
  mutable std::mutex mu_;
  uint64_t generation_ = 1;
  uint64_t exec_runs_ = 0;
  std::optional<ExecCredential> exec_cache_;
  std::string file_token_;
  std::optional<std::chrono::steady_clock::time_point> file_read_at_;
};

}  // namespace detail
}  // namespace ingressx
