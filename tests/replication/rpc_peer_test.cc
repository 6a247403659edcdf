// Tests of replication/rpc_peer.h over loopback TCP: a peer that accepts but never reads holds
// the sender's memory to the stream window plus the bounded session queue, and a session whose
// window stays shut is dropped after the stall timeout and dialled again.
#include "replication/rpc_peer.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <vector>

#include "tests/replication/rpc_test_cluster.h"
#include "tests/support/test_support.h"

namespace meridian::replication {
namespace {

using testing::RpcCluster;
using testing::RpcNode;

// A TCP proxy in front of a replica. Paused, it stops reading what the dialling side sends (the
// replica behind it looks like a peer that no longer reads); replies still flow back.
class PausableProxy : private kj::TaskSet::ErrorHandler {
 public:
  PausableProxy(RpcCluster& cluster, std::string target)
      : cluster_(cluster),
        target_(std::move(target)),
        receiver_(
            cluster.network().parseAddress("127.0.0.1", 0).wait(cluster.wait_scope())->listen()),
        tasks_(*this) {
    tasks_.add(accept());
  }
  std::string address() { return "127.0.0.1:" + std::to_string(receiver_->getPort()); }
  void pause() { paused_ = true; }
  size_t accepted() const { return accepted_; }

 private:
  struct Link {
    kj::Own<kj::AsyncIoStream> client;
    kj::Own<kj::AsyncIoStream> server;
  };
  kj::Promise<void> accept() {
    return receiver_->accept().then([this](kj::Own<kj::AsyncIoStream>&& client) {
      ++accepted_;
      tasks_.add(cluster_.network().parseAddress(target_).then(
          [this, client = kj::mv(client)](kj::Own<kj::NetworkAddress>&& address) mutable {
            return address->connect().then(
                [this, client = kj::mv(client)](kj::Own<kj::AsyncIoStream>&& server) mutable {
                  auto link = std::make_shared<Link>(Link{kj::mv(client), kj::mv(server)});
                  tasks_.add(copy(link, *link->client, *link->server, true));
                  tasks_.add(copy(link, *link->server, *link->client, false));
                });
          }));
      return accept();
    });
  }
  kj::Promise<void> copy(std::shared_ptr<Link> link, kj::AsyncIoStream& from, kj::AsyncIoStream& to,
                         bool pausable) {
    if (pausable && paused_) return kj::Promise<void>(kj::NEVER_DONE).attach(kj::mv(link));
    auto buffer = std::make_shared<std::array<char, 16384>>();
    return from.tryRead(buffer->data(), 1, buffer->size())
        .then([this, link, buffer, &from, &to, pausable](size_t n) -> kj::Promise<void> {
          if (n == 0) return kj::READY_NOW;
          return to.write(buffer->data(), n).then([this, link, &from, &to, pausable]() {
            return copy(link, from, to, pausable);
          });
        });
  }
  void taskFailed(kj::Exception&&) override {}

  RpcCluster& cluster_;
  std::string target_;
  kj::Own<kj::ConnectionReceiver> receiver_;
  bool paused_ = false;
  size_t accepted_ = 0;
  kj::TaskSet tasks_;
};

constexpr size_t kDim = 256;  // ~1 KiB per point

TEST(RpcPeerTest, PeerThatStopsReadingDoesNotGrowSenderMemory) {
  auto io = kj::setupAsyncIo();
  RpcCluster cluster(io);
  RpcLimits limits;
  limits.send_buffer_bytes = 64 << 10;
  limits.max_queued_bytes = 256 << 10;
  limits.stall_timeout_ms = 600'000;  // never, in this test
  ReplicatorOptions options = testing::fast_options();
  options.ack_timeout_ms = 50;  // resend the whole window often: lots of would-be traffic
  RpcNode& node = cluster.add(1, limits, options);
  cluster.add(2, limits);
  PausableProxy proxy(cluster, cluster.node(2).address());
  node.dialer->set_address(2, proxy.address());
  node.host->start({2});
  cluster.node(2).dialer->remove_address(1);  // only 1 dials, through the proxy
  cluster.node(2).host->start({1});
  cluster.write(1, "first", kDim);
  ASSERT_TRUE(cluster.wait_until([&] { return cluster.converged({1, 2}, 1); }));

  proxy.pause();
  for (int i = 0; i < 300; ++i) cluster.write(1, "p" + std::to_string(i), kDim);
  const ReplicationMetrics& metrics = node.host->metrics();
  const PeerTransportMetrics& transport = node.host->transport_metrics(2);
  ASSERT_TRUE(cluster.wait_until([&] { return metrics.peers.at(2).bytes_sent > (4u << 20); }));
  const uint64_t pushed_early = transport.pushed_bytes;
  ASSERT_TRUE(cluster.wait_until([&] { return metrics.peers.at(2).bytes_sent > (12u << 20); }));

  // Nothing more went to the RPC system once the window shut; the rest was held or dropped.
  EXPECT_EQ(transport.pushed_bytes, pushed_early);
  EXPECT_GT(transport.dropped_messages, 0u);
  // The bounds (rpc_peer.h): the session queue holds at most max_queued_bytes, or one frame;
  // the RPC layer at most the window (SO_SNDBUF, which the kernel doubles) plus two messages, of
  // which the kernel's socket buffers take a share.
  const size_t max_frame = 400u << 10;
  EXPECT_LE(transport.max_queued_bytes, limits.max_queued_bytes + max_frame);
  EXPECT_LE(transport.max_network_queue_bytes, 2 * size_t{64 << 10} + 2 * max_frame);
  EXPECT_LE(transport.pushed_bytes, 4u << 20);
  RecordProperty("pushed_bytes", std::to_string(transport.pushed_bytes));
  RecordProperty("max_network_queue_bytes", std::to_string(transport.max_network_queue_bytes));
}

TEST(RpcPeerTest, StalledSessionIsDroppedAndDialledAgain) {
  auto io = kj::setupAsyncIo();
  RpcCluster cluster(io);
  RpcLimits limits;
  limits.send_buffer_bytes = 16 << 10;
  limits.stall_timeout_ms = 300;
  RpcNode& node = cluster.add(1, limits);
  cluster.add(2, limits);
  PausableProxy proxy(cluster, cluster.node(2).address());
  node.dialer->set_address(2, proxy.address());
  cluster.node(2).dialer->remove_address(1);
  node.host->start({2});
  cluster.node(2).host->start({1});
  cluster.write(1, "first", kDim);
  ASSERT_TRUE(cluster.wait_until([&] { return cluster.converged({1, 2}, 1); }));

  proxy.pause();
  for (int i = 0; i < 200; ++i) cluster.write(1, "p" + std::to_string(i), kDim);
  const PeerTransportMetrics& transport = node.host->transport_metrics(2);
  ASSERT_TRUE(cluster.wait_until([&] { return transport.stalls >= 1 && proxy.accepted() >= 2; }));
  EXPECT_LE(transport.queued_bytes, limits.max_queued_bytes + (400u << 10));
}

}  // namespace
}  // namespace meridian::replication
