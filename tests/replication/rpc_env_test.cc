// Tests of replication/rpc_env.h: timers fire through the handler in delay order, the clock
// advances with the KJ timer, and destroying the env cancels pending timers.
#include "replication/rpc_env.h"

#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <vector>

namespace meridian::replication {
namespace {

struct RecordingTransport final : RpcTransport {
  std::vector<crdt::ReplicaId> sent_to;
  std::vector<crdt::ReplicaId> connects;
  void send(crdt::ReplicaId to, PeerMessage) override { sent_to.push_back(to); }
  void connect(crdt::ReplicaId peer) override { connects.push_back(peer); }
};

TEST(RpcEnvTest, TimersFireInOrderAndTheClockAdvances) {
  auto io = kj::setupAsyncIo();
  kj::Timer& timer = io.provider->getTimer();
  RecordingTransport transport;
  RpcEnv env(timer, 1, transport);
  std::vector<crdt::ReplicaId> fired;
  env.set_timer_handler([&](const TimerEvent& e) { fired.push_back(e.peer); });
  env.schedule(30, TimerEvent{TimerEvent::Kind::kReconnect, 3, 0});
  env.schedule(10, TimerEvent{TimerEvent::Kind::kReconnect, 1, 0});
  env.schedule(20, TimerEvent{TimerEvent::Kind::kReconnect, 2, 0});
  EXPECT_EQ(env.pending_timers(), 3u);
  const int64_t start = env.now_ms();
  timer.afterDelay(60 * kj::MILLISECONDS).wait(io.waitScope);
  EXPECT_EQ(fired, (std::vector<crdt::ReplicaId>{1, 2, 3}));
  EXPECT_EQ(env.pending_timers(), 0u);
  EXPECT_GE(env.now_ms() - start, 30);

  env.send(7, PeerMessage{});
  env.connect(8);
  EXPECT_EQ(transport.sent_to, std::vector<crdt::ReplicaId>{7});
  EXPECT_EQ(transport.connects, std::vector<crdt::ReplicaId>{8});
}

TEST(RpcEnvTest, SameSeedSameRandomNumbers) {
  auto io = kj::setupAsyncIo();
  RecordingTransport transport;
  RpcEnv a(io.provider->getTimer(), 42, transport);
  RpcEnv b(io.provider->getTimer(), 42, transport);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.random_u64(), b.random_u64());
}

TEST(RpcEnvTest, DestroyingTheEnvCancelsItsTimers) {
  auto io = kj::setupAsyncIo();
  kj::Timer& timer = io.provider->getTimer();
  RecordingTransport transport;
  int fired = 0;
  {
    RpcEnv env(timer, 1, transport);
    env.set_timer_handler([&](const TimerEvent&) { ++fired; });
    env.schedule(5, TimerEvent{});
  }
  timer.afterDelay(30 * kj::MILLISECONDS).wait(io.waitScope);
  EXPECT_EQ(fired, 0);
}

}  // namespace
}  // namespace meridian::replication
