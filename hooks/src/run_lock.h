#pragma once
// Makes the preStop hook idempotent. Kubernetes runs hooks at least once, and a second
// invocation may start while the first still runs: only the holder of the run lock waits
// and signals; others wait until the lock is released. A marker remembers that the proxy
// was signalled, so that a later invocation (the first one was killed) does not signal again.

#include <string>
#include <vector>

#include "ingressx/core/clock.h"

namespace ingressx::hook {

class RunLock {
 public:
  virtual ~RunLock() = default;
  // True when this invocation now holds the lock (held until destruction).
  virtual bool try_acquire() = 0;
  // Polls until the holder releases the lock or `max` passes; true when released.
  virtual bool wait_released(Clock& clock, Clock::Duration max) = 0;
  virtual bool signalled_before() const = 0;
  virtual void mark_signalled() = 0;
};

// flock(2) on <dir>/ingressx-hook.<key>.lock; the marker is <same>.signalled. `dir`
// should be local to the pod (/dev/shm or /tmp). Throws Error when the file cannot be created.
class FileRunLock final : public RunLock {
 public:
  FileRunLock(const std::string& dir, const std::string& key);
  ~FileRunLock() override;
  FileRunLock(const FileRunLock&) = delete;
  FileRunLock& operator=(const FileRunLock&) = delete;

  bool try_acquire() override;
  bool wait_released(Clock& clock, Clock::Duration max) override;
  bool signalled_before() const override;
  void mark_signalled() override;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// /dev/shm when it is a writable directory, else /tmp.
std::string default_run_dir();

// The run lock's key for a proxy: its kind, the pid of its master and that process's start
// time (field 22 of <proc_root>/<pid>/stat, clock ticks since boot). /dev/shm outlives a
// container restart, and a restarted proxy often gets the same pid (1 in its own pid
// namespace): the start time tells the two apart, so a new proxy never inherits the old
// one's "already signalled" marker. "<kind>.none" without a pid.
std::string run_key(const std::string& kind, const std::vector<int>& pids,
                    const std::string& proc_root);

}  // namespace ingressx::hook
