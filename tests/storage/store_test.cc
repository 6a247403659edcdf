// Tests of the LMDB store over real files: collections, point CRUD, scroll, persistence across
// reopen, drop isolation, wrong master key, and that sealed data never shows in the file.
#include "storage/store.h"

#include <fstream>
#include <sstream>

#include "crypto/aead_record_sealer.h"
#include "crypto/key_ring.h"
#include "crypto/master_key.h"
#include "crypto/plaintext_record_sealer.h"
#include "tests/support/test_support.h"

namespace meridian::storage {
namespace {

using ::meridian::testing::TempDir;

std::unique_ptr<crypto::AeadRecordSealer> aead_sealer() {
  auto key = crypto::MasterKey::generate();
  EXPECT_TRUE(key.ok());
  auto ring = crypto::KeyRing::create(std::move(*key));
  EXPECT_TRUE(ring.ok());
  return std::make_unique<crypto::AeadRecordSealer>(std::move(*ring));
}

std::unique_ptr<Store> open_store(const TempDir& dir, const crypto::RecordSealer& sealer) {
  StoreOptions options;
  options.node_id_if_new = "node-under-test";
  options.map_size_bytes = size_t{1} << 30;
  auto store = Store::open(dir.path(), sealer, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

PointRecord point(uint64_t id, float x, std::string payload = "") {
  return PointRecord{PointId::number(id), {x, x + 1, x + 2}, std::move(payload)};
}

std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class StoreTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::unique_ptr<crypto::AeadRecordSealer> sealer_ = aead_sealer();
};

TEST_F(StoreTest, CollectionsCreateListDrop) {
  auto store = open_store(dir_, *sealer_);
  ASSERT_NE(store, nullptr);
  auto a = store->create_collection({"a", 3, Metric::kL2, IndexKind::kFlat});
  auto b = store->create_collection({"b", 8, Metric::kCosine, IndexKind::kFlat});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->id, b->id);
  MERIDIAN_EXPECT_CODE(store->create_collection({"a", 4, Metric::kDot, IndexKind::kFlat}),
                       absl::StatusCode::kAlreadyExists);
  auto list = store->list_collections();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], *a);
  EXPECT_EQ((*list)[1], *b);
  MERIDIAN_EXPECT_OK(store->drop_collection("a"));
  MERIDIAN_EXPECT_CODE(store->drop_collection("a"), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->list_collections()->size(), 1u);
}

TEST_F(StoreTest, PutGetDeleteAndStoredBytes) {
  auto store = open_store(dir_, *sealer_);
  auto c = store->create_collection({"c", 3, Metric::kL2, IndexKind::kFlat});
  ASSERT_TRUE(c.ok());
  std::vector<PointRecord> batch = {point(1, 1, R"({"t":"one"})"), point(2, 2)};
  auto put = store->put_points(c->id, batch);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->inserted, 2u);
  EXPECT_GT(put->stored_bytes_delta, 0);

  auto replaced = store->put_points(c->id, std::vector<PointRecord>{point(1, 10)});
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->replaced, 1u);

  std::vector<PointId> ids = {PointId::number(1), PointId::number(3), PointId::number(2)};
  auto got = store->get_points(c->id, ids);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0], point(1, 10));
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_EQ((*got)[2], point(2, 2));

  auto deleted = store->delete_points(c->id, ids);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->deleted, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(deleted->deleted_count, 2u);
  EXPECT_EQ(put->stored_bytes_delta + replaced->stored_bytes_delta + deleted->stored_bytes_delta,
            0);
  EXPECT_FALSE((*store->get_points(c->id, ids))[0].has_value());
}

