#pragma once
// Internal to kubeconfig.cpp: typed, located access to the maps of a kubeconfig file.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ingressx::kubeconfig_detail {

// One map of a kubeconfig file (a cluster, user, context, exec block). Absent and null
// fields read as empty; a field of the wrong type, or any failure, throws Error with
// `where` (e.g. `kubeconfig /x/config: user "admin"`) and the field name.
class Fields {
 public:
  // `file` is the kubeconfig file the map came from; relative paths resolve against its
  // directory.
  Fields(const nlohmann::json& obj, std::string where, std::string file);

  bool has(const char* key) const;  // present and not null
  std::string str(const char* key) const;
  bool boolean(const char* key) const;
  std::vector<std::string> strings(const char* key) const;
  // A list of {name, value} maps, as exec's env.
  std::vector<std::pair<std::string, std::string>> name_values(const char* key) const;
  nlohmann::json object(const char* key) const;  // {} when absent
  Fields sub(const char* key) const;
  // A file path, made absolute against the file's directory; with must_exist, a missing
  // file is Error(kNotFound).
  std::string path(const char* key, bool must_exist = true) const;
  std::string resolve(const std::string& path) const;
  // A base64 field (*-data), decoded.
  std::string base64(const char* key) const;

  [[noreturn]] void fail(const std::string& key, const std::string& msg) const;

 private:
  const nlohmann::json* find(const char* key) const;

  nlohmann::json obj_;
  std::string where_, file_;
};

// Standard base64 (RFC 4648) with optional padding; whitespace is skipped. nullopt if
// the text is not base64.
std::optional<std::string> decode_base64(const std::string& text);

}  // namespace ingressx::kubeconfig_detail
