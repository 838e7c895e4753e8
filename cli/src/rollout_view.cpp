#include "rollout_view.h"

#include <unistd.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "ingressx/api/names.h"
#include "ingressx/core/error.h"
#include "output.h"
#include "session.h"

namespace ingressx::cli {

using json = nlohmann::json;

namespace {

std::string s_of(const json& o, const char* k) {
  return o.is_object() && o.contains(k) && o[k].is_string() ? o[k].get<std::string>() : "";
}
std::string n_of(const json& o, const char* k) {
  return o.is_object() && o.contains(k) && o[k].is_number() ? std::to_string(o[k].get<int64_t>())
                                                            : "-";
}
const json& obj(const json& o, const char* k) {
  static const json kEmpty = json::object();
  return o.is_object() && o.contains(k) && o[k].is_object() ? o[k] : kEmpty;
}
const json& arr(const json& o, const char* k) {
  static const json kEmpty = json::array();
  return o.is_object() && o.contains(k) && o[k].is_array() ? o[k] : kEmpty;
}

const char* mark(const std::string& phase) {
  if (phase == api::phase::kSucceeded) return "✔";
  if (phase == api::phase::kRunning) return "●";
  if (phase == api::phase::kFailed) return "✖";
  if (phase == api::phase::kAborted) return "✖";
  if (phase == api::phase::kSkipped) return "-";
  return "○";
}

}  // namespace

std::string render_tree(const json& fleet, const json* rollout) {
  std::ostringstream out;
  const json& md = obj(fleet, "metadata");
  const json& spec = obj(fleet, "spec");
  const json& st = obj(fleet, "status");
  out << "Fleet:      " << s_of(md, "name") << " (namespace " << s_of(md, "namespace") << ")\n";
  out << "Phase:      " << (s_of(st, "phase").empty() ? "<none>" : s_of(st, "phase"));
  if (!s_of(st, "message").empty()) out << ": " << s_of(st, "message");
  out << "\n";
  out << "Revision:   current " << n_of(st, "currentRevision") << ", update "
      << n_of(st, "updateRevision") << " (generation " << n_of(md, "generation") << ", observed "
      << n_of(st, "observedGeneration") << ")\n";
  const json& strat = obj(spec, "strategy");
  out << "Strategy:   " << s_of(strat, "type") << ", promotion " << s_of(strat, "promotion")
      << (spec.value("paused", false) ? ", spec.paused" : "")
      << (spec.value("abort", false) ? ", spec.abort" : "") << "\n";
  out << "Traffic:    "
      << (arr(st, "trafficSplit").empty() ? "<none>" : traffic_string(arr(st, "trafficSplit")))
      << "\n";
  if (!arr(st, "fleets").empty()) {
    out << "Fleets:\n";
    Table t{{"  NAME", "ROLE", "REVISION", "READY", "CONNECTIONS", "ADDRESS"}, {}};
    for (const auto& f : arr(st, "fleets")) {
      t.rows.push_back({"  " + s_of(f, "name"), s_of(f, "role"), n_of(f, "revision"),
                        n_of(f, "readyReplicas") + "/" + n_of(f, "replicas"),
                        n_of(f, "activeConnections"), s_of(f, "address")});
    }
    print_table(out, t);
  }
  if (!rollout) {
    out << "Rollout:    <none>\n";
    return out.str();
  }
  const json& rmd = obj(*rollout, "metadata");
  const json& rspec = obj(*rollout, "spec");
  const json& rst = obj(*rollout, "status");
  out << "Rollout:    " << s_of(rmd, "name") << " revision " << n_of(rspec, "revision") << " from "
      << n_of(rspec, "fromRevision") << ", trigger " << s_of(rspec, "trigger");
  if (!s_of(rspec, "reason").empty()) out << " (" << s_of(rspec, "reason") << ")";
  out << "\n";
  out << "  Phase:    " << (s_of(rst, "phase").empty() ? "Pending" : s_of(rst, "phase"));
  if (!s_of(rst, "currentStep").empty()) out << ", step " << s_of(rst, "currentStep");
  if (!s_of(rst, "startedAt").empty())
    out << ", started " << clock_time(s_of(rst, "startedAt")) << " ("
        << duration_between(s_of(rst, "startedAt"), s_of(rst, "finishedAt")) << ")";
  out << "\n";
  if (!s_of(rst, "message").empty()) out << "  Message:  " << s_of(rst, "message") << "\n";
  if (!arr(rst, "traffic").empty())
    out << "  Traffic:  " << traffic_string(arr(rst, "traffic")) << "\n";
  out << "  Steps:\n";
  Table steps{{"    STEP", "PHASE", "STARTED", "DURATION", "TRAFFIC", "MESSAGE"}, {}};
  for (const auto& s : arr(rst, "steps")) {
    std::string phase = s_of(s, "phase");
    std::string started = s_of(s, "startedAt");
    steps.rows.push_back({std::string("    ") + mark(phase) + " " + s_of(s, "name"), phase,
                          clock_time(started),
                          started.empty() ? "" : duration_between(started, s_of(s, "finishedAt")),
                          traffic_string(arr(s, "traffic")), s_of(s, "message")});
  }
  if (steps.rows.empty()) {
    out << "    <none yet>\n";
  } else {
    print_table(out, steps);
  }
  if (!arr(rst, "drains").empty()) {
    out << "  Drains:\n";
    Table t{{"    FLEET", "CONNECTIONS", "STARTED", "DURATION", "DECIDED BY"}, {}};
    for (const auto& d : arr(rst, "drains")) {
      std::string started = s_of(d, "startedAt");
      std::string decided = s_of(d, "decidedBy");
      if (decided.empty()) decided = s_of(d, "finishedAt").empty() ? "(draining)" : "-";
      t.rows.push_back(
          {"    " + s_of(d, "fleet"), n_of(d, "activeConnections"), clock_time(started),
           started.empty() ? "" : duration_between(started, s_of(d, "finishedAt")), decided});
    }
    print_table(out, t);
  }
  // Analysis: the rollout's conditions (e.g. Analysis*) and the verify steps' messages.
  Table an{{"    CHECK", "RESULT", "REASON", "MESSAGE"}, {}};
  for (const auto& c : arr(rst, "conditions")) {
    an.rows.push_back(
        {"    " + s_of(c, "type"), s_of(c, "status"), s_of(c, "reason"), s_of(c, "message")});
  }
  for (const auto& s : arr(rst, "steps")) {
    std::string n = s_of(s, "name");
    if (n.rfind("verify-", 0) == 0 && !s_of(s, "message").empty())
      an.rows.push_back({"    " + n, s_of(s, "phase"), "", s_of(s, "message")});
  }
  if (!an.rows.empty()) {
    out << "  Analysis:\n";
    print_table(out, an);
  }
  return out.str();
}

namespace {

// One line per change when stdout is not a terminal; a redrawn tree when it is.
class Progress {
 public:
  Progress(bool tty, bool tree) : tty_(tty), tree_(tree) {}

