// The segment worker thread; see segment_builder.h.
#include "node/segment_builder.h"

namespace meridian::node {

SegmentBuilder::SegmentBuilder(std::function<bool()> step) : step_(std::move(step)) {}

SegmentBuilder::~SegmentBuilder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SegmentBuilder::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    requested_ = true;
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  changed_.notify_all();
}

bool SegmentBuilder::wait_idle(std::chrono::steady_clock::duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return !requested_ && !running_; });
}

bool SegmentBuilder::busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requested_ || running_;
}

void SegmentBuilder::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    changed_.wait(lock, [&] { return requested_ || stopping_; });
    if (stopping_) break;
    requested_ = false;
    running_ = true;
    lock.unlock();
    // Step until there is no work; a wake() meanwhile sets requested_ and gets another round.
    bool more = true;
    while (more) {
      more = step_();
      lock.lock();
      const bool stop = stopping_;
      lock.unlock();
      if (stop) break;
    }
    lock.lock();
    running_ = false;
    changed_.notify_all();
  }
  running_ = false;
  changed_.notify_all();
}

}  // namespace meridian::node
