// Tests of segment files (node/segment_file.h): the payload round-trips, and every corruption
// (flipped byte, truncation, other settings, another binding, another key) is DataLoss or
// FailedPrecondition, never a crash; plaintext and sealed files are written atomically. HNSW,
// IVF-Flat (float32 and sq8) and IVF-PQ segments; IVF-Flat vectors stored once (version 2),
// version 1 files still read, unknown versions rejected.
#include "node/segment_file.h"

#include <sodium.h>

#include <cmath>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "crypto/master_key.h"
#include "index/distance.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using ::meridian::testing::TempDir;

constexpr uint32_t kDim = 6;

CollectionConfig hnsw_config() {
  CollectionConfig c;
  c.name = "seg";
  c.dim = kDim;
  c.metric = Metric::kCosine;
  c.index_kind = IndexKind::kHnsw;
  return c;
}

// A small HNSW segment over numbered and UUID ids.
std::shared_ptr<const Segment> make_segment(size_t n) {
  std::mt19937 rng(1);
  std::normal_distribution<float> g;
  auto rows = std::make_shared<SegmentRows>();
  for (size_t i = 0; i < n; ++i) {
    rows->labels.push_back(i * 2);
    Uuid u{};
    u[0] = static_cast<uint8_t>(i);
    rows->ids.push_back(i % 2 ? PointId::number(i) : PointId::uuid(u));
    for (uint32_t d = 0; d < kDim; ++d) rows->vectors.push_back(g(rng));
  }
  auto built = build_sealed_segment(SegmentSpec::of(hnsw_config()), rows, 1);
  EXPECT_TRUE(built.ok()) << built.status();
  return *built;
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TEST(SegmentFileTest, PayloadRoundTripsAndEveryFlippedByteIsDataLoss) {
  auto segment = make_segment(40);
  const SegmentSpec spec = SegmentSpec::of(hnsw_config());
  auto payload = encode_segment_payload(*segment);
  ASSERT_TRUE(payload.ok()) << payload.status();
  auto back = decode_segment_payload(*payload, spec);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ids, std::vector<PointId>(segment->ids().begin(), segment->ids().end()));
  ASSERT_EQ(back->hnsw->size(), 40u);
  for (uint32_t r = 0; r < 40; ++r) {
    auto a = back->hnsw->vector_of_label(r);
    auto b = segment->vector_at(r);
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  }
  for (size_t at = 0; at < payload->size(); at += std::max<size_t>(1, payload->size() / 97)) {
    std::string bad = *payload;
    bad[at] ^= 0x20;
    MERIDIAN_EXPECT_CODE(decode_segment_payload(bad, spec), absl::StatusCode::kDataLoss);
  }
  for (size_t len : {size_t{0}, size_t{3}, size_t{20}, payload->size() / 2, payload->size() - 1}) {
    MERIDIAN_EXPECT_CODE(decode_segment_payload(payload->substr(0, len), spec),
                         absl::StatusCode::kDataLoss);
  }
}

TEST(SegmentFileTest, ASegmentOfOtherSettingsIsRejected) {
  auto segment = make_segment(20);
  auto payload = encode_segment_payload(*segment);
  ASSERT_TRUE(payload.ok());
  CollectionConfig other = hnsw_config();
  other.hnsw_m = 24;
  MERIDIAN_EXPECT_CODE(decode_segment_payload(*payload, SegmentSpec::of(other)),
                       absl::StatusCode::kDataLoss);
  other = hnsw_config();
  other.dim = kDim + 1;
  MERIDIAN_EXPECT_CODE(decode_segment_payload(*payload, SegmentSpec::of(other)),
                       absl::StatusCode::kDataLoss);
  other = hnsw_config();
  other.metric = Metric::kL2;
  MERIDIAN_EXPECT_CODE(decode_segment_payload(*payload, SegmentSpec::of(other)),
                       absl::StatusCode::kDataLoss);
  other = hnsw_config();
  other.index_kind = IndexKind::kIvfFlat;
  MERIDIAN_EXPECT_CODE(decode_segment_payload(*payload, SegmentSpec::of(other)),
                       absl::StatusCode::kDataLoss);
}

