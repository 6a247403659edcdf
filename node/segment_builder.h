// The background worker of one collection's segments: runs its build steps (seal, compact,
// merge, persist; chosen by CollectionIndex with SegmentPolicy) on a thread of its own, so
// writes and searches never wait for an index build.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace meridian::node {

// Thread safety: every method may be called from any thread. std::mutex rather than
// absl::Mutex: Debian's Abseil is not built with TSan, which then cannot see its ordering.
class SegmentBuilder {
 public:
  // `step` does one unit of work and returns whether there was any. It runs on the worker
  // thread only, one call at a time, and must not call back into this builder.
  explicit SegmentBuilder(std::function<bool()> step);
  // Waits for the step in progress (an index build is not interruptible), then stops.
  ~SegmentBuilder();
  SegmentBuilder(const SegmentBuilder&) = delete;
  SegmentBuilder& operator=(const SegmentBuilder&) = delete;

  // Asks for steps until one reports no work. Starts the thread on first use, so a collection
  // that never needs a build never owns a thread.
  void wake();
  // Blocks until no step runs and none is requested, or `timeout` passes; true when idle.
  bool wait_idle(std::chrono::steady_clock::duration timeout);
  // True while a step runs or is requested.
  bool busy() const;

 private:
  void run();

  const std::function<bool()> step_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool requested_ = false;  // guarded by mu_
  bool running_ = false;    // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread thread_;      // started by the first wake(), under mu_
};

}  // namespace meridian::node
