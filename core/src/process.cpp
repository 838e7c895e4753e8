// The process runner: the only file that uses Boost.Process.
#include "ingressx/core/process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

// clang-format off
#include <utility>  // Boost.Asio 1.74 uses std::exchange without including it
#include <boost/asio.hpp>
// clang-format on
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>

#include "ingressx/core/error.h"

namespace ingressx {

namespace {

namespace bp = boost::process;
namespace asio = boost::asio;

// Finds an executable like execvp would: names with a '/' are used as they are, others are
// looked up in this process's PATH. Returns "" when nothing executable is found.
std::string find_program(const std::string& name) {
  auto executable = [](const std::string& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) return executable(name) ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return "";
}

void set_cloexec(bp::async_pipe& p) {
  ::fcntl(p.native_source(), F_SETFD, FD_CLOEXEC);
  ::fcntl(p.native_sink(), F_SETFD, FD_CLOEXEC);
}

// "5s", "1.5s", "0.25s"
std::string format_seconds(std::chrono::milliseconds d) {
  std::string s = std::to_string(d.count() / 1000);
  if (long ms = d.count() % 1000; ms != 0) {
    std::string frac = std::to_string(1000 + ms).substr(1);
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
  return s + "s";
}

// Blocks SIGPIPE in the calling thread while alive, so that writing to a child that
// closed its stdin yields EPIPE instead of killing the process; a SIGPIPE raised meanwhile
// is consumed before the mask is restored. Process-wide signal dispositions are untouched.
class SigpipeBlocker {
 public:
  SigpipeBlocker() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~SigpipeBlocker() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGPIPE);
      timespec zero{0, 0};
      while (sigtimedwait(&set, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlocker(const SigpipeBlocker&) = delete;
  SigpipeBlocker& operator=(const SigpipeBlocker&) = delete;

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

// Serializes pipe creation and spawning, so no child started by another runner thread
// inherits our pipe ends between pipe() and FD_CLOEXEC (which would delay our EOF).
std::mutex& spawn_mutex() {
  static std::mutex mu;
  return mu;
}

// Hands the child its environment: ours with `extra` applied. Built here rather than with
// bp::environment, whose lookup in Boost 1.74 reads past the end of shorter entries.
class ChildEnvironment : public bp::extend::handler {
 public:
  explicit ChildEnvironment(const std::map<std::string, std::string>& extra) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view entry(*e);
      if (extra.count(std::string(entry.substr(0, entry.find('=')))) == 0) {
        entries_.emplace_back(entry);
      }
    }
    for (const auto& [k, v] : extra) entries_.push_back(k + "=" + v);
    for (auto& s : entries_) pointers_.push_back(s.data());
    pointers_.push_back(nullptr);
  }
  template <typename Executor>
  void on_setup(Executor& exec) const {
    exec.env = pointers_.data();
  }

 private:
  std::vector<std::string> entries_;
  mutable std::vector<char*> pointers_;
};

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return status;
}

class BoostProcessRunner final : public ProcessRunner {
 public:
  ProcessResult run(const ProcessSpec& spec) override {
    if (spec.argv.empty() || spec.argv[0].empty()) {
      throw Error(Error::Kind::kInvalidInput, "process: empty command");
    }
    try {
      return run_checked(spec);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {  // e.g. out of file descriptors for the pipes
      throw Error(Error::Kind::kInternal, spec.argv[0] + ": " + e.what());
    }
  }

 private:
  static ProcessResult run_checked(const ProcessSpec& spec) {
    const std::string& name = spec.argv[0];
    std::string exe = find_program(name);
    if (exe.empty()) throw Error(Error::Kind::kNotFound, name + ": program not found");
    std::vector<std::string> args(spec.argv.begin() + 1, spec.argv.end());
    ChildEnvironment env(spec.extra_env);

    ProcessResult result;  // outlives the io_context, whose pending reads point into it
    asio::io_context ioc;
    bp::async_pipe out_pipe(ioc), err_pipe(ioc), in_pipe(ioc);
    std::error_code spawn_error;
    bp::child child;
    {
      std::lock_guard lock(spawn_mutex());
      set_cloexec(out_pipe);
      set_cloexec(err_pipe);
      set_cloexec(in_pipe);
      child = bp::child(bp::exe = exe, bp::args = args, env, bp::std_out > out_pipe,
                        bp::std_err > err_pipe, bp::std_in < in_pipe, spawn_error);
    }
    if (spawn_error) {
      auto kind = spawn_error == std::errc::no_such_file_or_directory ? Error::Kind::kNotFound
                                                                      : Error::Kind::kInvalidInput;
      throw Error(kind, name + ": cannot run " + exe + ": " + spawn_error.message());
    }

    const auto deadline = std::chrono::steady_clock::now() + spec.timeout;
    bool finished = false;
    {
      SigpipeBlocker blocker;
      auto ignore = [](const boost::system::error_code&, size_t) {};
      asio::async_read(out_pipe, asio::dynamic_buffer(result.out), ignore);
      asio::async_read(err_pipe, asio::dynamic_buffer(result.err), ignore);
      if (!spec.stdin_data || spec.stdin_data->empty()) {
        in_pipe.close();
      } else {
        asio::async_write(in_pipe, asio::buffer(*spec.stdin_data),
                          [&](const boost::system::error_code&, size_t) { in_pipe.close(); });
      }
      ioc.run_until(deadline);
      finished = ioc.stopped();
    }
    int status = 0;
    if (finished) finished = wait_until(child, deadline, status);
    if (!finished) {
      ::kill(child.id(), SIGKILL);
      while (::waitpid(child.id(), &status, 0) == -1 && errno == EINTR) {
      }
      child.detach();
      throw Error(Error::Kind::kTransport,
                  name + ": timed out after " + format_seconds(spec.timeout));
    }
    result.exit_code = decode_status(status);
    return result;
  }

  // Polls for the child's exit (its output is closed, so it is normally gone already).
  static bool wait_until(bp::child& child, std::chrono::steady_clock::time_point deadline,
                         int& status) {
    auto delay = std::chrono::microseconds(100);
    while (true) {
      pid_t r = ::waitpid(child.id(), &status, WNOHANG);
      if (r == child.id()) {
        child.detach();  // reaped here; keep bp::child from waiting or killing again
        return true;
      }
      if (r == -1 && errno != EINTR) {
        throw Error(
            Error::Kind::kInternal,
            "process: waitpid: " + std::error_code(errno, std::generic_category()).message());
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(delay);
      delay = std::min<std::chrono::microseconds>(delay * 2, std::chrono::milliseconds(10));
    }
  }
};

}  // namespace

ProcessRunner& default_process_runner() {
  static BoostProcessRunner runner;
  return runner;
}

}  // namespace ingressx
