#include "kubeconfig_fields.h"

#include <filesystem>

#include "ingressx/core/error.h"

namespace ingressx::kubeconfig_detail {

namespace {

using nlohmann::json;

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      return "a map";
    case json::value_t::array:
      return "a list";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

Fields::Fields(const json& obj, std::string where, std::string file)
    : obj_(obj.is_null() ? json::object() : obj), where_(std::move(where)), file_(std::move(file)) {
  if (!obj_.is_object()) {
    throw Error(Error::Kind::kInvalidInput, where_ + ": expected a map, found " + type_name(obj_));
  }
}

void Fields::fail(const std::string& key, const std::string& msg) const {
  throw Error(Error::Kind::kInvalidInput, where_ + ": " + key + ": " + msg);
}

const json* Fields::find(const char* key) const {
  auto it = obj_.find(key);
  return it == obj_.end() || it->is_null() ? nullptr : &*it;
}

bool Fields::has(const char* key) const {
  return find(key) != nullptr;
}

std::string Fields::str(const char* key) const {
  const json* v = find(key);
  if (!v) return "";
  if (!v->is_string()) fail(key, std::string("expected a string, found ") + type_name(*v));
  return v->get<std::string>();
}

bool Fields::boolean(const char* key) const {
  const json* v = find(key);
  if (!v) return false;
  if (!v->is_boolean()) fail(key, std::string("expected true or false, found ") + type_name(*v));
  return v->get<bool>();
}

std::vector<std::string> Fields::strings(const char* key) const {
  std::vector<std::string> out;
  const json* v = find(key);
  if (!v) return out;
  if (!v->is_array()) fail(key, std::string("expected a list of strings, found ") + type_name(*v));
  for (const auto& item : *v) {
    if (!item.is_string()) fail(key, "expected a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Fields::name_values(const char* key) const {
  std::vector<std::pair<std::string, std::string>> out;
  const json* v = find(key);
  if (!v) return out;
  if (!v->is_array()) fail(key, "expected a list of {name, value}");
  for (size_t i = 0; i < v->size(); ++i) {
    Fields item((*v)[i], where_ + ": " + key + "[" + std::to_string(i) + "]", file_);
    std::string name = item.str("name");
    if (name.empty()) item.fail("name", "missing");
    out.emplace_back(name, item.str("value"));
  }
  return out;
}

json Fields::object(const char* key) const {
  const json* v = find(key);
  if (!v) return json::object();
  if (!v->is_object()) fail(key, std::string("expected a map, found ") + type_name(*v));
  return *v;
}

Fields Fields::sub(const char* key) const {
  return Fields(object(key), where_ + ": " + key, file_);
}

std::string Fields::resolve(const std::string& path) const {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(file_).parent_path() / p;
  return p.lexically_normal().string();
}

std::string Fields::path(const char* key, bool must_exist) const {
  std::string p = str(key);
  if (p.empty()) return p;
  p = resolve(p);
  std::error_code ec;
  if (must_exist && !std::filesystem::exists(p, ec)) {
    throw Error(Error::Kind::kNotFound, where_ + ": " + key + ": " + p + ": no such file");
  }
  return p;
}

std::string Fields::base64(const char* key) const {
  std::string text = str(key);
  auto decoded = decode_base64(text);
  if (!decoded) fail(key, "not valid base64");
  return *decoded;
}

std::optional<std::string> decode_base64(const std::string& text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0, chars = 0, padding = 0;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    int v = sextet(c);
    if (v < 0 || padding > 0) return std::nullopt;  // bad character, or data after '='
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    ++chars;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  if (chars % 4 == 1) return std::nullopt;
  if (padding > 2 || (padding > 0 && (chars + padding) % 4 != 0)) return std::nullopt;
  return out;
}

}  // namespace ingressx::kubeconfig_detail
