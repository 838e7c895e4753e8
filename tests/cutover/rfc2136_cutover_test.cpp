// The rfc2136 DNS cutover provider against a real BIND9 (Debian bind9): a primary that takes
// TSIG-signed UPDATEs and a secondary that follows it by NOTIFY and zone transfer, both on
// loopback (see bind_lab.h). Every named the test starts is killed by its PID when the lab
// goes away, also when an assertion fails. Direct queries use dig, not the provider.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "bind_lab.h"
#include "cutover/cutover_rfc2136.h"
#include "ingressx/core/error.h"
#include "ingressx/operator/cutover.h"

namespace {

using namespace std::chrono_literals;
using ingressx::Error;
using ingressx::op::TrafficSplit;
using ingressx::op::TrafficTarget;
using Clock = std::chrono::steady_clock;

const std::string kEdgeV4 = "192.0.2.10";
const std::string kTempV4 = "192.0.2.20";

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no ingressx::Error thrown)";
}

ingressx::op::Rfc2136CutoverConfig config(const bindlab::Lab& lab,
                                          std::map<std::string, std::string> fleets = {
                                              {"edge", kEdgeV4}, {"edge-temp", kTempV4}}) {
  ingressx::op::Rfc2136CutoverConfig cfg;
  cfg.server = lab.server();
  cfg.zone = lab.zone;
  cfg.names = {"www", "api.example.test."};
  cfg.ttl = 30;
  cfg.key_name = lab.key_name;
  cfg.algorithm = "hmac-sha256";
  const std::string secret = lab.secret;
  cfg.secret = [secret] { return secret; };
  cfg.fleet_addresses = std::move(fleets);
  // ns1 (127.0.0.1) is the primary itself; ns2 (127.0.0.2) is the lab's secondary.
  cfg.ns_redirect = {{"127.0.0.2", lab.server2()}};
  cfg.converge_timeout_ms = 15000;
  return cfg;
}

std::vector<TrafficTarget> to_edge(const std::string& a = kEdgeV4, const std::string& b = kTempV4) {
  return {{"edge", "primary", 100, a, 80}, {"edge-temp", "temp", 0, b, 80}};
}
std::vector<TrafficTarget> to_temp(const std::string& a = kEdgeV4, const std::string& b = kTempV4) {
  return {{"edge", "primary", 0, a, 80}, {"edge-temp", "temp", 100, b, 80}};
}

// Appends a line to the figures file the report quotes (UPDATE -> all servers answer).
void figure(const std::string& line) {
  std::ofstream(INGRESSX_CUTOVER_FIGURES, std::ios::app) << line << "\n";
}

long ms_since(Clock::time_point t) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

// ---------------------------------------------------------------------------------------
// Pure parts

TEST_CASE("rfc2136 record for an address", "[cutover][dns]") {
  using ingressx::op::dns::record_for;
  using ingressx::op::dns::RecordType;
  CHECK(record_for("10.1.2.3").type == RecordType::kA);
  CHECK(record_for("10.1.2.3").data == "10.1.2.3");
  CHECK(record_for("2001:DB8:0:0::10").type == RecordType::kAAAA);
  CHECK(record_for("2001:DB8:0:0::10").data == "2001:db8::10");
  CHECK(record_for("LB-1.elb.Example.net").type == RecordType::kCNAME);
  CHECK(record_for("LB-1.elb.Example.net").data == "lb-1.elb.example.net.");
  CHECK(record_for("lb.example.net.").data == "lb.example.net.");
  CHECK(what_of([] { record_for("bad name;rm"); }).find("neither") != std::string::npos);
  CHECK(what_of([] { record_for(""); }).find("neither") != std::string::npos);
}

