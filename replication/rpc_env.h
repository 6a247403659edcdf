// The ShardReplicator's Env on a KJ event loop: clock and timers from a kj::Timer, randomness from
// a seeded generator, and messages and connection requests handed to a transport (the shard host).
#pragma once

#include <kj/async.h>
#include <kj/timer.h>

#include <cstdint>
#include <functional>
#include <random>

#include "replication/shard_replicator.h"

namespace meridian::replication {

// Where RpcEnv sends messages and connection requests. Implemented by ShardHost (rpc_shard_host.h).
// Contract as Env: neither call may re-enter the replicator; results come back later.
class RpcTransport {
 public:
  virtual ~RpcTransport() = default;
  virtual void send(crdt::ReplicaId to, PeerMessage message) = 0;
  virtual void connect(crdt::ReplicaId peer) = 0;
};

// Not thread-safe: runs on the thread of `timer`'s event loop, like everything in rpc_*.h.
// `timer` and `transport` must outlive the env. Destroying the env cancels every pending timer.
class RpcEnv final : public Env, private kj::TaskSet::ErrorHandler {
 public:
  using TimerHandler = std::function<void(const TimerEvent&)>;

  // now_ms() counts milliseconds of `timer` from construction. `seed` seeds random_u64().
  RpcEnv(kj::Timer& timer, uint64_t seed, RpcTransport& transport);
  ~RpcEnv() noexcept override;

  // Where fired timers go (the replicator's on_timer). Timers that fire with no handler are
  // dropped. Set before the replicator starts.
  void set_timer_handler(TimerHandler handler) { on_timer_ = std::move(handler); }

  int64_t now_ms() override;
  uint64_t random_u64() override { return rng_(); }
  void send(crdt::ReplicaId to, PeerMessage message) override;
  void schedule(int64_t delay_ms, TimerEvent event) override;
  void connect(crdt::ReplicaId peer) override;

  // Timers scheduled and not yet fired (for tests).
  size_t pending_timers() const { return pending_timers_; }

 private:
  void taskFailed(kj::Exception&& exception) override;

  kj::Timer& timer_;
  kj::TimePoint origin_;
  std::mt19937_64 rng_;
  RpcTransport& transport_;
  TimerHandler on_timer_;
  size_t pending_timers_ = 0;
  kj::TaskSet tasks_;  // last: destroyed (cancelling the timers) before what they use
};

}  // namespace meridian::replication
