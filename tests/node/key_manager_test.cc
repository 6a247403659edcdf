// Tests of KeyManager over a real store: a key still sealing values cannot be retired, the
// re-seal pass moves every value to the active key, and then the old key retires.
#include "node/key_manager.h"

#include <thread>

#include "crypto/key_ring.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using namespace std::chrono_literals;

crypto::MasterKey copy_of(const crypto::MasterKey& key) {
  return *crypto::MasterKey::from_bytes(
      std::span<const unsigned char>(key.bytes().data(), key.bytes().size()));
}

uint64_t values_under(const KeyStatus& status, uint32_t id) {
  for (const auto& k : status.keys) {
    if (k.key_id == id) return k.values;
  }
  return 0;
}

TEST(KeyManagerTest, RetireIsRefusedWhileValuesUseTheKeyAndAllowedAfterTheResealPass) {
  meridian::testing::TempDir dir;
  auto a = crypto::MasterKey::generate();
  auto b = crypto::MasterKey::generate();
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<crypto::MasterKey> only_a;
  only_a.push_back(copy_of(*a));
  crypto::AeadRecordSealer sealer(*crypto::KeyRing::create(std::move(only_a), a->id()));
  storage::StoreOptions options;
  options.node_id_if_new = "n";
  options.map_size_bytes = size_t{1} << 30;
  auto store = storage::Store::open(dir.path(), sealer, options);
  ASSERT_TRUE(store.ok());
  auto c = (*store)->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat});
  std::vector<storage::PointRecord> points;
  for (uint64_t i = 0; i < 2000; ++i) points.push_back({PointId::number(i), {1, 2}, ""});
  ASSERT_TRUE((*store)->put_points(c->id, points).ok());

  // A node restarted with B listed first: no pass has run yet, so A still seals everything.
  std::vector<crypto::MasterKey> keys;
  keys.push_back(copy_of(*b));
  keys.push_back(copy_of(*a));
  std::vector<crypto::MasterKey> ring_keys;
  ring_keys.push_back(copy_of(*b));
  ring_keys.push_back(copy_of(*a));
  sealer.set_ring(*crypto::KeyRing::create(std::move(ring_keys), b->id()));
  KeyManager manager(**store, &sealer, std::move(keys));
  auto before = manager.status();
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(values_under(*before, a->id()), 2003u);
  MERIDIAN_EXPECT_CODE(manager.retire(a->id()), absl::StatusCode::kFailedPrecondition);
  MERIDIAN_EXPECT_CODE(manager.retire(b->id()), absl::StatusCode::kFailedPrecondition);
  MERIDIAN_EXPECT_CODE(manager.retire(12345), absl::StatusCode::kNotFound);

  MERIDIAN_ASSERT_OK(manager.resume_if_needed());
  auto deadline = std::chrono::steady_clock::now() + 30s;
  absl::StatusOr<KeyStatus> status = manager.status();
  while (status.ok() && (status->resealing || values_under(*status, a->id()) > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    status = manager.status();
  }
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(values_under(*status, a->id()), 0u);
  EXPECT_EQ(values_under(*status, b->id()), 2003u);
  auto retired = manager.retire(a->id());
  ASSERT_TRUE(retired.ok()) << retired.status();
  ASSERT_EQ(retired->keys.size(), 1u);
  // The sealer no longer holds A, and everything still opens under B.
  EXPECT_FALSE(sealer.ring()->contains(a->id()));
  auto got = (*store)->get_points(c->id, std::vector<PointId>{PointId::number(1999)});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE((*got)[0].has_value());
}

}  // namespace
}  // namespace meridian::node
