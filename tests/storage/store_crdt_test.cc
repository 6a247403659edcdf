// Tests of Store's CRDT side over real LMDB files: one write lands in `crdt`, `causal`, `log` and
// `points` together or not at all, the log compacts, and a corrupt slice is skipped and reported.
#include <atomic>

#include "crypto/plaintext_record_sealer.h"
#include "storage/store.h"
#include "tests/support/test_support.h"

namespace meridian::storage {
namespace {

using ::meridian::testing::TempDir;

// Seam mock: a plaintext sealer whose Nth seal() (counting from 1 after arm()) fails, as a
// sealing error in the middle of a write would. Everything else is the real plaintext framer.
class FailingSealer final : public crypto::RecordSealer {
 public:
  void arm(int fail_on) {
    count_ = 0;
    fail_on_ = fail_on;
  }
  absl::StatusOr<std::string> seal(std::string_view db, std::string_view key,
                                   std::string_view plaintext) const override {
    if (fail_on_ > 0 && ++count_ == fail_on_) return absl::InternalError("injected seal failure");
    return inner_.seal(db, key, plaintext);
  }
  absl::StatusOr<std::string> open(std::string_view db, std::string_view key,
                                   std::string_view sealed) const override {
    return inner_.open(db, key, sealed);
  }
  bool encrypts() const override { return false; }
  uint32_t active_key_id() const override { return 0; }

