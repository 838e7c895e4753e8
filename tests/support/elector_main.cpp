// A leader-election candidate for the integration tests: campaigns for a Lease with
// client-go's default timings and appends "leading" / "stopped" lines to a file.
// Usage: test_elector KUBECONFIG NAMESPACE LEASE IDENTITY OUTFILE
#include <csignal>
#include <fstream>
#include <iostream>

#include "ingressx/core/client.h"
#include "ingressx/core/clock.h"
#include "ingressx/core/kubeconfig.h"
#include "ingressx/core/leader.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_term(int) {
  g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: test_elector KUBECONFIG NAMESPACE LEASE IDENTITY OUTFILE\n";
    return 2;
  }
  std::signal(SIGTERM, on_term);
  std::signal(SIGINT, on_term);
  try {
    ingressx::LoadOptions o;
    o.kubeconfig = argv[1];
    ingressx::Client client(ingressx::load_rest_config(o));
    auto store = ingressx::make_lease_store(client, argv[2], argv[3]);
    ingressx::RealClock clock;
    ingressx::LeaderElectionConfig cfg;
    cfg.lease_namespace = argv[2];
    cfg.lease_name = argv[3];
    cfg.identity = argv[4];
    ingressx::LeaderElector elector(*store, cfg, clock);
    std::string out = argv[5];
    auto note = [&](const std::string& line) {
      std::ofstream f(out, std::ios::app);
      f << line << std::endl;
    };
    note("started");
    ingressx::LeaderCallbacks cb;
    cb.on_started_leading = [&] { note("leading"); };
    cb.on_stopped_leading = [&] { note("stopped"); };
    elector.run(cb, [] { return g_stop != 0; });
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "test_elector: " << e.what() << "\n";
    return 1;
  }
}
