#include "ingressx/core/yaml.h"

#include <catch2/catch.hpp>

#include "ingressx/core/error.h"

using namespace ingressx;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;

namespace {

Error decode_error(const std::string& text) {
  try {
    yaml_to_json(text, "test.yaml");
  } catch (const Error& e) {
    return e;
  }
  FAIL("yaml_to_json did not throw");
  return Error(Error::Kind::kInternal, "unreachable");
}

}  // namespace

TEST_CASE("plain scalars are typed, quoted ones stay strings", "[yaml]") {
  json j = yaml_to_json(R"(
t: true
T: True
f: false
n: null
tilde: ~
empty:
int: 123
neg: -7
plus: +12
hex: 0x1F
oct: 0o17
big: 12345678901234567890
float: 1.5
exp: 1e3
dot: .5
qtrue: "true"
qint: '123'
qnull: "null"
yes: yes
inf: .inf
version: 1.2.3
str: hello world
date: 2026-11-23
literal: |
  line one
  line two
tagged: !!str 42
)",
                        "test.yaml");
  CHECK(j["t"] == true);
  CHECK(j["T"] == true);
  CHECK(j["f"] == false);
  CHECK(j["n"].is_null());
  CHECK(j["tilde"].is_null());
  CHECK(j["empty"].is_null());
  CHECK(j["int"] == 123);
  CHECK(j["int"].is_number_integer());
  CHECK(j["neg"] == -7);
  CHECK(j["plus"] == 12);
  CHECK(j["hex"] == 31);
  CHECK(j["oct"] == 15);
  CHECK(j["big"].is_number_unsigned());
  CHECK(j["big"].get<uint64_t>() == 12345678901234567890ULL);
  CHECK(j["float"] == 1.5);
  CHECK(j["exp"] == 1000.0);
  CHECK(j["exp"].is_number_float());
  CHECK(j["dot"] == 0.5);
  CHECK(j["qtrue"] == "true");
  CHECK(j["qint"] == "123");
  CHECK(j["qnull"] == "null");
  CHECK(j["yes"] == "yes");   // YAML 1.2: only true/false are booleans
  CHECK(j["inf"] == ".inf");  // JSON has no infinity
  CHECK(j["version"] == "1.2.3");
  CHECK(j["str"] == "hello world");
  CHECK(j["date"] == "2026-11-23");
  CHECK(j["literal"] == "line one\nline two\n");
  CHECK(j["tagged"] == "42");
}

TEST_CASE("structure: nested maps and lists, keys, anchors", "[yaml]") {
  json j = yaml_to_json(R"(
spec:
  ports:
  - {name: http, port: 80}
  - name: https
    port: 443
  empty_list: []
  empty_map: {}
1: one
true: yes-key
~: null-key
base: &base {a: 1, b: 2}
derived:
  <<: *base
  b: 3
)",
                        "test.yaml");
  CHECK(j["spec"]["ports"][0] == json({{"name", "http"}, {"port", 80}}));
  CHECK(j["spec"]["ports"][1]["port"] == 443);
  CHECK(j["spec"]["empty_list"] == json::array());
  CHECK(j["spec"]["empty_map"] == json::object());
  CHECK(j["1"] == "one");
  CHECK(j["true"] == "yes-key");
  CHECK(j["null"] == "null-key");
  CHECK(j["derived"] == json({{"a", 1}, {"b", 3}}));
}

TEST_CASE("documents", "[yaml]") {
  CHECK(yaml_to_json("", "empty.yaml").is_null());
  CHECK(yaml_to_json("---\na: 1\n", "x").at("a") == 1);
  auto docs = yaml_to_json_all("a: 1\n---\n---\n# only a comment\n---\nb: 2\n...\n", "multi");
  REQUIRE(docs.size() == 2);
  CHECK(docs[0] == json({{"a", 1}}));
  CHECK(docs[1] == json({{"b", 2}}));
  CHECK(yaml_to_json_all("", "empty").empty());
  CHECK_THAT(decode_error("a: 1\n---\nb: 2\n").what(), Contains("expected one YAML document"));
}