TEST_F(StoreTest, ScrollPagesThroughEveryPointInOrder) {
  auto store = open_store(dir_, *sealer_);
  auto c = store->create_collection({"c", 3, Metric::kL2, IndexKind::kFlat});
  auto other = store->create_collection({"other", 3, Metric::kL2, IndexKind::kFlat});
  std::vector<PointRecord> batch;
  for (uint64_t i = 0; i < 25; ++i) batch.push_back(point(100 - i, static_cast<float>(i)));
  ASSERT_TRUE(store->put_points(c->id, batch).ok());
  ASSERT_TRUE(store->put_points(other->id, std::vector<PointRecord>{point(1, 1)}).ok());

  std::vector<uint64_t> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = store->scroll(c->id, cursor, 10);
    ASSERT_TRUE(page.ok());
    for (const auto& p : page->points) seen.push_back(p.id.as_number());
    cursor = page->next_cursor;
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 25u);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 76 + i);
  MERIDIAN_EXPECT_CODE(store->scroll(c->id, "bogus", 10), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, DataSurvivesReopenAndNodeIdIsStable) {
  uint32_t id = 0;
  {
    auto store = open_store(dir_, *sealer_);
    auto c = store->create_collection({"c", 3, Metric::kL2, IndexKind::kFlat});
    id = c->id;
    ASSERT_TRUE(store->put_points(id, std::vector<PointRecord>{point(7, 7, R"({"k":1})")}).ok());
  }
  StoreOptions options;
  options.node_id_if_new = "a-different-id";
  auto store = Store::open(dir_.path(), *sealer_, options);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->node_id(), "node-under-test");
  auto got = (*store)->get_points(id, std::vector<PointId>{PointId::number(7)});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)[0], point(7, 7, R"({"k":1})"));
}

TEST_F(StoreTest, DropRemovesOnlyThatCollectionsPointsAndIdsAreNotReused) {
  auto store = open_store(dir_, *sealer_);
  auto a = store->create_collection({"a", 3, Metric::kL2, IndexKind::kFlat});
  auto b = store->create_collection({"b", 3, Metric::kL2, IndexKind::kFlat});
  std::vector<PointRecord> many;
  for (uint64_t i = 0; i < 3000; ++i) many.push_back(point(i, 1));
  ASSERT_TRUE(store->put_points(a->id, many).ok());
  ASSERT_TRUE(store->put_points(b->id, many).ok());
  MERIDIAN_ASSERT_OK(store->drop_collection("a"));

  auto again = store->create_collection({"a", 3, Metric::kL2, IndexKind::kFlat});
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->id, a->id);
  size_t in_new = 0, in_old = 0, in_b = 0;
  MERIDIAN_ASSERT_OK(store->for_each_point(again->id, [&](PointRecord&&, size_t) {
    ++in_new;
    return absl::OkStatus();
  }));
  MERIDIAN_ASSERT_OK(store->for_each_point(a->id, [&](PointRecord&&, size_t) {
    ++in_old;
    return absl::OkStatus();
  }));
  MERIDIAN_ASSERT_OK(store->for_each_point(b->id, [&](PointRecord&&, size_t) {
    ++in_b;
    return absl::OkStatus();
  }));
  EXPECT_EQ(in_new, 0u);
  EXPECT_EQ(in_old, 0u);
  EXPECT_EQ(in_b, 3000u);
}

TEST_F(StoreTest, WrongMasterKeyRefusesToOpen) {
  { ASSERT_NE(open_store(dir_, *sealer_), nullptr); }
  auto other = aead_sealer();
  auto store = Store::open(dir_.path(), *other, StoreOptions{});
  MERIDIAN_EXPECT_CODE(store, absl::StatusCode::kFailedPrecondition);
}

