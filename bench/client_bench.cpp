// Client benchmark: list and decode 1,000 ConfigMaps (time, peak memory) and watch
// throughput (events/s), with `kubectl get --raw` on the same list in the same run as the
// baseline. Prints figures; asserts nothing. Usage: bench_client KUBECONFIG [COUNT]
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "ingressx/core/client.h"
#include "ingressx/core/kubeconfig.h"

using namespace ingressx;
using Steady = std::chrono::steady_clock;

namespace {

double ms_since(Steady::time_point t) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
}

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Times `kubectl get --raw PATH` and returns (ms, bytes read).
std::pair<double, size_t> kubectl_raw(const std::string& kubeconfig, const std::string& path) {
  std::string cmd = "kubectl --kubeconfig '" + kubeconfig + "' get --raw '" + path + "'";
  auto t = Steady::now();
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {-1, 0};
  size_t bytes = 0;
  char buf[65536];
  while (size_t n = fread(buf, 1, sizeof buf, p)) bytes += n;
  int rc = ::pclose(p);
  return {rc == 0 ? ms_since(t) : -1, bytes};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_client KUBECONFIG [COUNT]\n";
    return 2;
  }
  std::string kubeconfig = argv[1];
  int count = argc > 2 ? std::stoi(argv[2]) : 1000;
  try {
    LoadOptions o;
    o.kubeconfig = kubeconfig;
    Client c(load_rest_config(o));
    std::string ns = "bench-" + std::to_string(::getpid());
    c.create(refs::kNamespaces, "",
             {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    std::string rv0 = c.list(refs::kConfigMaps, ns)["metadata"]["resourceVersion"];

    auto t = Steady::now();
    for (int i = 0; i < count; ++i) {
      c.create(refs::kConfigMaps, ns,
               {{"apiVersion", "v1"},
                {"kind", "ConfigMap"},
                {"metadata", {{"name", "cm-" + std::to_string(i)}, {"labels", {{"bench", "1"}}}}},
                {"data", {{"payload", std::string(512, 'x')}, {"index", std::to_string(i)}}}});
    }
    double create_ms = ms_since(t);
    std::printf("create %d ConfigMaps: %.0f ms (%.0f objects/s)\n", count, create_ms,
                count / (create_ms / 1000));

    long rss_before = peak_rss_kib();
    const int rounds = 5;
    double best = 1e18, total = 0;
    size_t items = 0;
    for (int r = 0; r < rounds; ++r) {
      t = Steady::now();
      json list = c.list_all(refs::kConfigMaps, ns, ListOptions{});
      double ms = ms_since(t);
      items = list["items"].size();
      best = std::min(best, ms);
      total += ms;
    }
    long rss_after = peak_rss_kib();
    std::string path = "/api/v1/namespaces/" + ns + "/configmaps";
    double kbest = 1e18, ktotal = 0;
    size_t kbytes = 0;
    for (int r = 0; r < rounds; ++r) {
      auto [ms, bytes] = kubectl_raw(kubeconfig, path);
      kbest = std::min(kbest, ms);
      ktotal += ms;
      kbytes = bytes;
    }
    std::printf("\n| list+decode %zu ConfigMaps | best ms | mean ms | peak RSS |\n", items);
    std::printf("|---|---|---|---|\n");
    std::printf("| ingressx Client::list_all | %.1f | %.1f | %ld KiB (was %ld before listing) |\n",
                best, total / rounds, rss_after, rss_before);
    std::printf("| kubectl get --raw (%zu bytes, no decode) | %.1f | %.1f | (separate process) |\n",
                kbytes, kbest, ktotal / rounds);

    // Watch throughput: replay every creation from the version before them.
    ListOptions wo;
    wo.resource_version = rv0;
    wo.timeout_seconds = 60;
    int seen = 0;
    t = Steady::now();
    c.watch(
        refs::kConfigMaps, ns, wo,
        [&](const WatchEvent& e) { return !(e.type == "ADDED" && ++seen >= count); },
        [] { return false; });
    double watch_ms = ms_since(t);
    std::printf("\nwatch: %d events in %.0f ms = %.0f events/s\n", seen, watch_ms,
                seen / (watch_ms / 1000));
    std::printf("API requests made: %llu (retries %llu)\n",
                static_cast<unsigned long long>(c.stats().requests),
                static_cast<unsigned long long>(c.stats().retries));
    c.remove(refs::kNamespaces, "", ns);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_client: " << e.what() << "\n";
    return 1;
  }
}