TEST_CASE("rfc2136 names relative to the zone", "[cutover][dns]") {
  using ingressx::op::dns::absolute_name;
  CHECK(absolute_name("www", "example.test") == "www.example.test.");
  CHECK(absolute_name("WWW", "Example.Test.") == "www.example.test.");
  CHECK(absolute_name("@", "example.test") == "example.test.");
  CHECK(absolute_name("", "example.test") == "example.test.");
  CHECK(absolute_name("www.example.test", "example.test") == "www.example.test.");
  CHECK(absolute_name("example.test", "example.test") == "example.test.");
  CHECK(absolute_name("a.b", "example.test") == "a.b.example.test.");
  CHECK(absolute_name("other.org.", "example.test") == "other.org.");
  CHECK(absolute_name("myexample.test", "example.test") == "myexample.test.example.test.");
}

TEST_CASE("rfc2136 TSIG secret from a Secret object", "[cutover][dns]") {
  using ingressx::op::dns::tsig_secret_from;
  const std::string tsig = "c2VjcmV0LWtleS1tYXRlcmlhbC0wMTIzNDU2Nzg5YWJjZGVm";  // base64
  // Kubernetes stores data values base64-encoded: base64(tsig + "\n").
  const std::string stored = "YzJWamNtVjBMV3RsZVMxdFlYUmxjbWxoYkMwd01USXpORFUyTnpnNVlXSmpaR1ZtCg==";
  nlohmann::json secret = {{"data", {{"secret", stored}, {"bad", "!!!"}, {"raw", "AAEC"}}}};
  CHECK(tsig_secret_from(secret, "secret", "Secret ns/tsig") == tsig);
  auto missing = what_of([&] { tsig_secret_from(secret, "other", "Secret ns/tsig"); });
  CHECK(missing.find("Secret ns/tsig") != std::string::npos);
  CHECK(missing.find("'other'") != std::string::npos);
  auto bad = what_of([&] { tsig_secret_from(secret, "bad", "Secret ns/tsig"); });
  CHECK(bad.find("not base64") != std::string::npos);
  CHECK(bad.find("!!!") == std::string::npos);
  // Decodes to bytes 00 01 02: base64 data, but not a base64 TSIG secret.
  auto raw = what_of([&] { tsig_secret_from(secret, "raw", "Secret ns/tsig"); });
  CHECK(raw.find("base64 TSIG secret") != std::string::npos);
  CHECK(raw.find("AAEC") == std::string::npos);
}

