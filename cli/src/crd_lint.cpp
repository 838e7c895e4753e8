#include "crd_lint.h"

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>

#include "ingressx/api/duration.h"

namespace ingressx::cli {

using json = nlohmann::json;

namespace {

std::string join_path(const std::string& base, const std::string& key) {
  return base.empty() ? key : base + "." + key;
}

std::string json_type(const json& v) {
  if (v.is_string()) return "string";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_boolean()) return "boolean";
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  return "null";
}

std::string num(const json& v) {
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == static_cast<double>(static_cast<long long>(d)))
      return std::to_string(static_cast<long long>(d));
  }
  return v.dump();
}

// ---- defaults (structural defaulting, top down, into defaulted values too) ----

void apply_defaults(json& v, const json& schema) {
  if (v.is_object() && schema.contains("properties")) {
    for (const auto& [key, sub] : schema["properties"].items()) {
      if (!v.contains(key) && sub.contains("default")) v[key] = sub["default"];
      if (v.contains(key)) apply_defaults(v[key], sub);
    }
  }
  if (v.is_object() && schema.contains("additionalProperties") &&
      schema["additionalProperties"].is_object()) {
    for (auto& [key, item] : v.items()) apply_defaults(item, schema["additionalProperties"]);
  }
  if (v.is_array() && schema.contains("items")) {
    for (auto& item : v) apply_defaults(item, schema["items"]);
  }
}

// ---- the OpenAPI schema ----

struct Checker {
  LintResult& out;

  void error(const std::string& path, const std::string& what) {
    out.errors.push_back((path.empty() ? std::string("<root>") : path) + ": " + what);
  }

  bool type_ok(const json& v, const json& schema, const std::string& path) {
    if (schema.value("x-kubernetes-int-or-string", false)) {
      if (v.is_string() || v.is_number_integer()) return true;
      error(path, "Invalid value: \"" + json_type(v) + "\": " + path +
                      " in body must be of type integer-or-string: \"" + json_type(v) + "\"");
      return false;
    }
    if (!schema.contains("type")) return true;
    std::string want = schema["type"];
    std::string got = json_type(v);
    bool ok = got == want || (want == "number" && got == "integer");
    if (!ok)
      error(path, "Invalid value: \"" + got + "\": " + path + " in body must be of type " + want +
                      ": \"" + got + "\"");
    return ok;
  }