TEST(SegmentFileTest, PlaintextFileWrittenAtomicallyAndVerifiedOnRead) {
  TempDir dir;
  SegmentFiles files{dir.path() / "c", nullptr, "c"};
  const SegmentSpec spec = SegmentSpec::of(hnsw_config());
  MERIDIAN_EXPECT_CODE(read_segment_file(files, 1, spec), absl::StatusCode::kNotFound);
  auto segment = make_segment(30);
  MERIDIAN_ASSERT_OK(write_segment_file(files, 1, *segment));
  MERIDIAN_ASSERT_OK(write_segment_file(files, 0x2a, *segment));
  auto listed = list_segment_files(files);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].seq, 0x2au);  // newest first
  EXPECT_EQ(listed[1].seq, 1u);
  auto back = read_segment_file(files, 1, spec);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ids.size(), 30u);
  // A crash mid-write leaves a temporary file: listing removes it.
  write_bytes(files.dir / "seg-0000000000000003.mseg.tmp", "partial");
  EXPECT_EQ(list_segment_files(files).size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(files.dir / "seg-0000000000000003.mseg.tmp"));

  const std::string bytes = read_bytes(files.path_of(1));
  write_bytes(files.path_of(1), bytes.substr(0, bytes.size() - 5));
  MERIDIAN_EXPECT_CODE(read_segment_file(files, 1, spec), absl::StatusCode::kDataLoss);
  remove_segment_files(files);
  EXPECT_FALSE(std::filesystem::exists(files.dir));
  EXPECT_TRUE(list_segment_files(files).empty());
}

TEST(SegmentFileTest, SealedFileNeedsTheKeyAndTheBinding) {
  TempDir dir;
  auto key = crypto::MasterKey::generate();
  ASSERT_TRUE(key.ok());
  auto ring = crypto::KeyRing::create(*std::move(key));
  ASSERT_TRUE(ring.ok());
  std::shared_ptr<const crypto::KeyRing> keys = *ring;
  SegmentFiles files{dir.path() / "c", [keys] { return keys; }, "c"};
  const SegmentSpec spec = SegmentSpec::of(hnsw_config());
  auto segment = make_segment(25);
  MERIDIAN_ASSERT_OK(write_segment_file(files, 7, *segment));
  auto back = read_segment_file(files, 7, spec);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ids.size(), 25u);
  // No vector bytes in the clear: the payload's magic is not in the file.
  EXPECT_EQ(read_bytes(files.path_of(7)).find("MSEG"), std::string::npos);

  // Another collection's binding, plaintext mode, and another key all fail to read it.
  SegmentFiles renamed = files;
  renamed.collection = "d";
  MERIDIAN_EXPECT_CODE(read_segment_file(renamed, 7, spec), absl::StatusCode::kDataLoss);
  SegmentFiles plain = files;
  plain.keys = nullptr;
  MERIDIAN_EXPECT_CODE(read_segment_file(plain, 7, spec), absl::StatusCode::kDataLoss);
  auto other_key = crypto::MasterKey::generate();
  auto other_ring = crypto::KeyRing::create(*std::move(other_key));
  std::shared_ptr<const crypto::KeyRing> others = *other_ring;
  SegmentFiles rekeyed = files;
  rekeyed.keys = [others] { return others; };
  MERIDIAN_EXPECT_CODE(read_segment_file(rekeyed, 7, spec), absl::StatusCode::kFailedPrecondition);

  std::string bytes = read_bytes(files.path_of(7));
  bytes[bytes.size() / 2] ^= 1;
  write_bytes(files.path_of(7), bytes);
  MERIDIAN_EXPECT_CODE(read_segment_file(files, 7, spec), absl::StatusCode::kDataLoss);
}

// Accepts every label but one.
class NotLabel final : public index::LabelFilter {
 public:
  explicit NotLabel(uint64_t label) : label_(label) {}
  bool accepts(uint64_t label) const override { return label != label_; }

 private:
  uint64_t label_;
};

// IVF collections of every storage: float32 IVF-Flat, IVF-Flat sq8, IVF-PQ.
std::vector<CollectionConfig> ivf_configs() {
  CollectionConfig flat = hnsw_config();
  flat.index_kind = IndexKind::kIvfFlat;
  CollectionConfig sq8 = flat;
  sq8.quantization = Quantization::kSq8;
  CollectionConfig pq = flat;
  pq.index_kind = IndexKind::kIvfPq;
  return {flat, sq8, pq};
}

std::shared_ptr<const Segment> make_ivf_segment(const CollectionConfig& config, size_t n) {
  std::mt19937 rng(2);
  std::normal_distribution<float> g;
  auto rows = std::make_shared<SegmentRows>();
  for (size_t i = 0; i < n; ++i) {
    rows->labels.push_back(i + 100);
    Uuid u{};
    u[3] = static_cast<uint8_t>(i);
    rows->ids.push_back(i % 3 ? PointId::number(i) : PointId::uuid(u));
    std::vector<float> v(kDim);
    for (float& x : v) x = g(rng);
    index::normalize_in_place(v);  // prepared as a cosine segment stores them
    rows->vectors.insert(rows->vectors.end(), v.begin(), v.end());
  }
  auto built = build_sealed_segment(SegmentSpec::of(config), rows, 1);
  EXPECT_TRUE(built.ok()) << built.status();
  return *built;
}

