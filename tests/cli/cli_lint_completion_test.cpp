// lint (offline, the CRD's rules) on tests/data/crds/, version, completion scripts and the
// completion protocol that kubectl 1.26+ uses through kubectl_complete-ingressx.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api_fixtures.h"
#include "cli_support.h"
#include "controlplane.h"
#include "ingressx/core/yaml.h"

using namespace ingressx;
using namespace ingressx::testing;
namespace fs = std::filesystem;

namespace {

std::string header_value(const fs::path& p, const std::string& key) {
  std::ifstream in(p);
  std::string line;
  const std::string prefix = "# " + key + ": ";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  return "";
}

}  // namespace

TEST_CASE("lint accepts the valid examples and names the field of each invalid one",
          "[integration][cli][lint]") {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(source_path("tests/data/crds")))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    std::string name = p.filename().string();
    DYNAMIC_SECTION(name) {
      auto r = run_cli_raw({"lint", "-f", p.string()});
      INFO(describe(r));
      // Every CEL rule of the CRDs is implemented offline (no "not checked" warning).
      CHECK_THAT(r.err, !Catch::Contains("not checked offline"));
      if (name.rfind("invalid-", 0) == 0) {
        std::string path = header_value(p, "expect-path");
        std::string message = header_value(p, "expect-message");
        REQUIRE_FALSE(path.empty());
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.out, Catch::Contains("is invalid:"));
        CHECK_THAT(r.out, Catch::Contains("  " + path + ": "));
        CHECK_THAT(r.out, Catch::Contains(message));
      } else {
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::Contains("is valid"));
        CHECK(r.err.empty());
      }
    }
  }
  SECTION("several files and -o json") {
    auto r = run_cli_raw({"lint", "-f", source_path("tests/data/crds/proxyfleet-valid.yaml"), "-f",
                          source_path("tests/data/crds/invalid-weight-150.yaml"), "-o", "json"});
    INFO(describe(r));
    CHECK(r.exit_code == 1);
    json report = json::parse(r.out);
    REQUIRE(report.size() == 2);
    CHECK(report[0]["valid"] == true);
    CHECK(report[1]["valid"] == false);
    CHECK_THAT(report[1]["errors"][0].get<std::string>(),
               Catch::StartsWith("spec.cutover.steps[0].weight: Invalid value: 150"));
  }
  SECTION("a multi-document stream, unknown fields and unreadable input") {
    std::string path = "/tmp/cli-lint-" + std::to_string(::getpid()) + ".yaml";
    std::ifstream in(source_path("tests/data/crds/proxyfleet-valid.yaml"));
    std::stringstream ss;
    ss << in.rdbuf();
    json f = yaml_to_json(ss.str(), "valid");
    f["spec"]["replicaCount"] = 3;  // unknown: a warning (the apiserver drops it)
    json g = f;
    g["metadata"]["name"] = "Edge_1";                // the name rule
    g["spec"]["proxy"]["drain"]["minDrain"] = "3h";  // > maxDrain 120s
    std::ofstream(path) << json_to_yaml(f) << "---\n"
                        << json_to_yaml(g) << "---\napiVersion: v1\nkind: ConfigMap\n";
    auto r = run_cli_raw({"lint", "-f", path});
    INFO(describe(r));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("spec.replicaCount: unknown field"));
    CHECK_THAT(r.out, Catch::Contains("ProxyFleet \"edge\" is valid"));
    CHECK_THAT(
        r.out,
        Catch::Contains(
            "metadata.name: Invalid value: \"object\": metadata.name must be a DNS-1035 label"));
    CHECK_THAT(r.out,
               Catch::Contains("spec.proxy.drain.minDrain: Invalid value: \"object\": must not "
                               "exceed proxy.drain.maxDrain (minDrain 3h > maxDrain 120s)"));
    CHECK_THAT(r.err, Catch::Contains("ConfigMap"));
    fs::remove(path);
    auto bad = run_cli_raw({"lint", "-f", "/nonexistent.yaml"});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("cannot read /nonexistent.yaml"));
  }
  // What the loop above read (counted here: Catch re-enters the test once per section).
  const auto n_invalid = std::count_if(files.begin(), files.end(), [](const fs::path& p) {
    return p.filename().string().rfind("invalid-", 0) == 0;
  });
  CHECK(n_invalid >= 19);                                     // one per CRD rule family
  CHECK(files.size() - static_cast<size_t>(n_invalid) >= 4);  // the valid examples
}

