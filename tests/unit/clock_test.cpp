// Tests of the OS-facing basics: clock and time formats, logging setup, process runner.
#include "ingressx/core/clock.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "ingressx/core/error.h"
#include "ingressx/core/log.h"
#include "ingressx/core/process.h"

// unit_core does not get spdlog's usage requirements; use spdlog as core was built with it.
#ifndef SPDLOG_COMPILED_LIB
#define SPDLOG_COMPILED_LIB
#endif
#include <spdlog/spdlog.h>

using namespace ingressx;
using namespace std::chrono;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return sys_days(year(y) / month(mo) / day(d)) + hours(h) + minutes(mi) + seconds(s);
}

}  // namespace

TEST_CASE("time formats", "[clock]") {
  auto t = at(2026, 11, 23, 12, 0, 0) + microseconds(123456) + nanoseconds(789);
  CHECK(format_micro_time(t) == "2026-11-23T12:00:00.123456Z");
  CHECK(format_time(t) == "2026-11-23T12:00:00Z");
  CHECK(format_micro_time(at(1970, 1, 1, 0, 0, 0)) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_micro_time(at(1970, 1, 1, 0, 0, 0) - milliseconds(500)) ==
        "1969-12-31T23:59:59.500000Z");
}

TEST_CASE("parse_time accepts RFC 3339", "[clock]") {
  auto t = at(2026, 11, 23, 12, 0, 0);
  CHECK(parse_time("2026-11-23T12:00:00Z", "x") == t);
  CHECK(parse_time("2026-11-23t12:00:00z", "x") == t);
  CHECK(parse_time("2026-11-23T12:00:00.5Z", "x") == t + milliseconds(500));
  CHECK(parse_time("2026-11-23T12:00:00.123456789Z", "x") == t + nanoseconds(123456789));
  CHECK(parse_time("2026-11-23T14:30:00+02:30", "x") == t);
  CHECK(parse_time("2026-11-23T07:00:00-05:00", "x") == t);
  CHECK(parse_time("2024-02-29T00:00:00Z", "x") == at(2024, 2, 29, 0, 0, 0));
  auto micro = t + microseconds(42);
  CHECK(parse_time(format_micro_time(micro), "x") == micro);
  CHECK(parse_time(format_time(t), "x") == t);
}

TEST_CASE("parse_time rejects what is not RFC 3339", "[clock]") {
  for (const char* bad :
       {"", "yesterday", "2026-11-23", "2026-11-23T12:00:00", "2026-11-23T12:00Z",
        "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-23T24:00:00Z",
        "2026-11-23T12:00:00.Z", "2026-11-23T12:00:00+0200", "2026-11-23T12:00:00Z "}) {
    INFO(bad);
    try {
      parse_time(bad, "lease renewTime");
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == Error::Kind::kDecode);
      CHECK_THAT(e.what(),
                 StartsWith("lease renewTime: invalid time \"" + std::string(bad) + "\""));
    }
  }
}

TEST_CASE("clocks", "[clock]") {
  FakeClock fake;
  auto t0 = fake.now();
  auto w0 = fake.wall_now();
  fake.sleep_for(seconds(30));
  fake.advance(milliseconds(500));
  CHECK(fake.now() - t0 == milliseconds(30500));
  CHECK(fake.wall_now() - w0 == milliseconds(30500));

  RealClock real;
  auto r0 = real.now();
  real.sleep_for(milliseconds(20));
  CHECK(real.now() - r0 >= milliseconds(20));
}

TEST_CASE("json_escape", "[log]") {
  CHECK(json_escape("plain") == "plain");
  CHECK(json_escape("a\"b\\c") == "a\\\"b\\\\c");
  CHECK(json_escape("l1\nl2\r\t") == "l1\\nl2\\r\\t");
  CHECK(json_escape(std::string("\x01\x1f", 2)) == "\\u0001\\u001f");
  CHECK(json_escape("h\xc3\xa9llo \xe2\x9c\x93") == "h\xc3\xa9llo \xe2\x9c\x93");  // UTF-8 kept
  CHECK(json_escape("bad \xff\xc3") == "bad \\ufffd\\ufffd");
  CHECK(json_escape("\xed\xa0\x80") == "\\ufffd\\ufffd\\ufffd");  // encoded surrogate
}

namespace {

// Runs `fn` with stderr sent to a temporary file and returns what was written.
template <typename Fn>
std::string capture_stderr(Fn fn) {
  std::string path = (std::filesystem::temp_directory_path() / "ingressx-log-XXXXXX").string();
  int fd = mkstemp(path.data());
  REQUIRE(fd >= 0);
  std::fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  fn();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::string out((std::istreambuf_iterator<char>(in)), {});
  std::filesystem::remove(path);
  return out;
}

}  // namespace

