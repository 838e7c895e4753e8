// The yaml-cpp adapter: the only file that includes yaml-cpp.
#include "ingressx/core/yaml.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "ingressx/core/error.h"

namespace ingressx {

namespace {

using nlohmann::json;

constexpr int kMaxDepth = 512;

bool one_of(std::string_view s, std::initializer_list<std::string_view> words) {
  for (auto w : words) {
    if (s == w) return true;
  }
  return false;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_octal(char c) {
  return c >= '0' && c <= '7';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ (YAML 1.2 core schema).
std::optional<json> resolve_int(std::string_view s) {
  int base = 10;
  bool negative = false;
  std::string_view digits = s;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    base = s[1] == 'o' ? 8 : 16;
    digits = s.substr(2);
    if (!all_of(digits, base == 8 ? is_octal : is_hex)) return std::nullopt;
  } else {
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      negative = digits[0] == '-';
      digits = digits.substr(1);
    }
    if (!all_of(digits, is_digit)) return std::nullopt;
  }
  uint64_t magnitude = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec == std::errc() && p == digits.data() + digits.size()) {
    if (!negative) {
      if (magnitude <= static_cast<uint64_t>(INT64_MAX))
        return json(static_cast<int64_t>(magnitude));
      return json(magnitude);
    }
    if (magnitude <= static_cast<uint64_t>(INT64_MAX) + 1) {
      return json(static_cast<int64_t>(0 - magnitude));
    }
  }
  // Too large for 64 bits: keep the value, as a float (what Go's YAML decoding does).
  double d = 0;
  std::string text(digits);
  auto fr = std::from_chars(text.data(), text.data() + text.size(), d);
  if (base != 10 || fr.ec != std::errc()) return std::nullopt;
  return json(negative ? -d : d);
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
std::optional<json> resolve_float(std::string_view s) {
  std::string_view body = s;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) body = body.substr(1);
  size_t i = 0, int_digits = 0, frac_digits = 0;
  while (i < body.size() && is_digit(body[i])) ++i, ++int_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && is_digit(body[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return std::nullopt;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '-' || body[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < body.size() && is_digit(body[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != body.size()) return std::nullopt;
  double d = 0;
  auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), d);
  if (ec != std::errc() || p != body.data() + body.size() || !std::isfinite(d)) {
    return std::nullopt;
  }
  return json(s[0] == '-' ? -d : d);
}

// Types a plain (unquoted, untagged) scalar; nullopt means it is a string.
std::optional<json> resolve_plain(const std::string& s) {
  if (one_of(s, {"", "~", "null", "Null", "NULL"})) return json(nullptr);
  if (one_of(s, {"true", "True", "TRUE"})) return json(true);
  if (one_of(s, {"false", "False", "FALSE"})) return json(false);
  if (s.empty() || !(is_digit(s[0]) || s[0] == '-' || s[0] == '+' || s[0] == '.')) {
    return std::nullopt;
  }
  if (auto i = resolve_int(s)) return i;
  return resolve_float(s);
}

class Converter {
 public:
  // Without aliases a document has fewer nodes than characters; the node budget only stops
  // alias expansion ("billion laughs") from blowing up.
  Converter(const std::string& source, const std::string& text)
      : source_(source), max_nodes_(100'000 + 10 * text.size()) {}

  json convert(const YAML::Node& node, int depth) {
    if (depth > kMaxDepth) throw error(node, "nesting deeper than 512 levels");
    if (++nodes_ > max_nodes_) throw error(node, "aliases expand to too many nodes");
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return json(nullptr);
      case YAML::NodeType::Scalar:
        return scalar(node);
      case YAML::NodeType::Sequence: {
        json arr = json::array();
        for (const auto& item : node) arr.push_back(convert(item, depth + 1));
        return arr;
      }
      case YAML::NodeType::Map:
        return map(node, depth);
    }
    return json(nullptr);
  }

  Error error(const YAML::Node& node, const std::string& msg) const {
    auto mark = node.Mark();
    return located(mark.line, mark.column, msg);
  }
  Error located(int line, int column, const std::string& msg) const {
    return Error(Error::Kind::kDecode, source_ + ": line " + std::to_string(line + 1) +
                                           ", column " + std::to_string(column + 1) + ": " + msg);
  }

 private:
  static json scalar(const YAML::Node& node) {
    const std::string& tag = node.Tag();
    const std::string& value = node.Scalar();
    if (tag == "?" || one_of(tag, {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                                   "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"})) {
      if (auto typed = resolve_plain(value)) return *typed;
    }
    return json(value);  // quoted ("!"), !!str and unknown tags stay strings
  }

  std::string key_string(const YAML::Node& key, int depth) {
    if (key.Type() == YAML::NodeType::Scalar) return key.Scalar();
    if (key.Type() == YAML::NodeType::Null) return "null";
    return convert(key, depth + 1).dump();
  }

  json map(const YAML::Node& node, int depth) {
    json obj = json::object();
    std::vector<json> merged;  // "<<" merge keys; explicit keys take precedence
    for (const auto& kv : node) {
      if (kv.first.Type() == YAML::NodeType::Scalar && kv.first.Tag() == "?" &&
          kv.first.Scalar() == "<<") {
        json m = convert(kv.second, depth + 1);
        if (m.is_object()) {
          merged.push_back(std::move(m));
        } else if (m.is_array()) {
          for (auto& e : m) {
            if (!e.is_object()) throw error(kv.second, "merge key \"<<\" needs maps");
            merged.push_back(std::move(e));
          }
        } else {
          throw error(kv.second, "merge key \"<<\" needs a map or a list of maps");
        }
        continue;
      }
      std::string key = key_string(kv.first, depth);
      if (obj.contains(key)) throw error(kv.first, "duplicate key \"" + key + "\"");
      obj[key] = convert(kv.second, depth + 1);
    }
    for (const auto& m : merged) {  // earlier maps in a merge list win, as in YAML 1.1
      for (const auto& [k, v] : m.items()) {
        if (!obj.contains(k)) obj[k] = v;
      }
    }
    return obj;
  }

  const std::string& source_;
  size_t nodes_ = 0;
  size_t max_nodes_;
};

std::vector<YAML::Node> load_all(const std::string& text, const Converter& conv) {
  try {
    return YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw conv.located(e.mark.line, e.mark.column, e.msg);
  }
}

// Would a plain scalar with this text read back as something other than this string, in
// YAML 1.2 or in YAML 1.1 (yes/no/on/off, octal, sexagesimal, timestamps)? Characters
// that YAML itself gives meaning to (": ", "#", leading "-", ...) are yaml-cpp's concern.
bool needs_quotes(const std::string& s) {
  if (s.empty() || resolve_plain(s)) return true;
  if (one_of(s, {"y",     "Y",     "yes",   "Yes",  "YES",  "n",    "N",    "no",   "No",   "NO",
                 "on",    "On",    "ON",    "off",  "Off",  "OFF",  ".inf", ".Inf", ".INF", "-.inf",
                 "-.Inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN", "<<",   "="})) {
    return true;
  }
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i < s.size() && s[i] == '.') ++i;
  return i < s.size() && is_digit(s[i]);  // number-like ("1_000", "1:30", "2026-11-23")
}

// A block literal ("|") reproduces the string exactly only if it ends with one newline,
// does not start with a space or newline and has no characters needing escapes.
bool fits_literal(const std::string& s) {
  if (s.size() < 2 || s.back() != '\n' || s[s.size() - 2] == '\n') return false;
  if (s.find('\n') == s.size() - 1) return false;  // single line: quoting reads better
  if (s[0] == ' ' || s[0] == '\n' || s[0] == '\t') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
    if (c == ' ' && (i + 1 == s.size() || s[i + 1] == '\n')) return false;  // trailing space
  }
  return true;
}

void emit_string(YAML::Emitter& out, const std::string& s) {
  if (needs_quotes(s)) {
    out << YAML::DoubleQuoted << s;
  } else if (fits_literal(s)) {
    // "|" keeps the final line break itself; emitting it too would add a blank line.
    out << YAML::Literal << s.substr(0, s.size() - 1);
  } else {
    out << s;
  }
}

void emit(YAML::Emitter& out, const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      if (v.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      out << YAML::BeginMap;
      for (const auto& [k, item] : v.items()) {
        out << YAML::Key;
        emit_string(out, k);
        out << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      if (v.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      out << YAML::BeginSeq;
      for (const auto& item : v) emit(out, item);
      out << YAML::EndSeq;
      break;
    case json::value_t::string:
      emit_string(out, v.get_ref<const std::string&>());
      break;
    case json::value_t::number_float: {
      double d = v.get<double>();
      if (std::isnan(d)) {
        out << ".nan";
      } else if (std::isinf(d)) {
        out << (d > 0 ? ".inf" : "-.inf");
      } else {
        out << v.dump();
      }
      break;
    }
    case json::value_t::null:
    case json::value_t::discarded:
      out << YAML::Null;
      break;
    default:
      out << v.dump();  // booleans and integers
  }
}

}  // namespace

json yaml_to_json(const std::string& text, const std::string& source) {
  Converter conv(source, text);
  json result(nullptr);
  int documents = 0;
  for (const auto& doc : load_all(text, conv)) {
    if (doc.IsNull()) continue;
    if (++documents > 1) {
      throw conv.error(doc, "expected one YAML document, found another (\"---\")");
    }
    result = conv.convert(doc, 0);
  }
  return result;
}

std::vector<json> yaml_to_json_all(const std::string& text, const std::string& source) {
  Converter conv(source, text);
  std::vector<json> out;
  for (const auto& doc : load_all(text, conv)) {
    if (!doc.IsNull()) out.push_back(conv.convert(doc, 0));
  }
  return out;
}

std::string json_to_yaml(const json& value) {
  YAML::Emitter out;
  out.SetNullFormat(YAML::LowerNull);
  emit(out, value);
  if (!out.good()) {
    throw Error(Error::Kind::kInternal, "json_to_yaml: " + out.GetLastError());
  }
  return std::string(out.c_str()) + "\n";
}

}  // namespace ingressx