TEST_CASE("rfc2136 configuration errors", "[cutover][dns]") {
  ingressx::op::Rfc2136CutoverConfig cfg;
  cfg.server = "127.0.0.1:53";
  cfg.zone = "example.test";
  cfg.names = {"www"};
  cfg.key_name = "k";
  CHECK_NOTHROW(ingressx::op::make_rfc2136_cutover(cfg));
  auto with = [&](auto change) {
    auto c = cfg;
    change(c);
    return what_of([&] { ingressx::op::make_rfc2136_cutover(c); });
  };
  CHECK(with([](auto& c) { c.server = "no-port"; }).find("no-port") != std::string::npos);
  CHECK(with([](auto& c) { c.names = {"www.other.org."}; }).find("not in zone") !=
        std::string::npos);
  CHECK(with([](auto& c) { c.names.clear(); }).find("no names") != std::string::npos);
  CHECK(with([](auto& c) { c.ttl = 0; }).find("ttl") != std::string::npos);
  CHECK(with([](auto& c) { c.algorithm = "hmac-md5"; }).find("hmac-md5") != std::string::npos);
  CHECK(with([](auto& c) { c.key_name = "bad key"; }).find("key name") != std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Against a real BIND9

TEST_CASE("rfc2136 cutover: A records for two names, idempotent, there and back", "[cutover]") {
  bindlab::Lab lab;
  auto p = ingressx::op::make_rfc2136_cutover(config(lab));
  CHECK(p->name() == "rfc2136 " + lab.server() + " zone example.test");
  CHECK(p->read() == TrafficSplit{{"edge", 0}, {"edge-temp", 0}});  // no records yet

  auto t0 = Clock::now();
  auto split = p->apply(to_edge());
  const long first_ms = ms_since(t0);
  CHECK(split == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  for (const int server : {lab.port, lab.port2}) {
    INFO("server " << server);
    CHECK(lab.answer(server, "www.example.test", "A") == kEdgeV4);
    CHECK(lab.answer(server, "api.example.test", "A") == kEdgeV4);
  }
  // TTL from the config.
  CHECK(lab.dig(lab.port, {"www.example.test", "A", "+noall", "+answer"}).find("\t30\tIN") !=
        std::string::npos);
  // Records the provider does not own are left alone.
  CHECK(lab.answer(lab.port, "keep.example.test", "TXT") == "\"not touched by the provider\"");

  // Idempotent: the same call sends no UPDATE (the serial stays) and answers the same.
  const std::string serial = lab.serial();
  auto t1 = Clock::now();
  CHECK(p->apply(to_edge()) == split);
  const long again_ms = ms_since(t1);
  CHECK(lab.serial() == serial);
  CHECK(p->read() == split);

  // To the other fleet and back; both servers answer before apply() returns.
  auto t2 = Clock::now();
  CHECK(p->apply(to_temp()) == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
  const long move_ms = ms_since(t2);
  for (const int server : {lab.port, lab.port2}) {
    INFO("server " << server);
    CHECK(lab.answer(server, "www.example.test", "A") == kTempV4);
    CHECK(lab.answer(server, "api.example.test", "A") == kTempV4);
  }
  auto t3 = Clock::now();
  CHECK(p->apply(to_edge()) == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  const long back_ms = ms_since(t3);
  CHECK(lab.answer(lab.port2, "www.example.test", "A") == kEdgeV4);
  CHECK(lab.serial(lab.port2) == lab.serial(lab.port));

  figure("rfc2136 apply (UPDATE + primary and secondary answer): first " +
         std::to_string(first_ms) + " ms, move " + std::to_string(move_ms) + " ms, back " +
         std::to_string(back_ms) + " ms, idempotent re-apply (no UPDATE) " +
         std::to_string(again_ms) + " ms");
  WARN("apply: first " << first_ms << " ms, move " << move_ms << " ms, back " << back_ms
                       << " ms, re-apply " << again_ms << " ms");
}

TEST_CASE("rfc2136 cutover: AAAA and CNAME by address family", "[cutover]") {
  bindlab::Lab lab;
  const std::string v6 = "2001:db8::10";
  const std::string host = "LB-1.elb.example.net";
  auto p = ingressx::op::make_rfc2136_cutover(config(lab, {{"edge", v6}, {"edge-temp", host}}));

  CHECK(p->apply(to_edge(v6, host)) == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  CHECK(lab.answer(lab.port, "www.example.test", "AAAA") == v6);
  CHECK(lab.answer(lab.port2, "api.example.test", "AAAA") == v6);
  CHECK(lab.answer(lab.port, "www.example.test", "A").empty());

  CHECK(p->apply(to_temp(v6, host)) == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
  CHECK(lab.answer(lab.port, "www.example.test", "CNAME") == "lb-1.elb.example.net.");
  CHECK(lab.answer(lab.port2, "api.example.test", "CNAME") == "lb-1.elb.example.net.");
  CHECK(lab.answer(lab.port, "www.example.test", "AAAA") == "lb-1.elb.example.net.");  // only
  CHECK(p->read() == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});

  // From a CNAME back to an address: the CNAME goes, the AAAA comes back.
  CHECK(p->apply(to_edge(v6, host)) == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  CHECK(lab.answer(lab.port, "www.example.test", "CNAME").empty());
  CHECK(lab.answer(lab.port2, "www.example.test", "AAAA") == v6);

  SECTION("no CNAME at the zone apex") {
    auto cfg = config(lab, {{"edge", v6}, {"edge-temp", host}});
    cfg.names = {"@"};
    auto apex = ingressx::op::make_rfc2136_cutover(cfg);
    auto msg = what_of([&] { apex->apply(to_temp(v6, host)); });
    CHECK(msg.find("apex") != std::string::npos);
  }
}

TEST_CASE("rfc2136 cutover: hmac-sha512 key", "[cutover]") {
  bindlab::Lab lab(false);
  auto cfg = config(lab);
  cfg.key_name = lab.key512_name;
  cfg.algorithm = "hmac-sha512";
  const std::string s = lab.secret512;
  cfg.secret = [s] { return s; };
  auto p = ingressx::op::make_rfc2136_cutover(cfg);
  CHECK(p->apply(to_temp()) == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
  CHECK(lab.answer(lab.port, "www.example.test", "A") == kTempV4);
}

TEST_CASE("rfc2136 cutover: rejected keys change nothing and never show the secret", "[cutover]") {
  bindlab::Lab lab(false);
  auto good = ingressx::op::make_rfc2136_cutover(config(lab));
  good->apply(to_edge());
  const std::string serial = lab.serial();
  std::vector<std::string> secrets{lab.secret, lab.secret512, lab.readonly_secret};
  std::string msg;
  std::string wrong;

  SECTION("wrong secret: NOTAUTH, BADSIG") {
    wrong = bindlab::random_secret();
    auto cfg = config(lab);
    cfg.secret = [wrong] { return wrong; };
    auto p = ingressx::op::make_rfc2136_cutover(cfg);
    msg = what_of([&] { p->apply(to_temp()); });
    CHECK(msg.find("NOTAUTH") != std::string::npos);
    CHECK(msg.find("BADSIG") != std::string::npos);
    CHECK(msg.find(lab.key_name) != std::string::npos);
  }
  SECTION("unknown key name: NOTAUTH, BADKEY") {
    auto cfg = config(lab);
    cfg.key_name = "no-such-key";
    auto p = ingressx::op::make_rfc2136_cutover(cfg);
    msg = what_of([&] { p->apply(to_temp()); });
    CHECK(msg.find("NOTAUTH") != std::string::npos);
    CHECK(msg.find("BADKEY") != std::string::npos);
  }
  SECTION("wrong algorithm for the key") {
    auto cfg = config(lab);
    cfg.algorithm = "hmac-sha512";
    auto p = ingressx::op::make_rfc2136_cutover(cfg);
    msg = what_of([&] { p->apply(to_temp()); });
    CHECK(msg.find("NOTAUTH") != std::string::npos);
  }
  SECTION("a valid key the zone does not allow: REFUSED") {
    auto cfg = config(lab);
    cfg.key_name = lab.readonly_name;
    const std::string s = lab.readonly_secret;
    cfg.secret = [s] { return s; };
    auto p = ingressx::op::make_rfc2136_cutover(cfg);
    msg = what_of([&] { p->apply(to_temp()); });
    CHECK(msg.find("REFUSED") != std::string::npos);
  }
  SECTION("secret that is not base64") {
    wrong = "not base64 !!";
    auto cfg = config(lab);
    cfg.secret = [wrong] { return wrong; };
    auto p = ingressx::op::make_rfc2136_cutover(cfg);
    msg = what_of([&] { p->apply(to_temp()); });
    CHECK(msg.find("no valid base64 secret") != std::string::npos);
  }
  SECTION("the secret cannot be read") {
    auto cfg = config(lab);
    cfg.secret = []() -> std::string {
      throw Error(Error::Kind::kNotFound, "Secret edge/tsig does not exist");
    };
    auto p = ingressx::op::make_rfc2136_cutover(cfg);
    msg = what_of([&] { p->apply(to_temp()); });
    CHECK(msg.find("Secret edge/tsig does not exist") != std::string::npos);
  }
  INFO(msg);
  CHECK(msg.find(lab.server()) != std::string::npos);
  CHECK(msg.find("example.test") != std::string::npos);
  for (const auto& s : secrets) CHECK(msg.find(s) == std::string::npos);
  if (!wrong.empty()) CHECK(msg.find(wrong) == std::string::npos);
  // Nothing changed: checked with direct queries.
  CHECK(lab.serial() == serial);
  CHECK(lab.answer(lab.port, "www.example.test", "A") == kEdgeV4);
  CHECK(lab.answer(lab.port, "api.example.test", "A") == kEdgeV4);
  CHECK(good->read() == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  // The named log has no secret either (it never saw one from us but its own config).
  const std::string log = lab.primary->log();
  if (!wrong.empty()) CHECK(log.find(wrong) == std::string::npos);
}

TEST_CASE("rfc2136 cutover: server down, then back", "[cutover]") {
  bindlab::Lab lab(false);
  auto p = ingressx::op::make_rfc2136_cutover(config(lab));
  p->apply(to_edge());
  lab.stop_primary();

  auto t = Clock::now();
  auto msg = what_of([&] { p->apply(to_temp()); });
  const long fail_ms = ms_since(t);
  INFO(msg);
  CHECK(msg.find(lab.server()) != std::string::npos);
  CHECK(msg.find("example.test") != std::string::npos);
  CHECK(msg.find("refused") != std::string::npos);
  CHECK(msg.find(lab.secret) == std::string::npos);
  CHECK(fail_ms < 3000);
  auto read_msg = what_of([&] { p->read(); });
  CHECK(read_msg.find(lab.server()) != std::string::npos);

  lab.start_primary();  // same port, same zone file and journal
  CHECK(p->read() == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
  CHECK(p->apply(to_temp()) == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
  CHECK(lab.answer(lab.port, "www.example.test", "A") == kTempV4);
}

TEST_CASE("rfc2136 cutover: a secondary that does not follow times out, naming it", "[cutover]") {
  bindlab::Lab lab;
  auto cfg = config(lab);
  cfg.converge_timeout_ms = 1500;
  auto p = ingressx::op::make_rfc2136_cutover(cfg);
  p->apply(to_edge());
  lab.stop_secondary();

  auto t = Clock::now();
  auto msg = what_of([&] { p->apply(to_temp()); });
  const long took = ms_since(t);
  INFO(msg);
  CHECK(msg.find("ns2.example.test (" + lab.server2() + ")") != std::string::npos);
  CHECK(msg.find("accepted the UPDATE") != std::string::npos);
  CHECK(hooktest::count_occurrences(msg, "127.0.0.1:" + std::to_string(lab.port2)) == 1);
  CHECK(msg.find("ns1.example.test") == std::string::npos);  // the primary is the same server
  CHECK(took >= 1500);
  CHECK(took < 6000);
  // The primary has the new data; once the secondary is back it catches up and apply()
  // (idempotent: no new UPDATE) returns.
  CHECK(lab.answer(lab.port, "www.example.test", "A") == kTempV4);
  // It comes back empty (a stopped secondary keeps its old copy until its SOA refresh,
  // 3600 s here: it missed the NOTIFY), transfers the zone, and apply() - idempotent, no
  // new UPDATE - returns once it answers.
  for (const char* f : {"/secondary/zone.db", "/secondary/zone.db.jnl"})
    unlink((lab.dir + f).c_str());
  lab.start_secondary();
  cfg.converge_timeout_ms = 15000;
  auto p2 = ingressx::op::make_rfc2136_cutover(cfg);
  CHECK(p2->apply(to_temp()) == TrafficSplit{{"edge", 0}, {"edge-temp", 100}});
  CHECK(lab.answer(lab.port2, "www.example.test", "A") == kTempV4);
}

TEST_CASE("rfc2136 cutover: weights a record cannot express are refused", "[cutover]") {
  bindlab::Lab lab(false);
  auto p = ingressx::op::make_rfc2136_cutover(config(lab));
  p->apply(to_edge());
  const std::string serial = lab.serial();
  auto split = what_of([&] {
    p->apply({{"edge", "primary", 20, kEdgeV4, 80}, {"edge-temp", "temp", 80, kTempV4, 80}});
  });
  CHECK(split.find("100") != std::string::npos);
  CHECK(split.find("edge=20 edge-temp=80") != std::string::npos);
  auto none = what_of([&] { p->apply({{"edge-temp", "temp", 0, "", 0}}); });
  CHECK(none.find("no fleet with weight 100") != std::string::npos);
  CHECK(lab.serial() == serial);
  CHECK(p->read() == TrafficSplit{{"edge", 100}, {"edge-temp", 0}});
}

}  // namespace
