// Loopback tests of replication/rpc_endpoint.h: two and three endpoints in one process and one KJ
// event loop over real TCP converge; a crashed replica restarts from its crash image on a new
// port and catches up; bad peers get errors and lose only their own connection.
#include "replication/rpc_endpoint.h"

#include <gtest/gtest.h>

#include "schema/rpc_status.h"
#include "tests/replication/rpc_test_cluster.h"
#include "tests/support/test_support.h"

namespace meridian::replication {
namespace {

using testing::RpcCluster;

std::string point(crdt::ReplicaId id, int i) {
  return std::to_string(id) + "-" + std::to_string(i);
}

TEST(RpcEndpointTest, TwoEndpointsConverge) {
  auto io = kj::setupAsyncIo();
  RpcCluster cluster(io);
  cluster.add(1);
  cluster.add(2);
  cluster.node(1).host->start({2});
  cluster.node(2).host->start({1});
  for (int i = 0; i < 20; ++i) {
    cluster.write(1, point(1, i));
    cluster.write(2, point(2, i));
  }
  ASSERT_TRUE(cluster.wait_until([&] { return cluster.converged({1, 2}, 40); }));
  // One session per pair: replica 1 (the lower id) keeps the session it dialled.
  EXPECT_TRUE(cluster.node(1).host->session_connected(2));
  EXPECT_TRUE(cluster.node(2).host->session_connected(1));
  EXPECT_TRUE(cluster.node(1).host->replicator().established(2));
  EXPECT_TRUE(cluster.node(2).host->replicator().established(1));
}

TEST(RpcEndpointTest, ThreeEndpointsConvergeWithWritesEverywhere) {
  auto io = kj::setupAsyncIo();
  RpcCluster cluster(io);
  for (crdt::ReplicaId id : {1, 2, 3}) cluster.add(id);
  for (crdt::ReplicaId id : {1, 2, 3}) {
    std::vector<crdt::ReplicaId> peers;
    for (crdt::ReplicaId p : {1, 2, 3}) {
      if (p != id) peers.push_back(p);
    }
    cluster.node(id).host->start(peers);
  }
  for (int i = 0; i < 30; ++i) {
    for (crdt::ReplicaId id : {1, 2, 3}) cluster.write(id, point(id, i));
    if (i % 10 == 0) cluster.run_for(10 * kj::MILLISECONDS);
  }
  ASSERT_TRUE(cluster.wait_until([&] { return cluster.converged({1, 2, 3}, 90); }));
  // Everything acknowledged: nobody lags.
  ASSERT_TRUE(cluster.wait_until([&] {
    for (crdt::ReplicaId id : {1, 2, 3}) {
      for (const auto& [peer, m] : cluster.node(id).host->metrics().peers) {
        if (m.lag_deltas != 0) return false;
      }
    }
    return true;
  }));
}

TEST(RpcEndpointTest, CrashedReplicaRestartsOnNewPortAndConverges) {
  auto io = kj::setupAsyncIo();
  RpcCluster cluster(io);
  for (crdt::ReplicaId id : {1, 2, 3}) cluster.add(id);
  cluster.node(1).host->start({2, 3});
  cluster.node(2).host->start({1, 3});
  cluster.node(3).host->start({1, 2});
  for (int i = 0; i < 20; ++i) cluster.write(3, point(3, i));
  for (int i = 0; i < 20; ++i) cluster.write(1, point(1, i));
  // Mid-stream: let some of it move, then crash replica 3.
  ASSERT_TRUE(cluster.wait_until([&] {
    return cluster.node(3).store->state().records().size() > 20 ||
           cluster.node(1).store->state().records().size() > 20;
  }));
  DurableShard image = cluster.crash(3);

  for (int i = 20; i < 40; ++i) cluster.write(1, point(1, i));
  for (int i = 0; i < 20; ++i) cluster.write(2, point(2, i));
  cluster.run_for(200 * kj::MILLISECONDS);  // peers see 3 gone and back off
  EXPECT_FALSE(cluster.node(1).host->session_connected(3));

  cluster.add(3, {}, testing::fast_options(), image);  // new port, published to the dialers
  cluster.node(3).host->start({1, 2});
  for (int i = 20; i < 30; ++i) cluster.write(3, point(3, i));
  ASSERT_TRUE(cluster.wait_until([&] { return cluster.converged({1, 2, 3}, 90); }));
  EXPECT_GE(cluster.node(1).host->transport_metrics(3).sessions_opened +
                cluster.node(3).host->transport_metrics(1).sessions_opened,
            2u);
}

// A client that speaks RPC to an endpoint directly, as a misbehaving peer would.
struct RawPeer {
  RawPeer(RpcCluster& cluster, unsigned port, const RpcLimits& limits)
      : connection(cluster.network()
                       .parseAddress("127.0.0.1", port)
                       .wait(cluster.wait_scope())
                       ->connect()
                       .wait(cluster.wait_scope()),
                   capnp::rpc::twoparty::Side::CLIENT, limits, nullptr),
        replicator(connection.peer_replicator()) {}
  PeerConnection connection;
  wire::Replicator::Client replicator;
};

// A reply sink that accepts everything.
class NullSink final : public wire::DeltaSink::Server {
  kj::Promise<void> push(PushContext) override { return kj::READY_NOW; }
  kj::Promise<void> done(DoneContext) override { return kj::READY_NOW; }
};

void fill_hello(wire::Hello::Builder hello, crdt::ReplicaId from, std::string_view vv_bytes) {
  auto info = hello.initFrom();
  info.setReplicaId(from);
  info.setRegion("evil");
  info.initShard().setCollection("docs");
  info.setProtocolVersion(1);
  hello.setVersionVector(
      kj::arrayPtr(reinterpret_cast<const kj::byte*>(vv_bytes.data()), vv_bytes.size()));
  hello.setWantReply(true);
}

absl::Status status_of_call(kj::Promise<void> promise, kj::WaitScope& ws) {
  absl::Status status;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] { promise.wait(ws); })) {
    status = exception_to_status(*e);
  }
  return status;
}

