// Tests of node/shard_handoff.h: a replica no longer owned is retired only when every owner is
// up, connected and holds everything the replica has (by acknowledgement of its whole log, or by
// a version vector covering its causal context); an owner down or behind keeps it.
#include "node/shard_handoff.h"

#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

constexpr crdt::ReplicaId kOurs = 11;
constexpr crdt::ReplicaId kOwnerReplica = 22;
constexpr crdt::ReplicaId kThird = 33;

// Our replica's context: 5 dots of our own, 3 of the owner's, 2 of a third replica.
crdt::CausalContext our_context() {
  crdt::CausalContext c;
  for (uint64_t i = 1; i <= 5; ++i) c.insert({kOurs, i});
  for (uint64_t i = 1; i <= 3; ++i) c.insert({kOwnerReplica, i});
  for (uint64_t i = 1; i <= 2; ++i) c.insert({kThird, i});
  return c;
}

// An up, connected owner that acknowledged our log through `acked` and reported `vv`.
OwnerProgress owner(uint64_t acked, crdt::VersionVector vv = {}) {
  OwnerProgress p;
  p.node_id = "owner";
  p.up = true;
  p.replica = kOwnerReplica;
  p.connected = true;
  p.acked_seq = acked;
  p.vv = std::move(vv);
  return p;
}

crdt::VersionVector vv_of(std::initializer_list<std::pair<crdt::ReplicaId, uint64_t>> entries) {
  crdt::VersionVector vv;
  for (const auto& [replica, counter] : entries) vv.include({replica, counter});
  return vv;
}

TEST(ShardHandoffTest, OwnerThatAcknowledgedTheWholeLogLetsTheReplicaGo) {
  const auto decision = decide_handoff(our_context(), 10, {owner(10)});
  EXPECT_TRUE(decision.retire);
  EXPECT_TRUE(decision.owners_reachable);
  EXPECT_TRUE(decision.lagging.empty());
}

TEST(ShardHandoffTest, OwnerBehindOnTheLogAndTheVectorKeepsIt) {
  const auto decision = decide_handoff(our_context(), 10, {owner(9, vv_of({{kOurs, 4}}))});
  EXPECT_FALSE(decision.retire);
  EXPECT_TRUE(decision.owners_reachable);
  ASSERT_EQ(decision.lagging.size(), 1u);
  EXPECT_EQ(decision.lagging[0].node_id, "owner");
  EXPECT_NE(decision.lagging[0].reason.find("behind"), std::string::npos);
}

// Dominance: the owner's vector covers every dot of ours except its own (which it minted), so
// it holds everything although its acknowledgement lags (our log also carries its own deltas).
TEST(ShardHandoffTest, VectorCoveringOurContextLetsTheReplicaGo) {
  const auto decision =
      decide_handoff(our_context(), 10, {owner(7, vv_of({{kOurs, 5}, {kThird, 2}}))});
  EXPECT_TRUE(decision.retire);
}

TEST(ShardHandoffTest, VectorMissingOneDotOfOursOrOfAThirdReplicaKeepsIt) {
  EXPECT_FALSE(
      decide_handoff(our_context(), 10, {owner(7, vv_of({{kOurs, 4}, {kThird, 2}}))}).retire);
  EXPECT_FALSE(
      decide_handoff(our_context(), 10, {owner(7, vv_of({{kOurs, 5}, {kThird, 1}}))}).retire);
}

TEST(ShardHandoffTest, CloudDotsMustBeCoveredToo) {
  crdt::CausalContext ours = our_context();
  ours.insert({kThird, 9});  // not contiguous: in the cloud
  EXPECT_FALSE(decide_handoff(ours, 10, {owner(7, vv_of({{kOurs, 5}, {kThird, 2}}))}).retire);
  EXPECT_TRUE(decide_handoff(ours, 10, {owner(7, vv_of({{kOurs, 5}, {kThird, 9}}))}).retire);
}

TEST(ShardHandoffTest, OwnerDownKeepsItEvenWhenCaughtUp) {
  OwnerProgress down = owner(10);
  down.up = false;
  const auto decision = decide_handoff(our_context(), 10, {down});
  EXPECT_FALSE(decision.retire);
  EXPECT_FALSE(decision.owners_reachable);
  ASSERT_EQ(decision.lagging.size(), 1u);
  EXPECT_EQ(decision.lagging[0].reason, "down");
}

TEST(ShardHandoffTest, OwnerNotConnectedOrWithoutAReplicaKeepsIt) {
  OwnerProgress disconnected = owner(10);
  disconnected.connected = false;
  EXPECT_FALSE(decide_handoff(our_context(), 10, {disconnected}).retire);
  OwnerProgress no_replica = owner(10);
  no_replica.replica = 0;
  EXPECT_FALSE(decide_handoff(our_context(), 10, {no_replica}).retire);
}

TEST(ShardHandoffTest, EveryOwnerMustBeCaughtUp) {
  OwnerProgress second = owner(3);
  second.node_id = "second";
  second.replica = 44;
  const auto decision = decide_handoff(our_context(), 10, {owner(10), second});
  EXPECT_FALSE(decision.retire);
  EXPECT_TRUE(decision.owners_reachable);
  ASSERT_EQ(decision.lagging.size(), 1u);
  EXPECT_EQ(decision.lagging[0].node_id, "second");
}

TEST(ShardHandoffTest, NoOwnersKeepsIt) {
  EXPECT_FALSE(decide_handoff(our_context(), 10, {}).retire);
}

// An empty replica (nothing written, empty log) goes as soon as its owners are reachable.
TEST(ShardHandoffTest, EmptyReplicaGoesWhenOwnersAreReachable) {
  EXPECT_TRUE(decide_handoff({}, 0, {owner(0)}).retire);
}

}  // namespace
}  // namespace meridian::node
