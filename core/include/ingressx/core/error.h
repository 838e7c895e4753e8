#pragma once
// The one error type that crosses ingressx's boundaries. Every failure a user can cause
// or the environment can produce (bad kubeconfig, unreachable server, API rejection) is
// reported as an Error whose message names the file, field or URL and what was expected.

#include <stdexcept>
#include <string>

namespace ingressx {

class Error : public std::runtime_error {
 public:
  enum class Kind {
    kInvalidInput,  // a file, flag or field the user gave is wrong
    kNotFound,      // a file or API object does not exist
    kTransport,     // network failure: connect, TLS, timeout
    kApi,           // the API server answered with a non-2xx Status
    kDecode,        // a peer answered something that could not be parsed
    kInternal,
  };

  Error(Kind kind, std::string message) : std::runtime_error(message), kind_(kind) {}
  // An API failure; `reason` is the metav1.Status reason (e.g. "NotFound", "Conflict").
  Error(int http_status, std::string reason, std::string message)
      : std::runtime_error(std::move(message)),
        kind_(Kind::kApi),
        http_status_(http_status),
        reason_(std::move(reason)) {}

  Kind kind() const { return kind_; }
  int http_status() const { return http_status_; }  // 0 unless kind() == kApi
  const std::string& reason() const { return reason_; }

  bool is_not_found() const { return http_status_ == 404 || kind_ == Kind::kNotFound; }
  bool is_conflict() const { return http_status_ == 409; }
  bool is_gone() const { return http_status_ == 410; }
  bool is_already_exists() const { return reason_ == "AlreadyExists"; }

 private:
  Kind kind_;
  int http_status_ = 0;
  std::string reason_;
};

}  // namespace ingressx