  void check(const json& v, const json& schema, const std::string& path, bool root = false) {
    if (v.is_null() && schema.value("nullable", false)) return;
    if (!type_ok(v, schema, path)) return;
    if (schema.contains("enum")) {
      bool found = false;
      for (const auto& e : schema["enum"]) found = found || e == v;
      if (!found) {
        std::string values;
        for (const auto& e : schema["enum"]) values += (values.empty() ? "" : ", ") + e.dump();
        error(path, "Unsupported value: " + v.dump() + ": supported values: " + values);
      }
    }
    if (v.is_number()) {
      if (schema.contains("minimum") && v.get<double>() < schema["minimum"].get<double>())
        error(path, "Invalid value: " + num(v) + ": " + path +
                        " in body should be greater than or equal to " + num(schema["minimum"]));
      if (schema.contains("maximum") && v.get<double>() > schema["maximum"].get<double>())
        error(path, "Invalid value: " + num(v) + ": " + path +
                        " in body should be less than or equal to " + num(schema["maximum"]));
    }
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      if (schema.contains("maxLength") && s.size() > schema["maxLength"].get<size_t>())
        error(path, "Too long: may not be longer than " + num(schema["maxLength"]));
      if (schema.contains("minLength") && s.size() < schema["minLength"].get<size_t>())
        error(path, "Invalid value: " + v.dump() + ": " + path + " in body should be at least " +
                        num(schema["minLength"]) + " chars long");
      if (schema.contains("pattern")) {
        std::string p = schema["pattern"];
        if (!std::regex_search(s, std::regex(p, std::regex::ECMAScript)))
          error(path,
                "Invalid value: " + v.dump() + ": " + path + " in body should match '" + p + "'");
      }
    }
    if (v.is_array()) check_array(v, schema, path);
    if (v.is_object()) check_object(v, schema, path, root);
  }

  void check_array(const json& v, const json& schema, const std::string& path) {
    if (schema.contains("minItems") && v.size() < schema["minItems"].get<size_t>())
      error(path, "Invalid value: " + std::to_string(v.size()) + ": " + path +
                      " in body should have at least " + num(schema["minItems"]) + " items");
    if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<size_t>())
      error(path, "Too many: " + std::to_string(v.size()) + ": must have at most " +
                      num(schema["maxItems"]) + " items");
    std::string list_type = schema.value("x-kubernetes-list-type", "");
    std::set<std::string> seen;
    for (size_t i = 0; i < v.size(); ++i) {
      std::string ipath = path + "[" + std::to_string(i) + "]";
      if (schema.contains("items")) check(v[i], schema["items"], ipath);
      std::string key;
      if (list_type == "set") {
        key = v[i].dump();
      } else if (list_type == "map" && schema.contains("x-kubernetes-list-map-keys") &&
                 v[i].is_object()) {
        json k = json::object();
        for (const auto& name : schema["x-kubernetes-list-map-keys"])
          k[name.get<std::string>()] = v[i].value(name.get<std::string>(), json());
        key = k.dump();
      } else {
        continue;
      }
      if (!seen.insert(key).second) error(ipath, "Duplicate value: " + key);
    }
  }

  void check_object(const json& v, const json& schema, const std::string& path, bool root) {
    for (const auto& r : schema.value("required", json::array())) {
      std::string key = r;
      if (!v.contains(key) || v[key].is_null()) error(join_path(path, key), "Required value");
    }
    if (schema.contains("minProperties") && v.size() < schema["minProperties"].get<size_t>())
      error(path, "Invalid value: " + std::to_string(v.size()) + ": " + path +
                      " in body should have at least " + num(schema["minProperties"]) +
                      " properties");
    if (schema.contains("maxProperties") && v.size() > schema["maxProperties"].get<size_t>())
      error(path, "Too many: " + std::to_string(v.size()) + ": must have at most " +
                      num(schema["maxProperties"]) + " items");
    const bool preserve = schema.value("x-kubernetes-preserve-unknown-fields", false);
    for (const auto& [key, item] : v.items()) {
      std::string p = join_path(path, key);
      if (schema.contains("properties") && schema["properties"].contains(key)) {
        if (item.is_null() && !schema["properties"][key].value("nullable", false)) continue;
        check(item, schema["properties"][key], p);
      } else if (schema.contains("additionalProperties") &&
                 schema["additionalProperties"].is_object()) {
        check(item, schema["additionalProperties"], p);
      } else if (schema.contains("properties") && !preserve && !(root && key == "status")) {
        out.warnings.push_back(p + ": unknown field (the apiserver drops it)");
      }
    }
  }
};

// ---- the CEL rules ----

// Seconds of a duration that is_duration() admits.
double go_duration(const std::string& s) {
  return static_cast<double>(api::parse_duration(s, "duration").count()) / 1000;
}

// CEL's `matches(kDur)`: the CRDs' duration pattern.
bool is_duration(const json& v) {
  return v.is_string() && api::is_api_duration(v.get<std::string>());
}

// self.a.b.c: the value or nullptr.
const json* at(const json& self, const std::string& dotted) {
  const json* cur = &self;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t end = dotted.find('.', start);
    if (end == std::string::npos) end = dotted.size();
    std::string key = dotted.substr(start, end - start);
    if (!cur->is_object() || !cur->contains(key)) return nullptr;
    cur = &(*cur)[key];
    start = end + 1;
  }
  return cur;
}
bool has(const json& self, const std::string& dotted) {
  return at(self, dotted) != nullptr;
}
std::string str(const json& self, const std::string& dotted) {
  const json* v = at(self, dotted);
  return v && v->is_string() ? v->get<std::string>() : "";
}

struct Rule {
  std::function<bool(const json&)> ok;
  std::function<std::string(const json&)> message;  // for messageExpression
};

