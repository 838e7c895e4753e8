#pragma once
// Runs a child process without a shell (the only user of Boost.Process).

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ingressx {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

struct ProcessSpec {
  std::vector<std::string> argv;                 // argv[0] is looked up in PATH
  std::map<std::string, std::string> extra_env;  // added to the inherited environment
  std::optional<std::string> stdin_data;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Throws Error(kNotFound) if the program does not exist, Error(kTransport) on timeout
  // (the child is killed). A non-zero exit is returned, not thrown.
  virtual ProcessResult run(const ProcessSpec& spec) = 0;
};

ProcessRunner& default_process_runner();

}  // namespace ingressx