 private:
  crypto::PlaintextRecordSealer inner_;
  mutable int count_ = 0;
  int fail_on_ = 0;
};

std::unique_ptr<Store> open_store(const TempDir& dir, const crypto::RecordSealer& sealer) {
  StoreOptions options;
  options.node_id_if_new = "n";
  options.map_size_bytes = size_t{1} << 30;
  auto store = Store::open(dir.path(), sealer, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

CrdtWrite sample_write(uint64_t seq) {
  CrdtWrite w;
  w.slices.push_back({PointId::number(1), std::string("slice-1")});
  w.slices.push_back({PointId::number(2), std::string("slice-2")});
  w.causal = CausalRecord{42, "context-bytes", 1000, seq + 1};
  w.log_seq = seq;
  w.log_delta = "delta";
  w.put_points.push_back(PointRecord{PointId::number(1), {1, 2}, "{\"a\":1}"});
  w.put_points.push_back(PointRecord{PointId::number(2), {3, 4}, ""});
  return w;
}

std::map<PointId, std::string> slices_of(const Store& store, uint32_t collection) {
  std::map<PointId, std::string> out;
  auto s = store.for_each_crdt_slice(collection, [&](const PointId& id, std::string&& slice) {
    out[id] = slice;
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(StoreCrdtTest, OneWriteLandsInEveryDatabaseAndDropRemovesIt) {
  TempDir dir;
  FailingSealer sealer;
  auto store = open_store(dir, sealer);
  auto c = store->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat});
  MERIDIAN_ASSERT_OK(c);
  auto none = store->read_causal(c->id);
  MERIDIAN_ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());

  auto r = store->commit_crdt_write(c->id, sample_write(1));
  MERIDIAN_ASSERT_OK(r);
  EXPECT_GT(r->stored_bytes_delta, 0);
  EXPECT_EQ(slices_of(*store, c->id).size(), 2u);
  EXPECT_EQ(*store->read_causal(c->id).value(), (CausalRecord{42, "context-bytes", 1000, 2}));
  EXPECT_EQ(store->log_entry_count(c->id).value(), 1u);
  std::vector<PointId> ids{PointId::number(1), PointId::number(2)};
  auto got = store->get_points(c->id, ids);
  MERIDIAN_ASSERT_OK(got);
  EXPECT_EQ((*got)[0]->payload_json, "{\"a\":1}");

  // Erasing a slice and a view entry, and compacting the log through the new entry.
  CrdtWrite erase;
  erase.slices.push_back({PointId::number(2), std::nullopt});
  erase.causal = CausalRecord{42, "context-2", 1000, 3};
  erase.log_seq = 2;
  erase.log_delta = "delta-2";
  erase.log_compact_through = 2;
  erase.delete_points.push_back(PointId::number(2));
  MERIDIAN_ASSERT_OK(store->commit_crdt_write(c->id, erase));
  EXPECT_EQ(slices_of(*store, c->id).size(), 1u);
  EXPECT_EQ(store->log_entry_count(c->id).value(), 0u);
  EXPECT_FALSE(store->get_points(c->id, ids).value()[1].has_value());

  MERIDIAN_ASSERT_OK(store->drop_collection("c"));
  EXPECT_TRUE(slices_of(*store, c->id).empty());
  EXPECT_FALSE(store->read_causal(c->id).value().has_value());
}

TEST(StoreCrdtTest, ASealFailureAtAnyStepCommitsNothing) {
  // Seals per sample write: 2 slices, the causal record, the log entry, 2 points.
  for (int fail_on = 1; fail_on <= 6; ++fail_on) {
    TempDir dir;
    FailingSealer sealer;
    auto store = open_store(dir, sealer);
    auto c = store->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat});
    MERIDIAN_ASSERT_OK(c);
    sealer.arm(fail_on);
    MERIDIAN_EXPECT_CODE(store->commit_crdt_write(c->id, sample_write(1)),
                         absl::StatusCode::kInternal);
    sealer.arm(0);
    EXPECT_TRUE(slices_of(*store, c->id).empty()) << fail_on;
    EXPECT_FALSE(store->read_causal(c->id).value().has_value()) << fail_on;
    EXPECT_EQ(store->log_entry_count(c->id).value(), 0u) << fail_on;
    std::vector<PointId> ids{PointId::number(1), PointId::number(2)};
    auto got = store->get_points(c->id, ids);
    MERIDIAN_ASSERT_OK(got);
    EXPECT_FALSE((*got)[0].has_value() || (*got)[1].has_value()) << fail_on;
  }
}

TEST(StoreCrdtTest, CorruptSliceIsSkippedAndReported) {
  TempDir dir;
  FailingSealer sealer;
  auto store = open_store(dir, sealer);
  auto c = store->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat});
  MERIDIAN_ASSERT_OK(store->commit_crdt_write(c->id, sample_write(1)));
  MERIDIAN_ASSERT_OK(store->corrupt_crdt_slice_FOR_TESTING(c->id, PointId::number(1), 9));
  std::vector<absl::Status> errors;
  std::vector<PointId> seen;
  MERIDIAN_ASSERT_OK(store->for_each_crdt_slice(
      c->id,
      [&](const PointId& id, std::string&&) {
        seen.push_back(id);
        return absl::OkStatus();
      },
      [&](const absl::Status& e) { errors.push_back(e); }));
  EXPECT_EQ(seen, std::vector<PointId>{PointId::number(2)});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code(), absl::StatusCode::kDataLoss);
  // Without a handler the scan stops with the error.
  MERIDIAN_EXPECT_CODE(store->for_each_crdt_slice(
                           c->id, [](const PointId&, std::string&&) { return absl::OkStatus(); }),
                       absl::StatusCode::kDataLoss);
}

TEST(StoreCrdtTest, KeyUsageAndResealCoverTheCrdtDatabases) {
  TempDir dir;
  FailingSealer sealer;
  auto store = open_store(dir, sealer);
  auto c = store->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat});
  MERIDIAN_ASSERT_OK(store->commit_crdt_write(c->id, sample_write(1)));
  auto usage = store->key_usage();
  MERIDIAN_ASSERT_OK(usage);
  // node id, id counter, collection record, 2 points, 2 slices, causal record, log entry.
  EXPECT_EQ(usage->values_by_key_id.at(0), 9u);
  std::string cursor;
  uint64_t examined = 0;
  do {
    auto batch = store->reseal_batch(&cursor, 2);
    MERIDIAN_ASSERT_OK(batch);
    examined += batch->examined;
  } while (!cursor.empty());
  EXPECT_EQ(examined, 9u);
}

}  // namespace
}  // namespace meridian::storage