const std::map<std::string, Rule>& rules() {
  static const std::string kDur = "'^([0-9]+([.][0-9]+)?(ms|s|m|h))+$'";
  static const std::map<std::string, Rule> m = {
      {"self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$') && "
       "size(self.metadata.name) <= 52",
       {[](const json& s) {
          std::string n = str(s, "metadata.name");
          return std::regex_match(n, std::regex("^[a-z]([-a-z0-9]*[a-z0-9])?$")) && n.size() <= 52;
        },
        nullptr}},
      {"!has(self.proxy.container) || self.template.spec.containers.exists(c, c.name == "
       "self.proxy.container)",
       {[](const json& s) {
          if (!has(s, "proxy.container")) return true;
          const json* cs = at(s, "template.spec.containers");
          if (!cs || !cs->is_array()) return false;
          for (const auto& c : *cs)
            if (c.value("name", "") == str(s, "proxy.container")) return true;
          return false;
        },
        nullptr}},
      {"!(self.cutover.type == 'weight' && has(self.cutover.weight) && "
       "has(self.cutover.weight.haproxy)) || (self.strategy.type == 'TempFleet' ? "
       "has(self.cutover.weight.haproxy.servers.primary) && "
       "has(self.cutover.weight.haproxy.servers.temp) : "
       "has(self.cutover.weight.haproxy.servers.blue) && "
       "has(self.cutover.weight.haproxy.servers.green))",
       {[](const json& s) {
          if (!(str(s, "cutover.type") == "weight" && has(s, "cutover.weight.haproxy")))
            return true;
          const std::string p = "cutover.weight.haproxy.servers.";
          return str(s, "strategy.type") == "TempFleet"
                     ? has(s, p + "primary") && has(s, p + "temp")
                     : has(s, p + "blue") && has(s, p + "green");
        },
        nullptr}},
      {"self.type != 'ClusterIP' || self.ports.all(p, !has(p.nodePort))",
       {[](const json& s) {
          if (str(s, "type") != "ClusterIP") return true;
          for (const auto& p : s.value("ports", json::array()))
            if (p.contains("nodePort")) return false;
          return true;
        },
        nullptr}},
      {"self.ports.all(p, self.ports.exists_one(q, q.port == p.port && q.protocol == "
       "p.protocol))",
       {[](const json& s) {
          const json ports = s.value("ports", json::array());
          for (const auto& p : ports) {
            int n = 0;
            for (const auto& q : ports)
              if (q.value("port", json()) == p.value("port", json()) &&
                  q.value("protocol", json()) == p.value("protocol", json()))
                ++n;
            if (n != 1) return false;
          }
          return true;
        },
        nullptr}},
      {"self.drain.connectionSource != 'metrics' || self.kind in ['ingress-nginx', 'apisix', "
       "'envoy'] || (self.kind in ['nginx', 'openresty'] && has(self.adminURL)) || (self.kind "
       "== 'haproxy' && has(self.statsSocket))",
       {[](const json& s) {
          std::string k = str(s, "kind");
          return str(s, "drain.connectionSource") != "metrics" || k == "ingress-nginx" ||
                 k == "apisix" || k == "envoy" ||
                 ((k == "nginx" || k == "openresty") && has(s, "adminURL")) ||
                 (k == "haproxy" && has(s, "statsSocket"));
        },
        nullptr}},
      {"!self.minDrain.matches(" + kDur + ") || !self.maxDrain.matches(" + kDur +
           ") || duration(self.minDrain) <= duration(self.maxDrain)",
       {[](const json& s) {
          const json* a = at(s, "minDrain");
          const json* b = at(s, "maxDrain");
          if (!a || !b || !is_duration(*a) || !is_duration(*b)) return true;
          return go_duration(*a) <= go_duration(*b);
        },
        [](const json& s) {
          return "must not exceed proxy.drain.maxDrain (minDrain " + str(s, "minDrain") +
                 " > maxDrain " + str(s, "maxDrain") + ")";
        }}},
      {"!self.maxDrain.matches(" + kDur + ") || duration(self.maxDrain) > duration('0s')",
       {[](const json& s) {
          const json* b = at(s, "maxDrain");
          return !b || !is_duration(*b) || go_duration(*b) > 0;
        },
        nullptr}},
      {"!has(self.pollInterval) || !self.pollInterval.matches(" + kDur +
           ") || duration(self.pollInterval) > duration('0s')",
       {[](const json& s) {
          const json* p = at(s, "pollInterval");
          return !p || !is_duration(*p) || go_duration(*p) > 0;
        },
        nullptr}},
      {"!self.propagationDelay.matches(" + kDur + ") || !self.maxDrain.matches(" + kDur +
           ") || duration(self.propagationDelay) + duration(self.maxDrain) <= duration('2h')",
       {[](const json& s) {
          const json* a = at(s, "propagationDelay");
          const json* b = at(s, "maxDrain");
          if (!a || !b || !is_duration(*a) || !is_duration(*b)) return true;
          return go_duration(*a) + go_duration(*b) <= 7200;
        },
        nullptr}},
      {"self.steps[size(self.steps) - 1].weight == 100",
       {[](const json& s) {
          const json* st = at(s, "steps");
          return st && st->is_array() && !st->empty() && st->back().value("weight", -1) == 100;
        },
        nullptr}},
      {"has(self.httpRouteRef) || has(self.tcpRouteRef)",
       {[](const json& s) { return has(s, "httpRouteRef") || has(s, "tcpRouteRef"); }, nullptr}},
      {"self.type != 'dns' || self.steps.all(s, s.weight == 100)",
       {[](const json& s) {
          if (str(s, "type") != "dns") return true;
          for (const auto& st : s.value("steps", json::array()))
            if (st.value("weight", -1) != 100) return false;
          return true;
        },
        nullptr}},
  };
  return m;
}

