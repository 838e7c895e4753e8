// The kubectl plugin's pure parts (cli/, linked as a library): how a rollout is judged for
// `rollout status --until` and the exit codes, the jsonpath subset, durations and traffic
// as printed, and the offline lint against the embedded CRDs with every fixture of
// tests/data/crds (valid ones pass, each invalid one is refused naming a field).
#include "cli.h"

#include <dirent.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crd_data.h"
#include "crd_lint.h"
#include "ingressx/core/yaml.h"
#include "output.h"
#include "rollout_state.h"

using namespace ingressx;
using namespace ingressx::cli;
using nlohmann::json;
using State = Verdict::State;

namespace {

json fleet(int64_t gen, int64_t observed, int64_t cur, int64_t upd, const std::string& phase) {
  return {{"metadata", {{"name", "edge"}, {"generation", gen}}},
          {"spec",
           {{"strategy", {{"type", "TempFleet"}}},
            {"cutover", {{"steps", json::array({{{"weight", 50}}, {{"weight", 100}}})}}}}},
          {"status",
           {{"observedGeneration", observed},
            {"currentRevision", cur},
            {"updateRevision", upd},
            {"phase", phase}}}};
}

json rollout(int64_t rev, const std::string& phase, const std::string& step,
             std::vector<std::pair<std::string, std::string>> steps = {}) {
  json s = json::array();
  for (const auto& [n, p] : steps) s.push_back({{"name", n}, {"phase", p}});
  return {{"metadata", {{"name", "edge-r" + std::to_string(rev)}}},
          {"spec", {{"revision", rev}}},
          {"status", {{"phase", phase}, {"currentStep", step}, {"steps", s}}}};
}

}  // namespace

TEST_CASE("cli judge: waits for the operator, then the rollout of the update revision", "[cli]") {
  // The operator has not seen the change yet.
  auto v = judge(fleet(3, 2, 1, 1, "Ready"), nullptr, 3, Until::kCompleted);
  CHECK(v.state == State::kWaiting);
  CHECK_THAT(v.message, Catch::Contains("observe generation 3"));
  // A running rollout of the update revision.
  auto r = rollout(2, "Progressing", "shift-to-temp/1");
  v = judge(fleet(3, 3, 1, 2, "Progressing"), &r, 3, Until::kCompleted);
  CHECK(v.state == State::kWaiting);
  CHECK_THAT(v.message, Catch::Contains("edge-r2") && Catch::Contains("shift-to-temp/1"));
  // An older rollout does not count for the update revision.
  auto old = rollout(1, "Succeeded", "");
  CHECK(judge(fleet(3, 3, 1, 2, "Progressing"), &old, 3, Until::kCompleted).state ==
        State::kWaiting);
  // Done when it Succeeded and the fleet settled.
  auto done = rollout(2, "Succeeded", "");
  v = judge(fleet(3, 3, 2, 2, "Ready"), &done, 3, Until::kCompleted);
  CHECK(v.state == State::kDone);
  CHECK_THAT(v.message, Catch::Contains("revision 2 of edge is rolled out"));
}

TEST_CASE("cli judge: failed, aborted, paused and promotion", "[cli]") {
  auto failed = rollout(2, "Failed", "");
  failed["status"]["message"] = "analysis failed";
  auto v = judge(fleet(3, 3, 1, 2, "Degraded"), &failed, 3, Until::kCompleted);
  CHECK(v.state == State::kFailed);
  CHECK_THAT(v.message,
             Catch::Contains("rolled back to revision 1") && Catch::Contains("analysis failed"));
  auto aborted = rollout(2, "Aborted", "");
  CHECK(judge(fleet(3, 3, 1, 2, "Ready"), &aborted, 3, Until::kCompleted).state == State::kFailed);
  auto paused = rollout(2, "Paused", "shift-to-temp/1");
  CHECK(judge(fleet(3, 3, 1, 2, "Paused"), &paused, 3, Until::kPaused).state == State::kDone);
  v = judge(fleet(3, 3, 1, 2, "Paused"), &paused, 3, Until::kCompleted);
  CHECK(v.state == State::kWaiting);
  CHECK_THAT(v.message, Catch::Contains("rollout resume edge"));
  auto promo = rollout(2, "Paused", "promote", {{"promote", "Running"}});
  CHECK(waiting_for_promotion(promo));
  v = judge(fleet(3, 3, 1, 2, "Paused"), &promo, 3, Until::kCompleted);
  CHECK(v.state == State::kPromotion);
  CHECK_THAT(v.message, Catch::Contains("rollout promote edge"));
}

