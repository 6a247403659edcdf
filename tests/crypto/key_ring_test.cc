// Tests for KeyRing: validation, lookup by id, sub-key derivation and concurrent reads.
#include "crypto/key_ring.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tests/crypto/crypto_test_keys.h"
#include "tests/support/test_support.h"

namespace meridian::crypto {
namespace {

using testing::test_key;
using testing::test_key_id;
using testing::test_ring;

std::string sub_key_bytes(const KeyRing& ring, KeyId id, KeyPurpose purpose) {
  const SecretBytes* key = ring.sub_key(id, purpose).value();
  return std::string(reinterpret_cast<const char*>(key->data()), key->size());
}

TEST(KeyRing, SingleKeyRingIsActive) {
  absl::StatusOr<std::shared_ptr<const KeyRing>> ring = KeyRing::create(test_key(1));
  MERIDIAN_ASSERT_OK(ring);
  EXPECT_EQ((*ring)->active_key_id(), test_key_id(1));
  EXPECT_TRUE((*ring)->contains(test_key_id(1)));
  EXPECT_FALSE((*ring)->contains(test_key_id(2)));
  EXPECT_EQ((*ring)->key_ids(), std::vector<KeyId>{test_key_id(1)});
}

TEST(KeyRing, HoldsSeveralKeysSortedById) {
  auto ring = test_ring({3, 1, 2}, 2);
  std::vector<KeyId> expected = {test_key_id(1), test_key_id(2), test_key_id(3)};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ring->key_ids(), expected);
  EXPECT_EQ(ring->active_key_id(), test_key_id(2));
}

TEST(KeyRing, RejectsEmptyRingAndMissingActiveKey) {
  MERIDIAN_EXPECT_CODE(KeyRing::create(std::vector<MasterKey>{}, 1),
                       absl::StatusCode::kInvalidArgument);
  std::vector<MasterKey> keys;
  keys.push_back(test_key(1));
  MERIDIAN_EXPECT_CODE(KeyRing::create(std::move(keys), test_key_id(2)),
                       absl::StatusCode::kInvalidArgument);
}

TEST(KeyRing, SameKeyTwiceIsKeptOnce) {
  std::vector<MasterKey> keys;
  keys.push_back(test_key(1));
  keys.push_back(test_key(1));
  auto ring = KeyRing::create(std::move(keys), test_key_id(1));
  MERIDIAN_ASSERT_OK(ring);
  EXPECT_EQ((*ring)->key_ids().size(), 1u);
}

TEST(KeyRing, DifferentKeysWithTheSameIdAreRejected) {
  // Birthday search over deterministic keys for two that share a 32-bit id (~80k keys).
  std::unordered_map<KeyId, std::uint64_t> seen;
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  for (std::uint64_t n = 0;; ++n) {
    std::memcpy(bytes.data(), &n, sizeof n);
    KeyId id = derive_key_id(bytes);
    auto [it, inserted] = seen.emplace(id, n);
    if (inserted) continue;
    std::array<unsigned char, kMasterKeyBytes> other{};
    std::memcpy(other.data(), &it->second, sizeof it->second);
    std::vector<MasterKey> keys;
    keys.push_back(MasterKey::from_bytes(bytes).value());
    keys.push_back(MasterKey::from_bytes(other).value());
    ASSERT_EQ(keys[0].id(), keys[1].id());
    MERIDIAN_EXPECT_CODE(KeyRing::create(std::move(keys), id), absl::StatusCode::kInvalidArgument);
    return;
  }
}

TEST(KeyRing, UnknownKeyIdIsFailedPreconditionNamingIt) {
  auto ring = test_ring(1);
  absl::StatusOr<const SecretBytes*> key = ring->sub_key(test_key_id(9), KeyPurpose::kRecords);
  MERIDIAN_EXPECT_CODE(key, absl::StatusCode::kFailedPrecondition);
  const std::string message(key.status().message());
  EXPECT_NE(message.find(format_key_id(test_key_id(9))), std::string::npos) << message;
  EXPECT_NE(message.find(format_key_id(test_key_id(1))), std::string::npos) << message;
}

TEST(KeyRing, SubKeysDifferByPurposeAndByKey) {
  auto ring = test_ring({1, 2}, 1);
  const KeyPurpose purposes[] = {KeyPurpose::kRecords, KeyPurpose::kSegmentFiles,
                                 KeyPurpose::kBackups};
  std::vector<std::string> all;
  for (unsigned char seed : {1, 2}) {
    for (KeyPurpose purpose : purposes) {
      std::string bytes = sub_key_bytes(*ring, test_key_id(seed), purpose);
      EXPECT_EQ(bytes.size(), kSubKeyBytes);
      for (const std::string& earlier : all) EXPECT_NE(bytes, earlier);
      all.push_back(bytes);
    }
  }
  // Sub-keys never equal the master key either.
  MasterKey master = test_key(1);
  EXPECT_NE(sub_key_bytes(*ring, test_key_id(1), KeyPurpose::kRecords),
            std::string(reinterpret_cast<const char*>(master.bytes().data()), kMasterKeyBytes));
}

TEST(KeyRing, SubKeysAreDeterministicAcrossRings) {
  auto a = test_ring(1);
  auto b = test_ring({2, 1}, 2);
  EXPECT_EQ(sub_key_bytes(*a, test_key_id(1), KeyPurpose::kSegmentFiles),
            sub_key_bytes(*b, test_key_id(1), KeyPurpose::kSegmentFiles));
}

TEST(KeyRing, PurposeNames) {
  EXPECT_EQ(purpose_name(KeyPurpose::kRecords), "records");
  EXPECT_EQ(purpose_name(KeyPurpose::kSegmentFiles), "segment files");
  EXPECT_EQ(purpose_name(KeyPurpose::kBackups), "backups");
}

TEST(KeyRing, ConcurrentReadsAgree) {
  auto ring = test_ring({1, 2, 3}, 3);
  const std::string expected = sub_key_bytes(*ring, test_key_id(2), KeyPurpose::kBackups);
  std::vector<std::thread> threads;
  std::array<int, 4> mismatches{};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (sub_key_bytes(*ring, test_key_id(2), KeyPurpose::kBackups) != expected ||
            !ring->contains(test_key_id(3))) {
          ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace meridian::crypto