// "self.X == 'v' || !has(self.Y)" and the like: the common conditional presence rule.
std::optional<Rule> presence_rule(const std::string& text) {
  static const std::regex re(
      R"(^self\.([\w.]+) (==|!=) '([^']*)' \|\| (!?)has\(self\.([\w.]+)\)$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  std::string lhs = m[1], op = m[2], lit = m[3], neg = m[4], field = m[5];
  return Rule{[=](const json& s) {
                bool eq = str(s, lhs) == lit;
                bool cond = op == "==" ? eq : !eq;
                bool present = has(s, field);
                return cond || (neg.empty() ? present : !present);
              },
              nullptr};
}

struct RuleRunner {
  LintResult& out;

  void run(const json& v, const json& schema, const std::string& path) {
    for (const auto& r : schema.value("x-kubernetes-validations", json::array())) {
      std::string text = r.value("rule", "");
      if (text.find("oldSelf") != std::string::npos) continue;  // transition rules: updates only
      std::optional<Rule> rule;
      if (auto it = rules().find(text); it != rules().end()) rule = it->second;
      if (!rule) rule = presence_rule(text);
      if (!rule) {
        out.warnings.push_back((path.empty() ? "<root>" : path) +
                               ": rule not checked offline: " + text);
        continue;
      }
      bool ok = false;
      try {
        ok = rule->ok(v);
      } catch (const std::exception&) {
        ok = false;
      }
      if (ok) continue;
      std::string fp = r.value("fieldPath", "");
      std::string p = path;
      if (!fp.empty()) p = path + fp;  // fieldPath starts with '.'
      if (!p.empty() && p[0] == '.') p = p.substr(1);
      if (p.empty() && text.find("self.metadata.name") != std::string::npos) p = "metadata.name";
      if (p.empty()) p = "<root>";
      std::string msg = rule->message ? rule->message(v) : r.value("message", "");
      if (msg.empty()) msg = "failed rule: " + text;
      std::string reason = r.value("reason", "FieldValueInvalid");
      std::string type = schema.value("type", "object");
      if (reason == "FieldValueForbidden") {
        out.errors.push_back(p + ": Forbidden: " + msg);
      } else if (reason == "FieldValueRequired") {
        out.errors.push_back(p + ": Required value: " + msg);
      } else if (reason == "FieldValueDuplicate") {
        out.errors.push_back(p + ": Duplicate value: \"" + type + "\": " + msg);
      } else {
        out.errors.push_back(p + ": Invalid value: \"" + type + "\": " + msg);
      }
    }
    if (v.is_object()) {
      if (schema.contains("properties")) {
        for (const auto& [key, sub] : schema["properties"].items())
          if (v.contains(key)) run(v[key], sub, join_path(path, key));
      }
      if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object())
        for (const auto& [key, item] : v.items())
          run(item, schema["additionalProperties"], join_path(path, key));
    }
    if (v.is_array() && schema.contains("items")) {
      for (size_t i = 0; i < v.size(); ++i)
        run(v[i], schema["items"], path + "[" + std::to_string(i) + "]");
    }
  }
};

}  // namespace

LintResult lint_object(const json& crd, const json& obj) {
  LintResult out;
  const json& versions = crd["spec"]["versions"];
  std::string api_version = obj.value("apiVersion", "");
  const json* schema = nullptr;
  for (const auto& v : versions) {
    if (crd["spec"]["group"].get<std::string>() + "/" + v["name"].get<std::string>() == api_version)
      schema = &v["schema"]["openAPIV3Schema"];
  }
  if (!schema) {
    std::string served;
    for (const auto& v : versions)
      served += (served.empty() ? "" : ", ") + crd["spec"]["group"].get<std::string>() + "/" +
                v["name"].get<std::string>();
    out.errors.push_back("apiVersion: Unsupported value: \"" + api_version +
                         "\": supported values: \"" + served + "\"");
    return out;
  }
  if (!obj.contains("metadata") || !obj["metadata"].is_object() ||
      !obj["metadata"].contains("name")) {
    out.errors.push_back("metadata.name: Required value: name or generateName is required");
    return out;
  }
  json v = obj;
  apply_defaults(v, *schema);
  Checker{out}.check(v, *schema, "", true);
  // Like the apiserver, the CEL rules are only evaluated on a well-formed object.
  if (out.errors.empty()) RuleRunner{out}.run(v, *schema, "");
  return out;
}

}  // namespace ingressx::cli