TEST_CASE("cli judge: --until shifted and drained follow the plan's last move", "[cli]") {
  auto r = rollout(
      2, "Progressing", "drain-temp",
      {{"shift-back/1", "Succeeded"}, {"shift-back/2", "Succeeded"}, {"drain-temp", "Running"}});
  auto f = fleet(3, 3, 1, 2, "Progressing");
  auto v = judge(f, &r, 3, Until::kShifted);
  CHECK(v.state == State::kDone);
  CHECK_THAT(v.message, Catch::Contains("shift-back/2"));
  CHECK(judge(f, &r, 3, Until::kDrained).state == State::kWaiting);
  r["status"]["steps"][2]["phase"] = "Succeeded";
  CHECK(judge(f, &r, 3, Until::kDrained).state == State::kDone);
  // Only shift-back/1 done: not shifted yet (two cutover steps).
  r["status"]["steps"][1]["phase"] = "Running";
  CHECK(judge(f, &r, 3, Until::kShifted).state == State::kWaiting);
  CHECK_THROWS_AS(parse_until("finished"), CliError);
  // The record's own plan names the last move (no re-derivation from the fleet's spec).
  auto bg = rollout(2, "Progressing", "drain-blue",
                    {{"shift/1", "Succeeded"}, {"shift/2", "Running"}, {"shift/3", "Pending"}});
  bg["spec"]["plan"] = {"provision-green", "verify-green", "promote",    "shift/1",
                        "shift/2",         "shift/3",      "drain-blue", "scale-down-blue"};
  CHECK(judge(f, &bg, 3, Until::kShifted).state == State::kWaiting);
  bg["status"]["steps"][1]["phase"] = "Succeeded";
  CHECK(judge(f, &bg, 3, Until::kShifted).state == State::kWaiting);
  bg["status"]["steps"][2]["phase"] = "Succeeded";
  v = judge(f, &bg, 3, Until::kShifted);
  CHECK(v.state == State::kDone);
  CHECK_THAT(v.message, Catch::Contains("shift/3"));
}

TEST_CASE("cli output: jsonpath, durations, traffic", "[cli]") {
  const json doc = {{"metadata", {{"name", "edge"}, {"labels", {{"a.b/c", "x"}}}}},
                    {"items", json::array({{{"n", 1}}, {{"n", 2}}})}};
  CHECK(eval_jsonpath(doc, "{.metadata.name}") == "edge");
  CHECK(eval_jsonpath(doc, "name={.metadata.name}!") == "name=edge!");
  CHECK(eval_jsonpath(doc, "{.items[1].n}") == "2");
  CHECK(eval_jsonpath(doc, "{.items[*].n}") == "1 2");
  CHECK(eval_jsonpath(doc, "{.metadata.labels['a.b/c']}") == "x");
  CHECK(eval_jsonpath(doc, "{.nope}") == "");
  CHECK(format_duration(-5) == "0s");
  CHECK(format_duration(59) == "59s");
  CHECK(format_duration(60) == "1m");
  CHECK(format_duration(63) == "1m3s");
  CHECK(format_duration(7260) == "2h1m");
  CHECK(format_duration(2 * 86400 + 4 * 3600) == "2d4h");
  CHECK(duration_between("2026-12-08T01:00:00Z", "2026-12-08T01:01:03Z") == "1m3s");
  CHECK(traffic_string(json::array(
            {{{"fleet", "edge"}, {"weight", 20}}, {{"fleet", "edge-temp"}, {"weight", 80}}})) ==
        "edge=20 edge-temp=80");
  CHECK_THROWS_AS(check_output_flag("xml"), CliError);
  CHECK_NOTHROW(check_output_flag("jsonpath={.a}"));
}

TEST_CASE("cli lint: every fixture of tests/data/crds against the embedded CRDs", "[cli]") {
  const json pf_crd = yaml_to_json(kProxyFleetCrdYaml, "embedded ProxyFleet CRD");
  const json fr_crd = yaml_to_json(kFleetRolloutCrdYaml, "embedded FleetRollout CRD");
  const std::string dir = std::string(INGRESSX_TEST_DATA) + "/crds";
  std::vector<std::string> files;
  if (DIR* d = opendir(dir.c_str())) {
    while (auto* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.size() > 5 && n.substr(n.size() - 5) == ".yaml") files.push_back(n);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  int valid = 0, invalid = 0;
  for (const auto& f : files) {
    INFO(f);
    std::ifstream in(dir + "/" + f);
    std::stringstream ss;
    ss << in.rdbuf();
    const json obj = yaml_to_json(ss.str(), f);
    const json& crd = obj.value("kind", "") == "FleetRollout" ? fr_crd : pf_crd;
    const auto res = lint_object(crd, obj);
    if (f.rfind("invalid-", 0) == 0) {
      ++invalid;
      REQUIRE_FALSE(res.errors.empty());
      CHECK_THAT(res.errors.front(), Catch::StartsWith("spec") || Catch::StartsWith("metadata"));
    } else {
      ++valid;
      CHECK(res.errors.empty());
    }
  }
  // The fixtures are there (a wrong directory would pass vacuously).
  CHECK(valid >= 2);
  CHECK(invalid >= 15);
}