// Reads (and discards: an RPC Abort message may come first) until the other side closes.
bool read_until_closed(RpcCluster& cluster, kj::AsyncIoStream& stream) {
  char buffer[4096];
  bool closed = false;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 while (
                     cluster.timer()
                         .timeoutAfter(10 * kj::SECONDS, stream.tryRead(buffer, 1, sizeof(buffer)))
                         .wait(cluster.wait_scope()) > 0) {
                 }
                 closed = true;
               })) {
    closed = e->getType() == kj::Exception::Type::DISCONNECTED;  // reset by the peer
  }
  return closed;
}

TEST(RpcEndpointTest, BadPeersGetErrorsAndOnlyTheirConnectionDrops) {
  auto io = kj::setupAsyncIo();
  RpcCluster cluster(io);
  RpcLimits limits;
  limits.wire.traversal_limit_words = 1u << 20;  // 8 MiB per message
  cluster.add(1, limits);
  cluster.add(2, limits);
  cluster.node(1).host->start({2, 3});  // replica 3 never runs: the bad peer claims to be it
  cluster.node(2).host->start({1});
  for (int i = 0; i < 5; ++i) cluster.write(1, point(1, i));
  ASSERT_TRUE(cluster.wait_until([&] { return cluster.converged({1, 2}, 5); }));
  kj::WaitScope& ws = cluster.wait_scope();
  const unsigned port = cluster.node(1).endpoint->port();

  {
    // An RPC message far over the traversal limit: the connection is closed.
    auto stream = cluster.network().parseAddress("127.0.0.1", port).wait(ws)->connect().wait(ws);
    const uint32_t header[2] = {0, 1u << 28};  // one segment of 2 GiB
    stream->write(header, sizeof(header)).wait(ws);
    EXPECT_TRUE(read_until_closed(cluster, *stream));
  }
  {
    // A Hello whose version vector does not decode: DataLoss.
    RawPeer peer(cluster, port, limits);
    auto request = peer.replicator.openSessionRequest();
    fill_hello(request.initHello(), 3, "garbage");
    request.setReplySink(kj::heap<NullSink>());
    EXPECT_EQ(status_of_call(request.send().ignoreResult(), ws).code(),
              absl::StatusCode::kDataLoss);
    // ... and the connection is closed.
    ASSERT_TRUE(cluster.wait_until(
        [&] { return cluster.node(1).endpoint->metrics().pending_connections == 0; }));
  }
  {
    // A replica that is no peer of this shard: NotFound.
    RawPeer peer(cluster, port, limits);
    auto request = peer.replicator.openSessionRequest();
    fill_hello(request.initHello(), 99, crdt::encode_version_vector({}));
    request.setReplySink(kj::heap<NullSink>());
    EXPECT_EQ(status_of_call(request.send().ignoreResult(), ws).code(),
              absl::StatusCode::kNotFound);
  }
  {
    // A session as replica 3 that then pushes a message claiming to come from replica 2: the
    // push fails, so does everything after it, and the session is dropped.
    RawPeer peer(cluster, port, limits);
    auto request = peer.replicator.openSessionRequest();
    fill_hello(request.initHello(), 3, crdt::encode_version_vector({}));
    request.setReplySink(kj::heap<NullSink>());
    // Replica 1 keeps dialling 3 (no address: each attempt fails on the next turn); an attempt
    // in progress wins over an inbound session, so retry until one is accepted.
    kj::Maybe<wire::DeltaSink::Client> opened;
    for (int attempt = 0; attempt < 20 && opened == nullptr; ++attempt) {
      KJ_IF_MAYBE (e,
                   kj::runCatchingExceptions([&] { opened = request.send().wait(ws).getSink(); })) {
        ASSERT_EQ(exception_to_status(*e).code(), absl::StatusCode::kAlreadyExists);
      }
    }
    auto sink = KJ_ASSERT_NONNULL(opened);
    EXPECT_TRUE(cluster.node(1).host->session_connected(3));
    auto push = sink.pushRequest();
    auto ack = push.initMessage().initAck();
    ack.initShard().setCollection("docs");
    ack.setOrigin(2);
    ack.setThroughSeq(1);
    (void)status_of_call(push.send(), ws);  // may pass: the window is open
    const absl::Status done = status_of_call(sink.doneRequest().send().ignoreResult(), ws);
    EXPECT_FALSE(done.ok());
    ASSERT_TRUE(cluster.wait_until([&] { return !cluster.node(1).host->session_connected(3); }));
    EXPECT_GE(cluster.node(1).host->transport_metrics(3).protocol_errors, 1u);
  }
  EXPECT_GE(cluster.node(1).endpoint->metrics().refused_calls, 2u);

  // Replica 1 kept serving replica 2 throughout.
  for (int i = 0; i < 5; ++i) cluster.write(2, point(2, i));
  ASSERT_TRUE(cluster.wait_until([&] { return cluster.converged({1, 2}, 10); }));
}

}  // namespace
}  // namespace meridian::replication