TEST_CASE("setup_logging", "[log]") {
  CHECK_THROWS_AS(setup_logging(LogFormat::kText, "loud"), Error);

  std::string out = capture_stderr([] {
    setup_logging(LogFormat::kJson, "info");
    spdlog::debug("hidden");
    spdlog::info("said \"hi\"\nand left");
    spdlog::warn("careful");
  });
  std::vector<nlohmann::json> lines;
  for (size_t start = 0, end; (end = out.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(nlohmann::json::parse(out.substr(start, end - start)));
  }
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["msg"] == "said \"hi\"\nand left");
  CHECK(lines[0]["level"] == "info");
  CHECK(lines[0]["logger"] == "ingressx");
  CHECK_NOTHROW(parse_time(lines[0]["ts"].get<std::string>(), "ts"));
  CHECK(lines[1]["level"] == "warn");

  out = capture_stderr([] {
    setup_logging(LogFormat::kText, "debug");
    spdlog::debug("plain text");
  });
  CHECK_THAT(out, Contains("Z debug plain text\n"));
  CHECK(out.size() == std::string("2026-11-23T12:00:00.123Z debug plain text\n").size());
  setup_logging(LogFormat::kText, "info");
}

namespace {

ProcessSpec cmd(std::vector<std::string> argv, std::optional<std::string> stdin_data = {}) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.stdin_data = std::move(stdin_data);
  return spec;
}

}  // namespace

TEST_CASE("process runner", "[process]") {
  auto& runner = default_process_runner();

  SECTION("argv, exit code, stdout and stderr") {
    auto r = runner.run(cmd({"/bin/echo", "hello", "world"}));
    CHECK(r.exit_code == 0);
    CHECK(r.out == "hello world\n");
    CHECK(r.err.empty());
    r = runner.run(cmd({"echo", "$HOME;", "*"}));  // from PATH, and no shell expansion
    CHECK(r.out == "$HOME; *\n");
    r = runner.run(cmd({"/bin/sh", "-c", "echo out; echo oops >&2; exit 3"}));
    CHECK(r.exit_code == 3);
    CHECK(r.out == "out\n");
    CHECK(r.err == "oops\n");
  }
  SECTION("stdin and environment") {
    auto r = runner.run(cmd({"/bin/cat"}, "line 1\nline 2"));
    CHECK(r.out == "line 1\nline 2");
    auto env = cmd({"/usr/bin/env"});
    env.extra_env = {{"INGRESSX_TEST_VAR", "42"}, {"HOME", "/override"}};
    r = runner.run(env);
    CHECK_THAT(r.out, Contains("INGRESSX_TEST_VAR=42\n"));
    CHECK_THAT(r.out, Contains("PATH="));           // inherited
    CHECK(getenv("INGRESSX_TEST_VAR") == nullptr);  // only the child's environment
    CHECK_THAT(r.out, Contains("HOME=/override\n"));
    std::string lines = "\n" + r.out;
    CHECK(lines.find("\nHOME=", lines.find("\nHOME=") + 1) == std::string::npos);  // replaced
  }
  SECTION("large outputs do not deadlock; unread stdin does not kill us") {
    std::string big(3 * 1024 * 1024, 'x');
    auto r = runner.run(cmd({"/bin/cat"}, big));
    CHECK(r.out.size() == big.size());
    r = runner.run(cmd({"/bin/sh", "-c", "head -c 2000000 /dev/zero >&2; echo done"}));
    CHECK(r.err.size() == 2000000);
    CHECK(r.out == "done\n");
    r = runner.run(cmd({"/bin/true"}, big));
    CHECK(r.exit_code == 0);
  }
  SECTION("concurrent runs from several threads") {
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 10; ++i) {
          std::string in = "thread " + std::to_string(t) + " run " + std::to_string(i);
          if (runner.run(cmd({"/bin/cat"}, in)).out == in) ++ok;
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(ok == 40);
  }
  SECTION("missing program") {
    for (const char* prog : {"ingressx-no-such-program", "/nonexistent/prog"}) {
      try {
        runner.run(cmd({prog}));
        FAIL("no error");
      } catch (const Error& e) {
        CHECK(e.kind() == Error::Kind::kNotFound);
        CHECK(std::string(e.what()) == std::string(prog) + ": program not found");
      }
    }
  }
  SECTION("timeout kills the child") {
    auto start = steady_clock::now();
    try {
      auto spec = cmd({"/bin/sleep", "10"});
      spec.timeout = milliseconds(200);
      runner.run(spec);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == Error::Kind::kTransport);
      CHECK(std::string(e.what()) == "/bin/sleep: timed out after 0.2s");
    }
    CHECK(steady_clock::now() - start < seconds(5));
  }
  SECTION("a child killed by a signal reports 128 + signal") {
    auto r = runner.run(cmd({"/bin/sh", "-c", "kill -9 $$"}));
    CHECK(r.exit_code == 128 + 9);
  }
}
