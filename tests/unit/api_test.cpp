// The API module (api/): the one duration parser, and the defaults the code uses compared
// with the ones the CRDs declare, both ways.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

#include "ingressx/api/defaults.h"
#include "ingressx/api/duration.h"
#include "ingressx/core/error.h"
#include "ingressx/core/yaml.h"

using namespace ingressx;
using api::DurationForm;
using api::parse_duration;
using nlohmann::json;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

TEST_CASE("durations: the API form is the CRDs' pattern", "[api][duration]") {
  CHECK(parse_duration("500ms", "f") == 500ms);
  CHECK(parse_duration("10s", "f") == 10s);
  CHECK(parse_duration("1.5s", "f") == 1500ms);
  CHECK(parse_duration("9m30s", "f") == 570s);
  CHECK(parse_duration("1h", "f") == 3600s);
  CHECK(parse_duration("1h2m3s4ms", "f") == 3'723'004ms);
  CHECK(parse_duration("0s", "f") == 0ms);
  CHECK(parse_duration("300s", "f") == 300s);
  for (const char* bad : {"", "10", "0", "1d", "5x", "s", ".5s", "1.s", "-5s", "+5s", "1m30",
                          "1500us", "5 s", "nan", "9999999999999h"}) {
    INFO(bad);
    CHECK_FALSE(api::is_api_duration(bad));
    try {
      parse_duration(bad, "spec.proxy.drain.minDrain");
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == Error::Kind::kInvalidInput);
      CHECK_THAT(e.what(), StartsWith("spec.proxy.drain.minDrain: invalid duration \"" +
                                      std::string(bad) + "\""));
      CHECK_THAT(e.what(), Contains("<number><unit>"));
    }
  }
}

TEST_CASE("durations: the flag form adds ns/us, '+' and bare seconds", "[api][duration]") {
  const auto flag = DurationForm::kFlag;
  CHECK(parse_duration("30s", "t", flag) == 30s);
  CHECK(parse_duration("1500us", "t", flag) == 2ms);  // rounded
  CHECK(parse_duration("1400us", "t", flag) == 1ms);
  CHECK(parse_duration("2000000ns", "t", flag) == 2ms);
  CHECK(parse_duration("15", "t", flag) == 15s);  // bare whole number: seconds (kubectl)
  CHECK(parse_duration("0", "t", flag) == 0ms);
  CHECK(parse_duration("+5s", "t", flag) == 5s);
  CHECK(parse_duration("0.5s", "t", flag) == 500ms);
  for (const char* bad :
       {"", "abc", "5x", "1m30", "-5s", "s", ".s", "1.5", "1m5", "nan", "5 s", "9999999999999h"}) {
    INFO(bad);
    try {
      parse_duration(bad, "--request-timeout", flag);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == Error::Kind::kInvalidInput);
      CHECK_THAT(e.what(),
                 StartsWith("--request-timeout: invalid duration \"" + std::string(bad) + "\""));
    }
  }
}

namespace {

json crd(const std::string& plural) {
  const std::string path =
      std::string(INGRESSX_SOURCE_DIR) + "/crds/ingressx.io_" + plural + ".yaml";
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return yaml_to_json(ss.str(), path);
}

// Every `default` in a schema: path -> value.
void defaults_in(const json& node, const std::string& path, std::map<std::string, json>& out) {
  if (!node.is_object()) return;
  if (node.contains("default")) out[path] = node["default"];
  if (node.contains("properties"))
    for (const auto& [k, v] : node["properties"].items()) defaults_in(v, path + "." + k, out);
  if (node.contains("items")) defaults_in(node["items"], path + "[]", out);
  if (node.contains("additionalProperties"))
    defaults_in(node["additionalProperties"], path + "{}", out);
}

}  // namespace

TEST_CASE("defaults: the code's defaults are the CRDs', both ways", "[api][defaults]") {
  std::map<std::string, std::map<std::string, json>> in_crd;  // plural -> path -> value
  for (const std::string plural : {"proxyfleets", "fleetrollouts"}) {
    const json c = crd(plural);
    for (const auto& v : c["spec"]["versions"])
      defaults_in(v["schema"]["openAPIV3Schema"], "", in_crd[plural]);
  }
  std::set<std::string> seen;
  for (const auto& d : api::defaults::declared()) {
    INFO(d.crd << " " << d.path);
    REQUIRE(in_crd[d.crd].count(d.path) == 1);
    CHECK(in_crd[d.crd][d.path] == d.value);
    seen.insert(d.crd + " " + d.path);
  }
  for (const auto& [plural, paths] : in_crd)
    for (const auto& [path, value] : paths) {
      INFO("the CRD declares a default the API module does not have: " << plural << " " << path
                                                                       << " = " << value.dump());
      CHECK(seen.count(plural + " " + path) == 1);
    }
  // The duration defaults have the API form.
  for (const char* d :
       {api::defaults::kPropagationDelay, api::defaults::kMinDrain, api::defaults::kMaxDrain,
        api::defaults::kPollInterval, api::defaults::kProgressDeadline,
        api::defaults::kScaleDownDelay, api::defaults::kProbeMaxLatency,
        api::defaults::kProbeInterval, api::defaults::kProbeWindow})
    CHECK(api::is_api_duration(d));
}