// Whether a reloaded row equals the saved one: bit for bit, except that IVF-Flat files (version
// 2) rebuild rows from the index's lists, which under cosine were normalised once more at build.
bool same_row(std::span<const float> a, std::span<const float> b, const CollectionConfig& config) {
  if (a.size() != b.size()) return false;
  const bool renormalised =
      config.index_kind == IndexKind::kIvfFlat && config.metric == Metric::kCosine;
  for (size_t i = 0; i < a.size(); ++i) {
    if (renormalised ? std::abs(a[i] - b[i]) > 1e-6f : a[i] != b[i]) return false;
  }
  return true;
}

// BLAKE2b-256 of `body` appended to it: the segment payload's trailer.
std::string with_checksum(std::string body) {
  std::string sum(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(sum.data()), sum.size(),
                     reinterpret_cast<const unsigned char*>(body.data()), body.size(), nullptr, 0);
  return body + sum;
}

// Bytes of the header and the id list of a payload for `segment`.
size_t header_and_ids_bytes(const Segment& segment) {
  size_t bytes = 4 + 4 + 4 + 8;
  for (const PointId& id : segment.ids()) bytes += id.is_number() ? 9 : 17;
  return bytes;
}

TEST(SegmentFileTest, IvfPayloadsRoundTripWithoutRetrainingAndSearchTheSame) {
  for (const CollectionConfig& config : ivf_configs()) {
    SCOPED_TRACE(absl::StrCat(std::string(index_kind_name(config.index_kind)), " quantization ",
                              static_cast<int>(config.quantization)));
    const SegmentSpec spec = SegmentSpec::of(config);
    auto segment = make_ivf_segment(config, 400);
    auto payload = encode_segment_payload(*segment);
    ASSERT_TRUE(payload.ok()) << payload.status();
    auto back = decode_segment_payload(*payload, spec);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->ids, std::vector<PointId>(segment->ids().begin(), segment->ids().end()));
    EXPECT_EQ(back->hnsw, nullptr);
    for (uint32_t r = 0; r < 400; ++r) {
      auto a = back->vector_at(r);
      auto b = segment->vector_at(r);
      ASSERT_TRUE(same_row(a, b, config)) << "row " << r;
    }
    // The quantiser is the saved one, not a new training: centroids are bit-identical.
    std::span<const float> saved_centroids, loaded_centroids;
    if (config.index_kind == IndexKind::kIvfPq) {
      ASSERT_NE(back->ivf_pq, nullptr);
      saved_centroids = dynamic_cast<const IvfPqSegment&>(*segment).ivf_pq().centroids();
      loaded_centroids = back->ivf_pq->centroids();
    } else {
      ASSERT_NE(back->ivf_flat, nullptr);
      saved_centroids = dynamic_cast<const IvfFlatSegment&>(*segment).ivf_flat().centroids();
      loaded_centroids = back->ivf_flat->centroids();
    }
    ASSERT_FALSE(saved_centroids.empty());
    EXPECT_TRUE(std::equal(saved_centroids.begin(), saved_centroids.end(), loaded_centroids.begin(),
                           loaded_centroids.end()));

    std::vector<uint64_t> labels(segment->labels().begin(), segment->labels().end());
    labels[7] = kDeadRow;  // a row whose point is gone
    auto reloaded = std::move(*back).into_segment(labels);
    EXPECT_EQ(reloaded->kind(), segment->kind());
    EXPECT_EQ(reloaded->dead_rows(), 1u);
    EXPECT_FALSE(reloaded->contains(107));
    std::vector<float> queries;
    for (uint32_t r = 0; r < 400; r += 37) {
      queries.insert(queries.end(), segment->vector_at(r).begin(), segment->vector_at(r).end());
    }
    // The reloaded segment answers as the saved one with the dead row's label filtered out.
    NotLabel not_dead(107);
    auto before = segment->search(queries, 10, SegmentKnobs{}, &not_dead);
    auto after = reloaded->search(queries, 10, SegmentKnobs{}, nullptr);
    ASSERT_TRUE(before.ok() && after.ok());
    ASSERT_EQ(before->size(), after->size());
    for (size_t q = 0; q < before->size(); ++q) {
      ASSERT_EQ((*after)[q].size(), (*before)[q].size());
      for (size_t i = 0; i < (*before)[q].size(); ++i) {
        EXPECT_EQ((*after)[q][i].label, (*before)[q][i].label);
        EXPECT_EQ((*after)[q][i].score, (*before)[q][i].score);
      }
    }

    for (size_t at = 0; at < payload->size(); at += std::max<size_t>(1, payload->size() / 97)) {
      std::string bad = *payload;
      bad[at] ^= 0x20;
      MERIDIAN_EXPECT_CODE(decode_segment_payload(bad, spec), absl::StatusCode::kDataLoss);
    }
    for (size_t len :
         {size_t{0}, size_t{21}, size_t{400 * 9}, payload->size() / 2, payload->size() - 1}) {
      MERIDIAN_EXPECT_CODE(decode_segment_payload(payload->substr(0, len), spec),
                           absl::StatusCode::kDataLoss);
    }
  }
}

