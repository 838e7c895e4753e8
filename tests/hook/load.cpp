#include "load.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hooktest {
namespace {

using std::chrono::steady_clock;

bool connect_loopback(int s, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

void judge(RequestRecord& r, const std::string& raw) {
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.size() < 12) {
    r.error = raw.empty() ? "empty response" : "truncated headers";
    return;
  }
  r.status = std::atoi(raw.c_str() + 9);
  r.bytes = raw.size() - head_end - 4;
  auto cl = raw.find("Content-Length: ");
  if (cl == std::string::npos || cl > head_end) cl = raw.find("content-length: ");
  size_t want =
      cl == std::string::npos ? r.bytes : std::strtoul(raw.c_str() + cl + 16, nullptr, 10);
  r.ok = r.status == 200 && r.bytes == want;
  if (!r.ok)
    r.error = "status " + std::to_string(r.status) + ", " + std::to_string(r.bytes) + "/" +
              std::to_string(want) + " bytes";
}

}  // namespace

RequestRecord http_get(int port, const std::string& path, const std::atomic<bool>& stop,
                       std::chrono::milliseconds timeout) {
  RequestRecord r;
  r.start = steady_clock::now();
  auto deadline = r.start + timeout;
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  std::string raw;
  if (!connect_loopback(s, port)) {
    r.error = std::string("connect: ") + std::strerror(errno);
  } else {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(s, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      r.error = "send failed";
    }
    char buf[16384];
    while (r.error.empty()) {
      if (stop || steady_clock::now() > deadline) {
        r.error = stop ? "cut by the test" : "timeout";
        break;
      }
      pollfd p{s, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      ssize_t n = recv(s, buf, sizeof buf, 0);
      if (n == 0) break;
      if (n < 0) {
        r.error = std::string("recv: ") + std::strerror(errno);
        break;
      }
      raw.append(buf, static_cast<size_t>(n));
    }
  }
  close(s);
  r.end = steady_clock::now();
  if (r.error.empty()) judge(r, raw);
  return r;
}

Load::~Load() {
  stop_all();
  join();
}

void Load::start_steady(const std::string& path, std::chrono::milliseconds pause) {
  threads_.emplace_back([this, path, pause] {
    // Bounded: at most 2,000 requests, and only while the test runs.
    for (int i = 0; i < 2000 && !steady_stop_ && !all_stop_; ++i) {
      add(path, http_get(port_, path, all_stop_, std::chrono::seconds(5)));
      std::this_thread::sleep_for(pause);
    }
  });
}

void Load::start_requests(const std::string& path, int count) {
  for (int i = 0; i < count; ++i) {
    threads_.emplace_back(
        [this, path] { add(path, http_get(port_, path, all_stop_, std::chrono::seconds(90))); });
  }
}

void Load::stop_all() {
  steady_stop_ = true;
  all_stop_ = true;
}

void Load::join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void Load::add(const std::string& path, RequestRecord r) {
  std::lock_guard lock(mu_);
  done_.emplace_back(path, std::move(r));
}

std::vector<RequestRecord> Load::records(const std::string& path) const {
  std::lock_guard lock(mu_);
  std::vector<RequestRecord> out;
  for (const auto& [p, r] : done_) {
    if (p == path) out.push_back(r);
  }
  return out;
}

}  // namespace hooktest
