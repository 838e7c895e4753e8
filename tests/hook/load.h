#pragma once
// A small, bounded HTTP load generator for the hook tests (loopback only): steady short
// requests, slow requests and long-lived streams, each recorded with its start and end.

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "child.h"

namespace hooktest {

struct RequestRecord {
  SteadyTime start{}, end{};
  bool ok = false;  // status 200 and the whole body (Content-Length) arrived
  int status = 0;
  size_t bytes = 0;
  std::string error;
};

// One HTTP/1.0 GET to 127.0.0.1:port; gives up when `stop` is set or after `timeout`.
RequestRecord http_get(int port, const std::string& path, const std::atomic<bool>& stop,
                       std::chrono::milliseconds timeout);

class Load {
 public:
  explicit Load(int port) : port_(port) {}
  ~Load();  // stops and joins everything
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  void start_steady(const std::string& path, std::chrono::milliseconds pause);
  void start_requests(const std::string& path, int count);  // in parallel, once each
  void stop_steady() { steady_stop_ = true; }
  void stop_all();  // cuts whatever is still open
  void join();

  std::vector<RequestRecord> records(const std::string& path) const;

 private:
  void add(const std::string& path, RequestRecord r);
  int port_;
  std::atomic<bool> steady_stop_{false}, all_stop_{false};
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, RequestRecord>> done_;
  std::vector<std::thread> threads_;
};

}  // namespace hooktest