// An IVF-Flat payload (version 2) holds the vectors once, inside the index bytes: header, ids,
// index length, index, checksum and nothing else. An IVF-PQ payload still carries the rows.
TEST(SegmentFileTest, IvfFlatPayloadStoresTheVectorsOnce) {
  for (const CollectionConfig& config : ivf_configs()) {
    SCOPED_TRACE(absl::StrCat(std::string(index_kind_name(config.index_kind)), " quantization ",
                              static_cast<int>(config.quantization)));
    auto segment = make_ivf_segment(config, 300);
    auto payload = encode_segment_payload(*segment);
    ASSERT_TRUE(payload.ok()) << payload.status();
    std::string index_bytes;
    const bool flat = config.index_kind == IndexKind::kIvfFlat;
    MERIDIAN_ASSERT_OK(
        flat ? dynamic_cast<const IvfFlatSegment&>(*segment).ivf_flat().save(&index_bytes)
             : dynamic_cast<const IvfPqSegment&>(*segment).ivf_pq().save(&index_bytes));
    const size_t rows_bytes = flat ? 0 : 300 * kDim * sizeof(float);
    EXPECT_EQ(payload->size(), header_and_ids_bytes(*segment) + rows_bytes + 8 +
                                   index_bytes.size() + crypto_generichash_BYTES);
    EXPECT_EQ(static_cast<int>((*payload)[4]), flat ? 2 : 1) << "format version";
  }
}

// A version 1 IVF-Flat payload (rows' vectors stored before the index bytes) is still read, its
// rows taken from the file as written.
TEST(SegmentFileTest, VersionOneIvfFlatPayloadIsStillRead) {
  for (const CollectionConfig& config : {ivf_configs()[0], ivf_configs()[1]}) {
    SCOPED_TRACE(static_cast<int>(config.quantization));
    auto segment = make_ivf_segment(config, 250);
    auto payload = encode_segment_payload(*segment);
    ASSERT_TRUE(payload.ok()) << payload.status();
    const size_t split = header_and_ids_bytes(*segment);
    std::string v1 = payload->substr(0, split);
    v1[4] = 1;
    std::vector<float> rows;
    for (uint32_t r = 0; r < 250; ++r) {
      rows.insert(rows.end(), segment->vector_at(r).begin(), segment->vector_at(r).end());
    }
    v1.append(reinterpret_cast<const char*>(rows.data()), rows.size() * sizeof(float));
    v1 += payload->substr(split, payload->size() - split - crypto_generichash_BYTES);
    const SegmentSpec spec = SegmentSpec::of(config);
    auto back = decode_segment_payload(with_checksum(v1), spec);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_NE(back->ivf_flat, nullptr);
    EXPECT_EQ(back->ivf_flat->size(), 250u);
    EXPECT_EQ(back->vectors, rows);
    // Version 1 without the rows is short of them: DataLoss, not a misread.
    std::string short_v1 = payload->substr(0, payload->size() - crypto_generichash_BYTES);
    short_v1[4] = 1;
    MERIDIAN_EXPECT_CODE(decode_segment_payload(with_checksum(short_v1), spec),
                         absl::StatusCode::kDataLoss);
  }
}

