// Tests of Store's CRDT side over real LMDB files: one write lands in `crdt`, `causal`, `log`,
// `joined` and `points` together or not at all, the log compacts and trims, joined-through records
// survive and go with their collection, and a corrupt slice is skipped and reported.
#include <atomic>
#include <cstdint>
#include <map>

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

std::vector<uint64_t> log_seqs(const Store& store, uint32_t collection_id) {
  std::vector<uint64_t> seqs;
  auto s = store.for_each_log_entry(collection_id, [&](uint64_t seq, std::string&& delta) {
    EXPECT_EQ(delta, "delta-" + std::to_string(seq));
    seqs.push_back(seq);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return seqs;
}

TEST(StoreCrdtTest, JoinedThroughRecordsAreWrittenReplacedAndDroppedWithTheCollection) {
  TempDir dir;
  FailingSealer sealer;
  auto store = open_store(dir, sealer);
  auto c = store->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat});
  auto other = store->create_collection({"other", 2, Metric::kL2, IndexKind::kFlat});
  MERIDIAN_ASSERT_OK(c);
  MERIDIAN_ASSERT_OK(other);
  EXPECT_TRUE(store->read_joined_through(c->id).value().empty());

  CrdtWrite w = sample_write(1);
  w.joined_through = CrdtWrite::JoinedThrough{0xfeedULL, 7};
  MERIDIAN_ASSERT_OK(store->commit_crdt_write(c->id, w));
  CrdtWrite w2 = sample_write(2);
  w2.joined_through = CrdtWrite::JoinedThrough{3, 1};
  MERIDIAN_ASSERT_OK(store->commit_crdt_write(c->id, w2));
  CrdtWrite w3 = sample_write(3);
  w3.joined_through = CrdtWrite::JoinedThrough{0xfeedULL, 9};  // replaces 7
  MERIDIAN_ASSERT_OK(store->commit_crdt_write(c->id, w3));
  CrdtWrite o = sample_write(1);
  o.joined_through = CrdtWrite::JoinedThrough{3, 4};
  MERIDIAN_ASSERT_OK(store->commit_crdt_write(other->id, o));

  const std::map<uint64_t, uint64_t> expected{{3, 1}, {0xfeedULL, 9}};
  EXPECT_EQ(store->read_joined_through(c->id).value(), expected);
  // Durable: a reopened store reads the same.
  store.reset();
  store = open_store(dir, sealer);
  EXPECT_EQ(store->read_joined_through(c->id).value(), expected);
  // Sealed like every other value (counted by key usage: 2 + 1 joined-through records).
  EXPECT_GE(store->key_usage()->values_by_key_id.at(0), 3u);

  MERIDIAN_ASSERT_OK(store->drop_collection("c"));
  EXPECT_TRUE(store->read_joined_through(c->id).value().empty());
  EXPECT_EQ(store->read_joined_through(other->id).value(), (std::map<uint64_t, uint64_t>{{3, 4}}));
}

TEST(StoreCrdtTest, ASealFailureOfTheJoinedThroughRecordCommitsNothing) {
  TempDir dir;
  FailingSealer sealer;
  auto store = open_store(dir, sealer);
  auto c = store->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat});
  MERIDIAN_ASSERT_OK(c);
  CrdtWrite w = sample_write(1);
  w.joined_through = CrdtWrite::JoinedThrough{5, 3};
  // Seals: 2 slices, causal record, log entry, joined-through record (the 5th), 2 points.
  sealer.arm(5);
  MERIDIAN_EXPECT_CODE(store->commit_crdt_write(c->id, w), absl::StatusCode::kInternal);
  sealer.arm(0);
  EXPECT_TRUE(store->read_joined_through(c->id).value().empty());
  EXPECT_EQ(store->log_entry_count(c->id).value(), 0u);
  EXPECT_FALSE(store->read_causal(c->id).value().has_value());
  EXPECT_TRUE(slices_of(*store, c->id).empty());
}

TEST(StoreCrdtTest, LogEntriesAreReadInSeqOrderAndTrimmed) {
  TempDir dir;
  FailingSealer sealer;
  auto store = open_store(dir, sealer);
  auto c = store->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat});
  auto other = store->create_collection({"other", 2, Metric::kL2, IndexKind::kFlat});
  for (uint64_t seq = 1; seq <= 300; ++seq) {
    CrdtWrite w;
    w.causal = CausalRecord{42, "ctx", 1000, seq + 1};
    w.log_seq = seq;
    w.log_delta = "delta-" + std::to_string(seq);
    MERIDIAN_ASSERT_OK(store->commit_crdt_write(c->id, w));
    if (seq <= 2) MERIDIAN_ASSERT_OK(store->commit_crdt_write(other->id, w));
  }
  std::vector<uint64_t> all(300);
  for (uint64_t i = 0; i < 300; ++i) all[i] = i + 1;
  EXPECT_EQ(log_seqs(*store, c->id), all);  // numeric order across the 256 boundary

  EXPECT_EQ(store->trim_log(c->id, 0).value(), 0u);
  EXPECT_EQ(store->trim_log(c->id, 257).value(), 257u);
  EXPECT_EQ(store->trim_log(c->id, 257).value(), 0u);  // idempotent
  EXPECT_EQ(log_seqs(*store, c->id), std::vector<uint64_t>(all.begin() + 257, all.end()));
  // A commit trims through log_compact_through in its own transaction.
  CrdtWrite w;
  w.causal = CausalRecord{42, "ctx", 1000, 302};
  w.log_seq = 301;
  w.log_delta = "delta-301";
  w.log_compact_through = 299;
  MERIDIAN_ASSERT_OK(store->commit_crdt_write(c->id, w));
  EXPECT_EQ(log_seqs(*store, c->id), (std::vector<uint64_t>{300, 301}));
  // Other collections are untouched.
  EXPECT_EQ(log_seqs(*store, other->id), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(store->trim_log(c->id, UINT64_MAX).value(), 2u);
  EXPECT_EQ(store->log_entry_count(c->id).value(), 0u);
  EXPECT_EQ(store->log_entry_count(other->id).value(), 2u);
}

}  // namespace
}  // namespace meridian::storage