TEST_CASE("version and completion scripts", "[integration][cli]") {
  auto r = run_cli_raw({"version"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("kubectl-ingressx v"));
  r = run_cli_raw({"version", "-o", "yaml"});
  CHECK_THAT(yaml_to_json(r.out, "v")["clientVersion"]["version"].get<std::string>(),
             Catch::StartsWith("v"));
  for (const char* shell : {"bash", "zsh", "fish"}) {
    r = run_cli_raw({"completion", shell});
    INFO(shell << ": " << describe(r));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("kubectl-ingressx __complete"));
  }
}

TEST_CASE("completion candidates: verbs, flag values and fleet names from the cluster",
          "[integration][cli]") {
  auto ns = make_namespace("cli-complete");
  make_ready_fleet(ns, "edge");
  make_ready_fleet(ns, "egress");
  auto r = run_cli({"__complete", "-n", ns, "rollout", "st"});
  CHECK(r.out == "start\nstatus\n:4\n");
  r = run_cli({"__complete", "-n", ns, "rollout", "status", "e"});
  INFO(describe(r));
  CHECK(r.out == "edge\negress\n:4\n");
  r = run_cli({"__complete", "rollout", "status", "--namespace=" + ns, "ed"});
  CHECK(r.out == "edge\n:4\n");
  r = run_cli({"__complete", "rollout", "status", "edge", "--until", ""});
  CHECK(r.out == "completed\npaused\nshifted\ndrained\n:4\n");
  r = run_cli({"__complete", "lint", "-f", ""});
  CHECK(r.out == ":0\n");  // file names

  // kubectl itself: it finds kubectl_complete-ingressx next to the plugin in PATH.
  std::string dir = KUBECTL_INGRESSX_DIR;
  std::string path = dir + ":" + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin");
  ProcessSpec spec;
  spec.argv = {"kubectl", "__complete", "ingressx", "rollout", "status", "-n", ns, ""};
  spec.extra_env = {{"PATH", path}, {"KUBECONFIG", control_plane().kubeconfig}};
  ProcessResult k;
  try {
    k = default_process_runner().run(spec);
  } catch (const std::exception& e) {
    WARN("kubectl not available: " << e.what());
    admin().remove(refs::kNamespaces, "", ns);
    return;
  }
  INFO(describe(k));
  CHECK(k.exit_code == 0);
  CHECK_THAT(k.out, Catch::StartsWith("edge\negress\n:4\n"));
  admin().remove(refs::kNamespaces, "", ns);
}

TEST_CASE("krew release script fills the manifest's version, URLs and sha256",
          "[integration][cli]") {
  fs::path dir = fs::temp_directory_path() / ("cli-krew-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* p : {"linux-amd64", "linux-arm64"})
    std::ofstream(dir / (std::string("kubectl-ingressx-1.2.3-") + p + ".tar.gz")) << p;
  ProcessSpec spec;
  spec.argv = {"bash", source_path("cli/krew/release.sh"), "1.2.3", dir.string(),
               "https://example.com/r"};
  auto r = default_process_runner().run(spec);
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  json m = yaml_to_json(r.out, "manifest");
  CHECK(m["kind"] == "Plugin");
  CHECK(m["spec"]["version"] == "v1.2.3");
  REQUIRE(m["spec"]["platforms"].size() == 2);
  CHECK(m["spec"]["platforms"][0]["uri"] ==
        "https://example.com/r/kubectl-ingressx-1.2.3-linux-amd64.tar.gz");
  // sha256 of "linux-amd64"
  CHECK(m["spec"]["platforms"][0]["sha256"] ==
        "abb35c616421af72198ad7c2aeeef38516f08f6a7afb2a728cf0068a8a712ddc");
  CHECK(r.out.find('@') == std::string::npos);
  fs::remove(dir / "kubectl-ingressx-1.2.3-linux-arm64.tar.gz");
  r = default_process_runner().run(spec);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("missing archive"));
  fs::remove_all(dir);
}