// A version this reader does not know is DataLoss (the node then rebuilds the segment from its
// points), whatever the kind, even with a valid checksum.
TEST(SegmentFileTest, UnknownVersionIsDataLoss) {
  std::vector<std::pair<std::string, SegmentSpec>> payloads;
  auto hnsw = encode_segment_payload(*make_segment(30));
  ASSERT_TRUE(hnsw.ok());
  payloads.emplace_back(*hnsw, SegmentSpec::of(hnsw_config()));
  for (const CollectionConfig& config : ivf_configs()) {
    auto payload = encode_segment_payload(*make_ivf_segment(config, 200));
    ASSERT_TRUE(payload.ok());
    payloads.emplace_back(*payload, SegmentSpec::of(config));
  }
  for (const auto& [payload, spec] : payloads) {
    for (uint8_t version : {0, 3, 255}) {
      std::string body = payload.substr(0, payload.size() - crypto_generichash_BYTES);
      body[4] = static_cast<char>(version);
      auto back = decode_segment_payload(with_checksum(body), spec);
      MERIDIAN_EXPECT_CODE(back, absl::StatusCode::kDataLoss);
      EXPECT_NE(back.status().message().find("unknown version"), std::string::npos)
          << back.status();
    }
  }
}

TEST(SegmentFileTest, AnIvfSegmentOfOtherSettingsIsRejected) {
  const std::vector<CollectionConfig> configs = ivf_configs();
  for (size_t i = 0; i < configs.size(); ++i) {
    auto payload = encode_segment_payload(*make_ivf_segment(configs[i], 200));
    ASSERT_TRUE(payload.ok()) << payload.status();
    // Each of the other IVF storages refuses it (kind or quantization differs).
    for (size_t j = 0; j < configs.size(); ++j) {
      if (j == i) continue;
      MERIDIAN_EXPECT_CODE(decode_segment_payload(*payload, SegmentSpec::of(configs[j])),
                           absl::StatusCode::kDataLoss);
    }
    CollectionConfig other = configs[i];
    other.ivf_nlist = 3;
    MERIDIAN_EXPECT_CODE(decode_segment_payload(*payload, SegmentSpec::of(other)),
                         absl::StatusCode::kDataLoss);
    other = configs[i];
    other.index_kind = IndexKind::kHnsw;
    other.quantization = Quantization::kNone;
    MERIDIAN_EXPECT_CODE(decode_segment_payload(*payload, SegmentSpec::of(other)),
                         absl::StatusCode::kDataLoss);
    other = configs[i];
    other.refine_factor = 7;
    if (other.index_kind == IndexKind::kIvfFlat && other.quantization == Quantization::kNone) {
      continue;  // no refinement without sq8: the refine factor is not a setting of this one
    }
    MERIDIAN_EXPECT_CODE(decode_segment_payload(*payload, SegmentSpec::of(other)),
                         absl::StatusCode::kDataLoss);
  }
  CollectionConfig pq = configs[2];
  auto payload = encode_segment_payload(*make_ivf_segment(pq, 200));
  ASSERT_TRUE(payload.ok());
  pq.pq_m = 3;
  MERIDIAN_EXPECT_CODE(decode_segment_payload(*payload, SegmentSpec::of(pq)),
                       absl::StatusCode::kDataLoss);
}

TEST(SegmentFileTest, SealedIvfFileRoundTripsUnderTheKeyRing) {
  TempDir dir;
  auto key = crypto::MasterKey::generate();
  ASSERT_TRUE(key.ok());
  auto ring = crypto::KeyRing::create(*std::move(key));
  ASSERT_TRUE(ring.ok());
  std::shared_ptr<const crypto::KeyRing> keys = *ring;
  SegmentFiles files{dir.path() / "c", [keys] { return keys; }, "c"};
  const CollectionConfig config = ivf_configs()[1];  // sq8
  auto segment = make_ivf_segment(config, 300);
  MERIDIAN_ASSERT_OK(write_segment_file(files, 3, *segment));
  auto back = read_segment_file(files, 3, SegmentSpec::of(config));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ids.size(), 300u);
  const std::string bytes = read_bytes(files.path_of(3));
  EXPECT_EQ(bytes.find("MSEG"), std::string::npos);
  EXPECT_EQ(bytes.find("MRDIVFF"), std::string::npos);
  write_bytes(files.path_of(3), bytes.substr(0, bytes.size() * 2 / 3));
  MERIDIAN_EXPECT_CODE(read_segment_file(files, 3, SegmentSpec::of(config)),
                       absl::StatusCode::kDataLoss);
}

TEST(SegmentFileTest, ExactSegmentsHaveNoFileFormat) {
  auto rows = std::make_shared<SegmentRows>();
  rows->labels = {1};
  rows->ids = {PointId::number(1)};
  rows->vectors.assign(kDim, 1.0f);
  ExactSegment exact(kDim, index::Metric::kL2, rows);
  MERIDIAN_EXPECT_CODE(encode_segment_payload(exact), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace meridian::node
