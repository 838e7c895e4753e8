#pragma once
// Test helpers for real processes: spawn a child in its own process group, record when it
// exits, and kill exactly that group (by its PID) when the owner goes away - also when a
// test fails. Loopback-only port helpers.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace hooktest {

using SteadyTime = std::chrono::steady_clock::time_point;

class Child {
 public:
  // argv[0] is looked up in PATH; stdout and stderr go to `log_path`.
  Child(std::vector<std::string> argv, const std::string& log_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool exited() const { return exited_.load(); }
  // Waits for the exit; false on timeout.
  bool wait(std::chrono::milliseconds timeout);
  int exit_code() const { return exit_code_; }  // valid after exit; 128+sig if signalled
  SteadyTime exit_time() const { return exit_time_; }
  std::string log() const;
  void signal(int sig) const;  // to the leader only

 private:
  void reap();
  pid_t pid_ = -1;
  std::string log_path_;
  std::atomic<bool> exited_{false};
  int exit_code_ = -1;
  SteadyTime exit_time_{};
  std::thread reaper_;
};

int free_port();
// Polls until a TCP connect to 127.0.0.1:port succeeds; false on timeout.
bool wait_listening(int port, std::chrono::milliseconds timeout);
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);
std::string make_temp_dir(const std::string& prefix);
// Removes the directory tree (best effort).
void remove_tree(const std::string& dir);
int count_occurrences(const std::string& text, const std::string& needle);

}  // namespace hooktest
