// RpcEnv: KJ timers owned by a TaskSet, so destroying the env cancels them; see rpc_env.h.
#include "replication/rpc_env.h"

#include <kj/debug.h>

#include <algorithm>

namespace meridian::replication {

RpcEnv::RpcEnv(kj::Timer& timer, uint64_t seed, RpcTransport& transport)
    : timer_(timer), origin_(timer.now()), rng_(seed), transport_(transport), tasks_(*this) {}

RpcEnv::~RpcEnv() noexcept {}

int64_t RpcEnv::now_ms() { return (timer_.now() - origin_) / kj::MILLISECONDS; }

void RpcEnv::send(crdt::ReplicaId to, PeerMessage message) {
  transport_.send(to, std::move(message));
}

void RpcEnv::schedule(int64_t delay_ms, TimerEvent event) {
  ++pending_timers_;
  tasks_.add(
      timer_.afterDelay(std::max<int64_t>(delay_ms, 0) * kj::MILLISECONDS).then([this, event]() {
        --pending_timers_;
        if (on_timer_) on_timer_(event);
      }));
}

void RpcEnv::connect(crdt::ReplicaId peer) { transport_.connect(peer); }

void RpcEnv::taskFailed(kj::Exception&& exception) {
  // A timer handler threw: the replicator never throws on peer input, so this is our bug. Keep the
  // loop running; the next tick retries whatever was interrupted.
  KJ_LOG(ERROR, "replication timer handler failed", exception);
}

}  // namespace meridian::replication