  void show(const json& fleet, const json* rollout, const Verdict& v) {
    if (tty_) {
      std::string view = render_tree(fleet, rollout) + "\n" + v.message + "\n";
      if (view == last_view_) return;
      if (lines_ > 0) std::cout << "\033[" << lines_ << "A\033[J";
      std::cout << view << std::flush;
      lines_ = 0;
      for (char c : view)
        if (c == '\n') ++lines_;
      last_view_ = view;
      return;
    }
    if (tree_) {
      std::string view = render_tree(fleet, rollout);
      if (view != last_view_) std::cout << view << "\n" << std::flush;
      last_view_ = view;
    }
    std::string now = clock_now();
    if (rollout) {
      std::string rname = s_of(obj(*rollout, "metadata"), "name");
      for (const auto& s : arr(obj(*rollout, "status"), "steps")) {
        std::string key = rname + "/" + s_of(s, "name");
        std::string phase = s_of(s, "phase");
        if (phases_[key] == phase) continue;
        phases_[key] = phase;
        if (phase == api::phase::kPending) continue;
        std::string line = now + "  " + rname + "  step " + s_of(s, "name") + " " + phase;
        if (!arr(s, "traffic").empty()) line += "  traffic " + traffic_string(arr(s, "traffic"));
        if (!s_of(s, "message").empty()) line += "  " + s_of(s, "message");
        std::cout << line << "\n";
      }
    }
    if (v.message != last_message_) {
      std::cout << now << "  " << v.message << "\n";
      last_message_ = v.message;
    }
    std::cout << std::flush;
  }

 private:
  static std::string clock_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
    return buf;
  }

  bool tty_, tree_;
  size_t lines_ = 0;
  std::string last_view_, last_message_;
  std::map<std::string, std::string> phases_;
};

}  // namespace

int wait_for_rollout(Session& s, const std::string& name, const WaitOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  Progress progress(::isatty(STDOUT_FILENO) == 1, o.tree);
  Verdict v;
  bool warned = false;
  for (;;) {
    json fleet;
    std::optional<json> rollout;
    try {
      fleet = s.get_fleet(name);
      rollout = s.current_rollout(fleet);
      v = judge(fleet, rollout ? &*rollout : nullptr, o.min_generation, o.until);
    } catch (const Error& e) {
      // A long wait outlives apiserver restarts and network blips: keep trying until the
      // timeout. Anything else (forbidden, not found) ends the wait.
      bool transient =
          e.kind() == Error::Kind::kTransport || e.http_status() >= 500 || e.http_status() == 429;
      if (!transient) throw;
      if (!warned) std::cerr << "warning: " << e.what() << " (retrying)\n";
      warned = true;
      v = {Verdict::State::kWaiting, std::string("API unavailable: ") + e.what()};
    }
    // Until the operator has seen the new generation, the fleet's current rollout is the
    // previous one: show no steps rather than its steps.
    const bool observed =
        !fleet.is_null() &&
        fleet.value("status", json::object()).value("observedGeneration", int64_t{0}) >=
            o.min_generation;
    if (o.progress && !fleet.is_null())
      progress.show(fleet, rollout && observed ? &*rollout : nullptr, v);
    switch (v.state) {
      case Verdict::State::kDone:
        if (!o.progress) std::cout << v.message << "\n";
        return kExitOk;
      case Verdict::State::kFailed:
        std::cerr << "error: " << v.message << "\n";
        return kExitFailed;
      case Verdict::State::kPromotion:
        if (!o.progress) std::cout << v.message << "\n";
        return kExitPaused;
      case Verdict::State::kWaiting:
        break;
    }
    auto elapsed = std::chrono::steady_clock::now() - start;
    if (o.timeout.count() > 0 && elapsed >= o.timeout) {
      std::cerr << "error: timed out after "
                << format_duration(
                       std::chrono::duration_cast<std::chrono::seconds>(o.timeout).count())
                << " waiting for proxyfleet " << name << ": " << v.message << "\n";
      return kExitTimeout;
    }
    auto sleep = o.poll;
    if (o.timeout.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout - elapsed);
      if (left < sleep) sleep = left;
    }
    std::this_thread::sleep_for(sleep);
  }
}

}  // namespace ingressx::cli
