#pragma once
// A real BIND9 lab for the DNS cutover tests: a primary `named` on 127.0.0.1:<port> that
// takes TSIG-signed UPDATEs for zone example.test, and a secondary on 127.0.0.2:<same port>
// that follows it through NOTIFY + zone transfer. The zone's NS records name both (ns1
// 127.0.0.1, ns2 127.0.0.2), so the provider waits for both; named listens only on
// interface addresses, so the secondary runs on 127.0.0.1:<port2> and the provider's test
// seam (ns_redirect) sends ns2's queries there. Each named runs in the foreground
// (-g) as a child in its own process group and is killed by its PID when the lab goes away,
// also when an assertion fails. `dig` makes direct queries that bypass the provider.

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child.h"

namespace bindlab {

using namespace std::chrono_literals;
using hooktest::Child;

// With setpriv (util-linux) the kernel also kills the process when the test process dies
// without unwinding (a crash or abort), where Child's destructor cannot run.
inline std::vector<std::string> guarded(std::vector<std::string> argv) {
  std::string setpriv = INGRESSX_SETPRIV;
  if (!setpriv.empty()) argv.insert(argv.begin(), {setpriv, "--pdeathsig", "KILL"});
  return argv;
}

// A fresh random HMAC secret, base64, as tsig-keygen prints it.
inline std::string random_secret(size_t bytes = 32) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::random_device rd;
  std::vector<unsigned char> raw(bytes);
  for (auto& b : raw) b = static_cast<unsigned char>(rd() & 0xff);
  std::string out;
  for (size_t i = 0; i < raw.size(); i += 3) {
    uint32_t v = static_cast<uint32_t>(raw[i]) << 16;
    if (i + 1 < raw.size()) v |= static_cast<uint32_t>(raw[i + 1]) << 8;
    if (i + 2 < raw.size()) v |= raw[i + 2];
    out += abc[(v >> 18) & 63];
    out += abc[(v >> 12) & 63];
    out += i + 1 < raw.size() ? abc[(v >> 6) & 63] : '=';
    out += i + 2 < raw.size() ? abc[v & 63] : '=';
  }
  return out;
}

struct Lab {
  std::string dir = hooktest::make_temp_dir("ingressx-dns-");
  int port = hooktest::free_port();   // the primary, 127.0.0.1
  int port2 = hooktest::free_port();  // the secondary, 127.0.0.1 too (named listens only on
                                      // interface addresses; ns2's 127.0.0.2 is redirected)
  std::string zone = "example.test";
  std::string key_name = "ingressx-test-key";  // hmac-sha256, may update
  std::string secret = random_secret();
  std::string key512_name = "ingressx-sha512-key";  // hmac-sha512, may update
  std::string secret512 = random_secret(64);
  std::string readonly_name = "ingressx-readonly-key";  // known, not allowed to update
  std::string readonly_secret = random_secret();
  bool with_secondary = true;
  std::unique_ptr<Child> primary, secondary;

  explicit Lab(bool secondary_too = true) : with_secondary(secondary_too) {
    try {
      mkdir((dir + "/primary").c_str(), 0755);
      mkdir((dir + "/secondary").c_str(), 0755);
      hooktest::write_text(dir + "/primary/named.conf", primary_conf());
      hooktest::write_text(dir + "/primary/zone.db", zone_file());
      hooktest::write_text(dir + "/secondary/named.conf", secondary_conf());
      start_primary();
      if (with_secondary) start_secondary();
    } catch (...) {
      teardown();
      throw;
    }
  }
  ~Lab() { teardown(); }
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  void teardown() {
    secondary.reset();
    primary.reset();
    hooktest::remove_tree(dir);
  }

  std::string server() const { return "127.0.0.1:" + std::to_string(port); }
  std::string server2() const { return "127.0.0.1:" + std::to_string(port2); }

  std::string keys() const {
    return "key \"" + key_name + "\" { algorithm hmac-sha256; secret \"" + secret + "\"; };\n" +
           "key \"" + key512_name + "\" { algorithm hmac-sha512; secret \"" + secret512 +
           "\"; };\n" + "key \"" + readonly_name + "\" { algorithm hmac-sha256; secret \"" +
           readonly_secret + "\"; };\n";
  }

