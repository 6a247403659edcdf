// Tests of the node's CRDT write path over a real LMDB store: payload operation semantics, causal
// tokens, consistency waits, digest stability across restarts, corrupt slices at load, and that
// the delta log stays compacted.
#include "crdt/point_set_codec.h"
#include "crypto/plaintext_record_sealer.h"
#include "node/node.h"
#include "tests/node/node_fixture.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using ::meridian::testing::TempDir;
using storage::PointRecord;

class NodeCrdtTest : public NodeFixture {
 protected:
  NodeOptions node_options() const override {
    NodeOptions options;
    options.consistency_wait = absl::Milliseconds(50);
    return options;
  }
  std::string payload_of(uint64_t id) {
    auto got = node_->get("c", std::vector<PointId>{PointId::number(id)});
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || !(*got)[0]) return "<missing>";
    return (*got)[0]->payload_json;
  }
};

TEST_F(NodeCrdtTest, PayloadOperationsMergeOverwriteAndDeleteKeys) {
  ASSERT_TRUE(node_->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat}).ok());
  MERIDIAN_ASSERT_OK(node_->upsert("c", {{PointId::number(1), {1, 2}, R"({"a":1,"b":"x"})"}}));
  const std::vector<PointId> one = {PointId::number(1)};

  auto set = node_->set_payload("c", one, R"({"b":"y","c":[1,2]})");
  MERIDIAN_ASSERT_OK(set);
  EXPECT_EQ(set->applied, 1u);
  EXPECT_EQ(payload_of(1), R"({"a":1,"b":"y","c":[1,2]})");

  MERIDIAN_ASSERT_OK(node_->delete_payload_keys("c", one, {"a", "absent"}));
  EXPECT_EQ(payload_of(1), R"({"b":"y","c":[1,2]})");

  MERIDIAN_ASSERT_OK(node_->overwrite_payload("c", one, R"({"z":null})"));
  EXPECT_EQ(payload_of(1), R"({"z":null})");

  // Ids that do not exist are skipped; bad payloads change nothing.
  auto missing = node_->set_payload("c", std::vector<PointId>{PointId::number(7)}, R"({"a":1})");
  MERIDIAN_ASSERT_OK(missing);
  EXPECT_EQ(missing->applied, 0u);
  MERIDIAN_EXPECT_CODE(node_->set_payload("c", one, "[1]"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(payload_of(1), R"({"z":null})");

  // The vector is untouched by payload writes; an upsert replaces everything.
  auto got = node_->get("c", one);
  EXPECT_EQ((*got)[0]->vector, (std::vector<float>{1, 2}));
  MERIDIAN_ASSERT_OK(node_->upsert("c", {{PointId::number(1), {3, 4}, ""}}));
  EXPECT_EQ(payload_of(1), "");
  reopen();
  EXPECT_EQ(payload_of(1), "");
  EXPECT_EQ(*node_->count("c"), 1u);
}

TEST_F(NodeCrdtTest, CausalTokensGrowAndOwnTokenIsReadable) {
  ASSERT_TRUE(node_->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat}).ok());
  auto first = node_->upsert("c", {{PointId::number(1), {1, 2}, ""}});
  MERIDIAN_ASSERT_OK(first);
  auto second = node_->remove("c", std::vector<PointId>{PointId::number(1), PointId::number(5)});
  MERIDIAN_ASSERT_OK(second);
  EXPECT_EQ(second->applied, 1u);
  auto a = crdt::decode_version_vector(first->causal_token);
  auto b = crdt::decode_version_vector(second->causal_token);
  MERIDIAN_ASSERT_OK(a);
  MERIDIAN_ASSERT_OK(b);
  // A delete mints no dot (it only records what it observed), so its token dominates without
  // growing; the next write that mints one grows it strictly.
  EXPECT_TRUE(b->dominates(*a));
  auto third = node_->upsert("c", {{PointId::number(2), {1, 2}, ""}});
  MERIDIAN_ASSERT_OK(third);
  auto c = crdt::decode_version_vector(third->causal_token);
  MERIDIAN_ASSERT_OK(c);
  EXPECT_TRUE(c->dominates(*b));
  EXPECT_FALSE(b->dominates(*c));

  EXPECT_TRUE(*node_->token_satisfied("c", second->causal_token));
  MERIDIAN_EXPECT_OK(node_->await_token("c", second->causal_token));
  MERIDIAN_EXPECT_CODE(node_->token_satisfied("c", "garbage"), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(node_->await_token("c", "garbage"), absl::StatusCode::kInvalidArgument);

  // A token survives a restart: the replica resumes with the same id and counters.
  reopen();
  EXPECT_TRUE(*node_->token_satisfied("c", second->causal_token));
}

