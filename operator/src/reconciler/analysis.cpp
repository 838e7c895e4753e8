// The analysis gate: HTTP probes through a fleet's own address and Prometheus queries.
#include "reconciler/analysis.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <condition_variable>
#include <string>

#include "ingressx/api/defaults.h"
#include "ingressx/api/duration.h"
#include "ingressx/core/error.h"
#include "ingressx/core/http.h"
#include "ingressx/core/kubeconfig.h"
#include "ingressx/operator/fleet_spec.h"
#include "ingressx/proxy/metrics.h"

namespace ingressx::op {

std::vector<ProbeSpec> probes_from(const json& pf, const json& service) {
  std::vector<ProbeSpec> out;
  const json analysis = pf.value("spec", json::object())
                            .value("strategy", json::object())
                            .value("analysis", json::object());
  const json ports = service.value("spec", json::object()).value("ports", json::array());
  for (const auto& p : analysis.value("http", json::array())) {
    const std::string field = "spec.strategy.analysis.http[" + p.value("name", "") + "]";
    ProbeSpec s;
    s.name = p.value("name", "");
    s.path = p.value("path", "/");
    s.host = p.value("host", "");
    s.scheme = p.value("scheme", api::defaults::kProbeScheme);
    s.expect_status = p.value("expectStatus", api::defaults::kProbeExpectStatus);
    auto dur = [&](const char* key, const char* def) {
      return api::parse_duration(p.value(key, def), field + "." + key);
    };
    s.max_latency = dur("maxLatency", api::defaults::kProbeMaxLatency);
    s.interval = dur("interval", api::defaults::kProbeInterval);
    s.window = dur("window", api::defaults::kProbeWindow);
    s.success_ratio = p.value("successRatio", api::defaults::kProbeSuccessRatio);
    s.port = ports.empty() ? 80 : ports[0].value("port", 80);
    if (p.contains("port")) {
      if (p["port"].is_number()) {
        s.port = p["port"].get<int>();
      } else {
        for (const auto& sp : ports)
          if (sp.value("name", "") == p["port"].get<std::string>()) s.port = sp.value("port", 80);
      }
    }
    out.push_back(s);
  }
  const json prom = analysis.value("prometheus", json::object());
  for (const auto& q : prom.value("queries", json::array())) {
    ProbeSpec s;
    s.name = q.value("name", "");
    s.prom_address = prom.value("address", "");
    s.prom_query = q.value("query", "");
    out.push_back(s);  // interval 1s, window 30s (the defaults of an HTTP probe)
  }
  return out;
}

namespace {

std::string url_encode(const std::string& v) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// One Prometheus query: true when it answers with no sample; else `why` says what it saw.
bool prometheus_quiet(HttpTransport& http, const ProbeSpec& p, std::string& why) {
  HttpRequest req;
  std::string base = p.prom_address;
  while (!base.empty() && base.back() == '/') base.pop_back();
  req.url = base + "/api/v1/query?query=" + url_encode(p.prom_query);
  req.timeout = Millis{5000};
  auto resp = http.send(req);
  if (resp.status != 200) {
    why = "Prometheus query " + p.name + ": " + base + " answered HTTP " +
          std::to_string(resp.status);
    return false;
  }
  const json body = json::parse(resp.body, nullptr, false);
  if (body.is_discarded() || body.value("status", "") != "success") {
    why = "Prometheus query " + p.name + ": " + base + " did not answer a successful query result";
    return false;
  }
  const json result = body.value("data", json::object()).value("result", json::array());
  if (result.is_array() && result.empty()) return true;
  why = "Prometheus query " + p.name + " returned " +
        std::to_string(result.is_array() ? result.size() : 1) + " sample(s): " + p.prom_query;
  return false;
}

}  // namespace

struct AnalysisRunner::Impl {
  mutable std::mutex mu;
  std::condition_variable cv;
  std::string key;
  AnalysisObservation obs;
  bool stop = false;
  std::thread thread;

  void halt() {
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    cv.notify_all();
    if (thread.joinable()) thread.join();
    stop = false;
  }

  void run(std::string k, std::string address, std::vector<ProbeSpec> probes) {
    RestConfig cfg;
    cfg.server = "http://pods.invalid";  // requests use absolute URLs
    cfg.source = "in-pod endpoints";
    auto http = make_curl_transport(cfg);
    const auto start = std::chrono::steady_clock::now();
    Millis window{0}, interval{60000};
    double ratio = 0;
    for (const auto& p : probes) {
      window = std::max(window, p.window);
      interval = std::min(interval, p.interval);
      ratio = std::max(ratio, p.success_ratio);
    }
    while (true) {
      for (const auto& p : probes) {
        if (!p.prom_query.empty()) {
          std::string why;
          bool ok = false;
          try {
            ok = prometheus_quiet(*http, p, why);
          } catch (const std::exception& e) {
            why = "Prometheus query " + p.name + ": " + e.what();
          }
          std::lock_guard lock(mu);
          if (key != k) return;
          obs.probes++;
          if (ok) obs.successes++;
          if (!ok) obs.last_failure = why;
          continue;
        }
        HttpRequest req;
        req.url = p.scheme + "://" + address + ":" + std::to_string(p.port) + p.path;
        if (!p.host.empty()) req.headers.push_back({"Host", p.host});
        req.timeout = std::max(p.max_latency * 2, Millis{1000});
        bool ok = false;
        std::string why;
        const auto t0 = std::chrono::steady_clock::now();
        try {
          auto resp = http->send(req);
          const auto took =
              std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
          ok = resp.status == p.expect_status && took <= p.max_latency;
          if (!ok)
            why = "GET " + req.url + " answered " + std::to_string(resp.status) + " in " +
                  std::to_string(took.count()) + "ms (want " + std::to_string(p.expect_status) +
                  " within " + std::to_string(p.max_latency.count()) + "ms)";
        } catch (const std::exception& e) {
          why = e.what();
        }
        std::lock_guard lock(mu);
        if (key != k) return;
        obs.probes++;
        if (ok) obs.successes++;
        if (!ok) obs.last_failure = why;
      }
      std::unique_lock lock(mu);
      if (std::chrono::steady_clock::now() - start >= window) {
        obs.window_complete = true;
        obs.passed = obs.probes > 0 &&
                     static_cast<double>(obs.successes) >= ratio * static_cast<double>(obs.probes);
        return;
      }
      if (cv.wait_for(lock, interval, [&] { return stop; })) return;
    }
  }
};

AnalysisRunner::AnalysisRunner() : impl_(std::make_unique<Impl>()) {}
AnalysisRunner::~AnalysisRunner() {
  stop();
}

void AnalysisRunner::ensure(const std::string& key, const std::string& address,
                            std::vector<ProbeSpec> probes) {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->key == key) return;
  }
  impl_->halt();
  std::lock_guard lock(impl_->mu);
  impl_->key = key;
  impl_->obs = AnalysisObservation{};
  impl_->obs.key = key;
  spdlog::info("analysis {} started against {}", key, address);
  impl_->thread = std::thread([this, key, address, probes = std::move(probes)]() mutable {
    impl_->run(key, address, std::move(probes));
  });
}

std::optional<AnalysisObservation> AnalysisRunner::result(const std::string& key) const {
  std::lock_guard lock(impl_->mu);
  if (impl_->key != key) return std::nullopt;
  return impl_->obs;
}

void AnalysisRunner::stop() {
  impl_->halt();
}

}  // namespace ingressx::op