// The file scan must find the payload in plaintext mode (proving it can fail) and must not
// find payload text or raw vector bytes when sealed.
TEST_F(StoreTest, SealedFileHoldsNoPayloadTextOrVectorBytes) {
  const std::string secret = "the-secret-payload-text-4711";
  const std::vector<float> vector = {3.14159f, 2.71828f, 1.41421f};
  auto write = [&](const crypto::RecordSealer& sealer, const TempDir& dir) {
    auto store = open_store(dir, sealer);
    auto c = store->create_collection({"c", 3, Metric::kL2, IndexKind::kFlat});
    PointRecord r{PointId::number(1), vector, "{\"text\":\"" + secret + "\"}"};
    ASSERT_TRUE(store->put_points(c->id, std::vector<PointRecord>{r}).ok());
  };
  std::string vector_bytes(reinterpret_cast<const char*>(vector.data()), vector.size() * 4);

  TempDir plain_dir;
  crypto::PlaintextRecordSealer plaintext;
  write(plaintext, plain_dir);
  std::string plain = file_bytes(plain_dir.path() / "data.mdb");
  EXPECT_NE(plain.find(secret), std::string::npos);
  EXPECT_NE(plain.find(vector_bytes), std::string::npos);

  write(*sealer_, dir_);
  std::string sealed = file_bytes(dir_.path() / "data.mdb");
  EXPECT_EQ(sealed.find(secret), std::string::npos);
  EXPECT_EQ(sealed.find(vector_bytes), std::string::npos);
}

crypto::MasterKey copy_of(const crypto::MasterKey& key) {
  return *crypto::MasterKey::from_bytes(
      std::span<const unsigned char>(key.bytes().data(), key.bytes().size()));
}

std::shared_ptr<const crypto::KeyRing> ring_of(const std::vector<const crypto::MasterKey*>& keys) {
  std::vector<crypto::MasterKey> copies;
  for (const auto* k : keys) copies.push_back(copy_of(*k));
  return *crypto::KeyRing::create(std::move(copies), keys.front()->id());
}

TEST(StoreRotationTest, ResealMovesEveryValueToTheActiveKeyInBatches) {
  TempDir dir;
  auto a = crypto::MasterKey::generate();
  auto b = crypto::MasterKey::generate();
  ASSERT_TRUE(a.ok() && b.ok());
  crypto::AeadRecordSealer sealer(ring_of({&*a}));
  auto store = open_store(dir, sealer);
  auto c = store->create_collection({"c", 3, Metric::kL2, IndexKind::kFlat});
  std::vector<PointRecord> batch;
  for (uint64_t i = 0; i < 100; ++i) batch.push_back(point(i, static_cast<float>(i)));
  ASSERT_TRUE(store->put_points(c->id, batch).ok());
  auto before = store->key_usage();
  ASSERT_TRUE(before.ok());
  // node id + collection id counter + collection record + 100 points, all under key A.
  EXPECT_EQ(before->values_by_key_id, (std::map<uint32_t, uint64_t>{{a->id(), 103}}));

  sealer.set_ring(ring_of({&*b, &*a}));
  std::string cursor;
  uint64_t resealed = 0;
  int batches = 0;
  do {
    auto r = store->reseal_batch(&cursor, 7);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_LE(r->examined, 7u);
    resealed += r->resealed;
    ++batches;
  } while (!cursor.empty() && batches < 100);
  EXPECT_EQ(resealed, 103u);
  EXPECT_GE(batches, 15);
  auto after = store->key_usage();
  EXPECT_EQ(after->values_by_key_id, (std::map<uint32_t, uint64_t>{{b->id(), 103}}));

  // A second pass finds nothing to do, and key B alone now opens everything.
  cursor.clear();
  auto again = store->reseal_batch(&cursor, 1000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->resealed, 0u);
  EXPECT_TRUE(cursor.empty());
  sealer.set_ring(ring_of({&*b}));
  std::vector<PointId> ids;
  for (uint64_t i = 0; i < 100; ++i) ids.push_back(PointId::number(i));
  auto got = store->get_points(c->id, ids);
  ASSERT_TRUE(got.ok()) << got.status();
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ((*got)[i], point(i, static_cast<float>(i)));
  EXPECT_TRUE(store->list_collections().ok());
}

}  // namespace
}  // namespace meridian::storage