TEST_F(NodeCrdtTest, TokenNamingUnknownDotsTimesOut) {
  ASSERT_TRUE(node_->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat}).ok());
  crdt::VersionVector other;
  other.include(crdt::Dot{0x1234, 3});
  const std::string token = crdt::encode_version_vector(other);
  EXPECT_FALSE(*node_->token_satisfied("c", token));
  auto waited = node_->await_token("c", token);
  MERIDIAN_EXPECT_CODE(waited, absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(waited.message().find("consistency token"), std::string_view::npos);
}

TEST_F(NodeCrdtTest, DigestIsIdenticalAfterRestartAndLogStaysCompacted) {
  ASSERT_TRUE(node_->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat}).ok());
  const std::string empty_digest = node_->collection_info("c")->digest;
  EXPECT_EQ(empty_digest.size(), 64u);
  for (uint64_t i = 0; i < 20; ++i) {
    MERIDIAN_ASSERT_OK(node_->upsert(
        "c", {{PointId::number(i), {float(i), 1}, R"({"i":)" + std::to_string(i) + "}"}}));
  }
  MERIDIAN_ASSERT_OK(node_->remove("c", std::vector<PointId>{PointId::number(3)}));
  MERIDIAN_ASSERT_OK(
      node_->set_payload("c", std::vector<PointId>{PointId::number(4)}, R"({"k":"v"})"));
  const std::string digest = node_->collection_info("c")->digest;
  EXPECT_NE(digest, empty_digest);
  const uint32_t id = node_->collection_info("c")->stored.id;
  EXPECT_EQ(store_->log_entry_count(id).value(), 0u);
  reopen();
  EXPECT_EQ(node_->collection_info("c")->digest, digest);
  EXPECT_EQ(*node_->count("c"), 19u);
  EXPECT_EQ(payload_of(4), R"({"i":4,"k":"v"})");
}

TEST_F(NodeCrdtTest, CorruptSliceIsSkippedAndCountedAtStart) {
  ASSERT_TRUE(node_->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat}).ok());
  MERIDIAN_ASSERT_OK(
      node_->upsert("c", {{PointId::number(1), {1, 2}, ""}, {PointId::number(2), {3, 4}, ""}}));
  const uint32_t id = node_->collection_info("c")->stored.id;
  MERIDIAN_ASSERT_OK(store_->corrupt_crdt_slice_FOR_TESTING(id, PointId::number(1), 11));
  reopen();
  EXPECT_EQ(node_->stats().integrity_failures, 1u);
  EXPECT_EQ(payload_of(2), "");
}

TEST_F(NodeCrdtTest, CollectionWithoutReplicaIdGetsAFreshOneAndImportsItsPoints) {
  // Points written straight to the view, as a store from before the CRDT holds them.
  auto stored = store_->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat});
  MERIDIAN_ASSERT_OK(stored);
  std::vector<PointRecord> old = {{PointId::number(1), {1, 2}, R"({"a":1})"}};
  MERIDIAN_ASSERT_OK(store_->put_points(stored->id, old));
  reopen();
  auto causal = store_->read_causal(stored->id);
  MERIDIAN_ASSERT_OK(causal);
  ASSERT_TRUE(causal->has_value());
  const uint64_t replica = (*causal)->replica_id;
  EXPECT_NE(replica, 0u);
  EXPECT_EQ(payload_of(1), R"({"a":1})");
  MERIDIAN_ASSERT_OK(
      node_->delete_payload_keys("c", std::vector<PointId>{PointId::number(1)}, {"a"}));
  EXPECT_EQ(payload_of(1), "");
  // Restarting keeps the id it minted.
  reopen();
  EXPECT_EQ(store_->read_causal(stored->id).value()->replica_id, replica);
}

}  // namespace
}  // namespace meridian::node
