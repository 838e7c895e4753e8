#include "run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "ingressx/core/error.h"

namespace ingressx::hook {

FileRunLock::FileRunLock(const std::string& dir, const std::string& key)
    : path_(dir + "/ingressx-hook." + key + ".lock") {
  fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    throw Error(Error::Kind::kInvalidInput,
                "run lock " + path_ + ": " + std::strerror(errno) + " (set --run-dir)");
  }
}

FileRunLock::~FileRunLock() {
  if (fd_ >= 0) close(fd_);  // releases the flock
}

bool FileRunLock::try_acquire() {
  return flock(fd_, LOCK_EX | LOCK_NB) == 0;
}

bool FileRunLock::wait_released(Clock& clock, Clock::Duration max) {
  auto deadline = clock.now() + max;
  while (!try_acquire()) {
    if (clock.now() >= deadline) return false;
    clock.sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

bool FileRunLock::signalled_before() const {
  return access((path_ + ".signalled").c_str(), F_OK) == 0;
}

void FileRunLock::mark_signalled() {
  int fd = open((path_ + ".signalled").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
}

std::string default_run_dir() {
  return access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
}

std::string run_key(const std::string& kind, const std::vector<int>& pids,
                    const std::string& proc_root) {
  if (pids.empty()) return kind + ".none";
  const std::string pid = std::to_string(pids.front());
  std::string start = "0";
  std::ifstream f(proc_root + "/" + pid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // "pid (comm) state ppid ..." : comm may hold spaces and parentheses; fields count from
  // the last ')'. starttime is field 22, the 20th after it.
  if (const auto close = stat.rfind(')'); close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 1));
    std::string field;
    for (int i = 3; i <= 22 && rest >> field; ++i)
      if (i == 22 && field.find_first_not_of("0123456789") == std::string::npos) start = field;
  }
  return kind + "." + pid + "." + start;
}

}  // namespace ingressx::hook
