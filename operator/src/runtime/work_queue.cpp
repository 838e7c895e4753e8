// A de-duplicating work queue with delayed adds, after client-go's workqueue: a key is in
// at most one of "queued" and "processing" at a time (a key added while processing is
// marked dirty and queued again by done()); delayed keys wait in a due-time index until
// get() or depth() finds them due.
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "ingressx/operator/runtime.h"

namespace ingressx::op {

using SteadyTime = std::chrono::steady_clock::time_point;

struct WorkQueue::Impl {
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> queue;                        // ready, in order
  std::set<std::string> dirty;                          // needs processing (queued or re-queue)
  std::set<std::string> processing;                     // handed out, done() not called yet
  std::map<std::string, SteadyTime> due;                // delayed key -> due time
  std::set<std::pair<SteadyTime, std::string>> by_due;  // the same, ordered by due time
  bool shutting_down = false;

  // Caller holds mu. Returns true if the key became ready (was queued).
  bool add_locked(const std::string& key) {
    if (shutting_down || dirty.count(key)) return false;
    dirty.insert(key);
    if (processing.count(key)) return false;  // done() queues it
    queue.push_back(key);
    return true;
  }

  // Caller holds mu. Moves delayed keys whose time has come to the ready queue.
  bool promote_due_locked(SteadyTime now) {
    bool queued = false;
    while (!by_due.empty() && by_due.begin()->first <= now) {
      std::string key = by_due.begin()->second;
      by_due.erase(by_due.begin());
      due.erase(key);
      queued = add_locked(key) || queued;
    }
    return queued;
  }
};

WorkQueue::WorkQueue() : impl_(std::make_unique<Impl>()) {}

WorkQueue::~WorkQueue() {
  shutdown();
}

void WorkQueue::add(const std::string& key) {
  bool queued = false;
  {
    std::lock_guard lock(impl_->mu);
    queued = impl_->add_locked(key);
  }
  if (queued) impl_->cv.notify_one();
}

void WorkQueue::add_after(const std::string& key, std::chrono::milliseconds delay) {
  if (delay <= std::chrono::milliseconds::zero()) {
    add(key);
    return;
  }
  const auto when = std::chrono::steady_clock::now() + delay;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->shutting_down) return;
    auto it = impl_->due.find(key);
    if (it != impl_->due.end()) {
      if (it->second <= when) return;  // the earlier due time wins
      impl_->by_due.erase({it->second, key});
      it->second = when;
    } else {
      impl_->due.emplace(key, when);
    }
    impl_->by_due.emplace(when, key);
  }
  // Waiters recompute how long to sleep.
  impl_->cv.notify_all();
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(impl_->mu);
  for (;;) {
    if (impl_->shutting_down) return std::nullopt;
    impl_->promote_due_locked(std::chrono::steady_clock::now());
    if (!impl_->queue.empty()) {
      std::string key = std::move(impl_->queue.front());
      impl_->queue.pop_front();
      impl_->dirty.erase(key);
      impl_->processing.insert(key);
      return key;
    }
    if (impl_->by_due.empty()) {
      impl_->cv.wait(lock);
    } else {
      impl_->cv.wait_until(lock, impl_->by_due.begin()->first);
    }
  }
}

void WorkQueue::done(const std::string& key) {
  bool queued = false;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->processing.erase(key) == 0) return;
    if (!impl_->shutting_down && impl_->dirty.count(key)) {
      impl_->queue.push_back(key);
      queued = true;
    }
  }
  if (queued) impl_->cv.notify_one();
}

void WorkQueue::shutdown() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->shutting_down = true;
  }
  impl_->cv.notify_all();
}

size_t WorkQueue::depth() const {
  std::lock_guard lock(impl_->mu);
  if (impl_->promote_due_locked(std::chrono::steady_clock::now())) impl_->cv.notify_one();
  return impl_->queue.size();
}

}  // namespace ingressx::op

namespace ingressx::op {

Watchdog::Watchdog(std::chrono::milliseconds limit, Now now)
    : limit_(limit), now_(std::move(now)) {}

void Watchdog::begin(const std::string& key) {
  std::lock_guard lock(mu_);
  since_ = now_();
  key_ = key;
}

void Watchdog::end() {
  std::lock_guard lock(mu_);
  since_.reset();
  key_.clear();
}

std::optional<std::string> Watchdog::stuck() const {
  std::lock_guard lock(mu_);
  if (!since_) return std::nullopt;
  const auto busy = std::chrono::duration_cast<std::chrono::seconds>(now_() - *since_);
  if (busy < limit_) return std::nullopt;
  return "the reconcile of " + key_ + " has run for " + std::to_string(busy.count()) +
         " s (limit " +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit_).count()) + " s)";
}

}  // namespace ingressx::op