  std::string options(const std::string& sub, int listen_port) const {
    const std::string d = dir + "/" + sub;
    return "options {\n  directory \"" + d + "\";\n  pid-file \"" + d +
           "/named.pid\";\n  session-keyfile \"" + d + "/session.key\";\n" +
           "  managed-keys-directory \"" + d + "\";\n  listen-on port " +
           std::to_string(listen_port) +
           " { 127.0.0.1; };\n  listen-on-v6 { none; };\n  recursion no;\n" +
           "  dnssec-validation no;\n  notify-delay 0;\n";
  }

  std::string primary_conf() const {
    return options("primary", port) + "  notify explicit;\n  also-notify { 127.0.0.1 port " +
           std::to_string(port2) + "; };\n  allow-transfer { 127.0.0.0/8; };\n};\n" +
           "controls { };\n" + keys() + "zone \"" + zone + "\" {\n  type primary;\n  file \"" +
           dir + "/primary/zone.db\";\n  allow-update { key \"" + key_name + "\"; key \"" +
           key512_name + "\"; };\n};\n";
  }

  std::string secondary_conf() const {
    return options("secondary", port2) +
           "  notify no;\n  allow-notify { 127.0.0.0/8; };\n};\ncontrols { };\n" + keys() +
           "zone \"" + zone + "\" {\n  type secondary;\n  primaries { 127.0.0.1 port " +
           std::to_string(port) + "; };\n  file \"" + dir + "/secondary/zone.db\";\n};\n";
  }

  // ns2 (the secondary) only when the lab runs one.
  std::string zone_file() const {
    return std::string("$TTL 300\n") +
           "@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60\n" +
           "@ IN NS ns1.example.test.\n" + (with_secondary ? "@ IN NS ns2.example.test.\n" : "") +
           "ns1 IN A 127.0.0.1\n" + (with_secondary ? "ns2 IN A 127.0.0.2\n" : "") +
           "keep IN TXT \"not touched by the provider\"\n";
  }

  std::unique_ptr<Child> start_named(const std::string& sub, int at_port) {
    const std::string d = dir + "/" + sub;
    auto child = std::make_unique<Child>(
        guarded({INGRESSX_NAMED, "-g", "-4", "-n", "1", "-c", d + "/named.conf"}),
        d + "/named.out");
    // Ready when it answers the zone's SOA (a secondary: after its first transfer).
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (child->exited()) break;
      if (dig(at_port, {zone, "SOA", "+short"}).find("hostmaster") != std::string::npos)
        return child;
      std::this_thread::sleep_for(100ms);
    }
    throw std::runtime_error("named (" + sub + ") did not answer for " + zone + ": " +
                             child->log());
  }
  void start_primary() { primary = start_named("primary", port); }
  void start_secondary() { secondary = start_named("secondary", port2); }
  void stop_primary() { primary.reset(); }
  void stop_secondary() { secondary.reset(); }

  // A direct query with dig (not through the provider); its output.
  // `at` is port (the primary) or port2 (the secondary).
  std::string dig(int at, std::vector<std::string> args) const {
    static int n = 0;
    const std::string out = dir + "/dig-" + std::to_string(++n) + ".out";
    std::vector<std::string> argv{INGRESSX_DIG, "@127.0.0.1", "-p",      std::to_string(at),
                                  "+tcp",       "+time=2",    "+tries=1"};
    argv.insert(argv.end(), args.begin(), args.end());
    Child c(argv, out);
    c.wait(10s);
    auto text = hooktest::read_text(out);
    unlink(out.c_str());
    return text;
  }
  // "+short" answer of one name and type at one server, whitespace-trimmed.
  std::string answer(int at, const std::string& name, const std::string& type) const {
    auto t = dig(at, {name, type, "+short"});
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    return t;
  }
  std::string serial(int at = 0) const {
    auto soa = answer(at ? at : port, zone, "SOA");
    // "ns1.example.test. hostmaster.example.test. SERIAL ..."
    auto a = soa.find(' ');
    auto b = soa.find(' ', a + 1);
    auto c = soa.find(' ', b + 1);
    if (a == std::string::npos || b == std::string::npos) return soa;
    return soa.substr(b + 1, c - b - 1);
  }
};

}  // namespace bindlab