TEST_CASE("errors name the source, line and column", "[yaml]") {
  auto e = decode_error("a: 1\nb: [1, 2\nc: 3\n");
  CHECK(e.kind() == Error::Kind::kDecode);
  CHECK_THAT(e.what(), StartsWith("test.yaml: line "));
  CHECK_THAT(e.what(), Contains(", column "));
  e = decode_error("a: 1\nb:\n  - x\n   y: z\n");
  CHECK_THAT(e.what(), StartsWith("test.yaml: line "));
  e = decode_error("a: 1\nb: 2\na: 3\n");
  CHECK(std::string(e.what()) == "test.yaml: line 3, column 1: duplicate key \"a\"");
}

TEST_CASE("json_to_yaml quotes strings that would be misread", "[yaml]") {
  json j = {{"bool", "true"},     {"int", "123"},     {"empty", ""},
            {"null", "null"},     {"tilde", "~"},     {"colon", "a: b"},
            {"hash", "a #b"},     {"dash", "- x"},    {"yes", "yes"},
            {"off", "off"},       {"float", "1.5"},   {"date", "2026-11-23"},
            {"leading", " x"},    {"plain", "hello"}, {"image", "nginx:1.25"},
            {"star", "*alias"},   {"brace", "{a}"},   {"quote", "say \"hi\""},
            {"unicode", "héllo"}, {"tab", "a\tb"},    {"cr", "a\r\nb"}};
  std::string y = json_to_yaml(j);
  CHECK_THAT(y, Contains("bool: \"true\"\n"));
  CHECK_THAT(y, Contains("int: \"123\"\n"));
  CHECK_THAT(y, Contains("empty: \"\"\n"));
  CHECK_THAT(y, Contains("\"null\": \"null\"\n"));  // keys too
  CHECK_THAT(y, Contains("\"yes\": \"yes\"\n"));
  CHECK_THAT(y, Contains("plain: hello\n"));
  CHECK_THAT(y, Contains("image: nginx:1.25\n"));
  CHECK(yaml_to_json(y, "roundtrip") == j);
}

TEST_CASE("json_to_yaml emits block style and round-trips", "[yaml]") {
  json j = json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web", "tier": ""},
                 "annotations": {"note": "line one\nline two\n", "nonl": "a\nb",
                                 "indented": "  x\ny\n", "double": "x\n\n"}},
    "spec": {"replicas": 3, "ratio": 0.1, "neg": -2, "big": 1e300, "on": true,
             "off": false, "nothing": null, "list": [1, "two", [3, 4], {"five": 5}],
             "empty": {}, "none": []}
  })");
  std::string y = json_to_yaml(j);
  INFO(y);
  CHECK_THAT(y, StartsWith("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"));
  CHECK_THAT(y, Contains("note: |\n"));
  CHECK_THAT(y, Contains("ratio: 0.1\n"));
  CHECK_THAT(y, Contains("nothing: null\n"));
  CHECK_THAT(y, Contains("replicas: 3\n"));
  CHECK_THAT(y, Contains("empty: {}\n"));
  CHECK_THAT(y, Contains("none: []\n"));
  CHECK(yaml_to_json(y, "roundtrip") == j);

  for (const json& scalar :
       {json("str"), json(42), json(nullptr), json(true), json("1"), json::array(), json::object(),
        json("one\n  two\n"), json("k: v\n# c\n"), json::array({"a\nb\n", "c"}),
        json({{"x", {{"y", "1\n2\n"}}}})}) {
    INFO(scalar.dump());
    CHECK(yaml_to_json(json_to_yaml(scalar), "scalar") == scalar);
  }
}

TEST_CASE("hostile input fails fast instead of exhausting memory or stack", "[yaml]") {
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    laughs += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) laughs += (i ? ", *" : "*") + prev;
    laughs += "]\n";
  }
  CHECK_THAT(decode_error(laughs).what(), Contains("aliases expand to too many nodes"));
  CHECK_THAT(decode_error("a: &x [1, *x]\n").what(), Contains("nesting deeper than"));
  CHECK(decode_error(std::string(5000, '[') + std::string(5000, ']')).kind() ==
        Error::Kind::kDecode);
}
