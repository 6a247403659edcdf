// Tests for SealedFileReader: round trips and every way a sealed file can be damaged,
// truncated, reordered, spliced, mislabelled or opened with the wrong keys.
#include "crypto/sealed_file_reader.h"

#include <sodium.h>

#include <filesystem>
#include <string>
#include <vector>

#include "crypto/sealed_file_writer.h"
#include "tests/crypto/crypto_test_keys.h"
#include "tests/support/test_support.h"

namespace meridian::crypto {
namespace {

using meridian::testing::TempDir;
using testing::read_file_bytes;
using testing::test_key_id;
using testing::test_ring;
using testing::write_file_bytes;

constexpr std::size_t kChunk = 8;
constexpr std::size_t kSealedChunk =
    kSealedFileChunkLengthBytes + kSealedFileChunkOverhead + kChunk;

std::string sample_data(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + i % 26);
  return data;
}

// Writes `data` in `pieces`-byte appends with kChunk-byte chunks.
void write_sealed(const std::filesystem::path& path, std::shared_ptr<const KeyRing> ring,
                  const std::string& data, KeyPurpose purpose = KeyPurpose::kSegmentFiles,
                  std::string_view binding = "seg-7", std::size_t pieces = 3) {
  SealedFileOptions options;
  options.chunk_bytes = kChunk;
  auto writer = SealedFileWriter::create(path, std::move(ring), purpose, binding, options).value();
  for (std::size_t at = 0; at < data.size(); at += pieces) {
    ASSERT_TRUE(writer->append(std::string_view(data).substr(at, pieces)).ok());
  }
  ASSERT_TRUE(writer->close().ok());
}

absl::StatusOr<std::string> read_back(const std::filesystem::path& path,
                                      std::shared_ptr<const KeyRing> ring,
                                      std::string_view binding = "seg-7") {
  return read_sealed_file(path, std::move(ring), KeyPurpose::kSegmentFiles, binding);
}

class SealedFileReaderTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "segment";
  std::filesystem::path damaged_ = dir_.path() / "damaged";
  std::shared_ptr<const KeyRing> ring_ = test_ring(1);
};

TEST_F(SealedFileReaderTest, RoundTripsMultiChunkFiles) {
  for (std::size_t size : {0u, 1u, 7u, 8u, 9u, 16u, 100u, 1000u}) {
    const std::string data = sample_data(size);
    write_sealed(path_, ring_, data);
    absl::StatusOr<std::string> read = read_back(path_, ring_);
    MERIDIAN_ASSERT_OK(read);
    EXPECT_EQ(*read, data) << size;
  }
}

TEST_F(SealedFileReaderTest, StreamsChunksInOrder) {
  const std::string data = sample_data(20);
  write_sealed(path_, ring_, data);
  auto reader = SealedFileReader::open(path_, ring_, KeyPurpose::kSegmentFiles, "seg-7").value();
  EXPECT_EQ(reader->key_id(), test_key_id(1));
  std::vector<std::string> chunks;
  while (true) {
    absl::StatusOr<std::optional<std::string>> chunk = reader->next_chunk();
    MERIDIAN_ASSERT_OK(chunk);
    if (!chunk->has_value()) break;
    chunks.push_back(**chunk);
  }
  EXPECT_EQ(chunks,
            (std::vector<std::string>{data.substr(0, 8), data.substr(8, 8), data.substr(16)}));
  // Finished readers keep answering "done".
  EXPECT_FALSE(reader->next_chunk().value().has_value());
}

TEST_F(SealedFileReaderTest, LargeChunksRoundTrip) {
  SealedFileOptions options;
  options.chunk_bytes = kMaxSealedFileChunkBytes;
  const std::string data = sample_data(kMaxSealedFileChunkBytes * 2 + 123);
  auto writer =
      SealedFileWriter::create(path_, ring_, KeyPurpose::kBackups, "backup-1", options).value();
  MERIDIAN_ASSERT_OK(writer->append(data));
  MERIDIAN_ASSERT_OK(writer->close());
  EXPECT_EQ(read_sealed_file(path_, ring_, KeyPurpose::kBackups, "backup-1").value(), data);
}

TEST_F(SealedFileReaderTest, EveryTruncationIsDataLoss) {
  write_sealed(path_, ring_, sample_data(30));
  const std::string bytes = read_file_bytes(path_);
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    write_file_bytes(damaged_, bytes.substr(0, length));
    absl::StatusOr<std::string> read = read_back(damaged_, ring_);
    MERIDIAN_EXPECT_CODE(read, absl::StatusCode::kDataLoss);
  }
}

TEST_F(SealedFileReaderTest, TruncationAtAChunkBoundaryReportsMissingFinalChunk) {
  write_sealed(path_, ring_, sample_data(30));
  const std::string bytes = read_file_bytes(path_);
  write_file_bytes(damaged_, bytes.substr(0, kSealedFileHeaderBytes + 2 * kSealedChunk));
  absl::StatusOr<std::string> read = read_back(damaged_, ring_);
  MERIDIAN_EXPECT_CODE(read, absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(read.status().message()).find("FINAL"), std::string::npos) << read.status();
}

TEST_F(SealedFileReaderTest, EveryFlippedByteFails) {
  write_sealed(path_, ring_, sample_data(20));
  const std::string bytes = read_file_bytes(path_);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    write_file_bytes(damaged_, damaged);
    // Bytes 6..9 are the key id: a damaged id names a key the ring does not hold.
    const bool key_id_byte = i >= 6 && i < 10;
    MERIDIAN_EXPECT_CODE(read_back(damaged_, ring_), key_id_byte
                                                         ? absl::StatusCode::kFailedPrecondition
                                                         : absl::StatusCode::kDataLoss);
  }
}

TEST_F(SealedFileReaderTest, ReorderedOrDroppedOrDuplicatedChunksAreDataLoss) {
  write_sealed(path_, ring_, sample_data(30));  // chunks 8, 8, 8, 6 (final)
  const std::string bytes = read_file_bytes(path_);
  const std::string header = bytes.substr(0, kSealedFileHeaderBytes);
  std::vector<std::string> chunks;
  for (std::size_t i = 0; i < 3; ++i) {
    chunks.push_back(bytes.substr(kSealedFileHeaderBytes + i * kSealedChunk, kSealedChunk));
  }
  const std::string last = bytes.substr(kSealedFileHeaderBytes + 3 * kSealedChunk);
  const std::string variants[] = {
      header + chunks[0] + chunks[2] + chunks[1] + last,              // swapped middle chunks
      header + chunks[1] + chunks[0] + chunks[2] + last,              // swapped first chunks
      header + chunks[0] + chunks[2] + last,                          // dropped a chunk
      header + chunks[0] + chunks[1] + chunks[1] + chunks[2] + last,  // duplicated a chunk
      header + chunks[0] + chunks[1] + chunks[2] + last + last,       // bytes after FINAL
      header + chunks[0] + chunks[1] + last,                          // final moved up
  };
  for (const std::string& variant : variants) {
    write_file_bytes(damaged_, variant);
    MERIDIAN_EXPECT_CODE(read_back(damaged_, ring_), absl::StatusCode::kDataLoss);
  }
}

TEST_F(SealedFileReaderTest, StreamWithoutFinalTagIsDataLoss) {
  // A well-formed stream whose last chunk is an ordinary message: a clean cut at a boundary.
  const KeyId id = ring_->active_key_id();
  SealedFileHeader header{KeyPurpose::kSegmentFiles, id, {}};
  crypto_secretstream_xchacha20poly1305_state state;
  crypto_secretstream_xchacha20poly1305_init_push(
      &state, header.stream_header, ring_->sub_key(id, KeyPurpose::kSegmentFiles).value()->data());
  std::string file = encode_sealed_file_header(header);
  const std::string ad = sealed_file_associated_data(file, "seg-7");
  for (int i = 0; i < 2; ++i) {
    unsigned char sealed[kChunk + kSealedFileChunkOverhead];
    const unsigned char plain[kChunk] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
    crypto_secretstream_xchacha20poly1305_push(
        &state, sealed, nullptr, plain, kChunk,
        i == 0 ? reinterpret_cast<const unsigned char*>(ad.data()) : nullptr,
        i == 0 ? ad.size() : 0, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    file.append(std::string("\x19\0\0\0", 4));  // 25 = 8 + 17
    file.append(reinterpret_cast<const char*>(sealed), sizeof sealed);
  }
  write_file_bytes(damaged_, file);
  auto reader = SealedFileReader::open(damaged_, ring_, KeyPurpose::kSegmentFiles, "seg-7").value();
  EXPECT_EQ(reader->next_chunk().value().value(), "abcdefgh");
  EXPECT_EQ(reader->next_chunk().value().value(), "abcdefgh");
  MERIDIAN_EXPECT_CODE(reader->next_chunk(), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(reader->next_chunk(), absl::StatusCode::kDataLoss);  // stays failed
}

TEST_F(SealedFileReaderTest, ChunkSplicedFromAnotherFileIsDataLoss) {
  const std::string data = sample_data(30);
  write_sealed(path_, ring_, data);
  write_sealed(damaged_, ring_, data);
  std::string a = read_file_bytes(path_);
  const std::string b = read_file_bytes(damaged_);
  const std::size_t at = kSealedFileHeaderBytes + kSealedChunk;
  a.replace(at, kSealedChunk, b.substr(at, kSealedChunk));
  write_file_bytes(damaged_, a);
  MERIDIAN_EXPECT_CODE(read_back(damaged_, ring_), absl::StatusCode::kDataLoss);
}

TEST_F(SealedFileReaderTest, HugeChunkLengthIsDataLossNotAnAllocation) {
  write_sealed(path_, ring_, sample_data(10));
  std::string bytes = read_file_bytes(path_);
  bytes.replace(kSealedFileHeaderBytes, 4, std::string("\xff\xff\xff\xff", 4));
  write_file_bytes(damaged_, bytes);
  MERIDIAN_EXPECT_CODE(read_back(damaged_, ring_), absl::StatusCode::kDataLoss);
}

TEST_F(SealedFileReaderTest, OtherBindingOrPurposeIsDataLoss) {
  write_sealed(path_, ring_, sample_data(20));
  MERIDIAN_EXPECT_CODE(read_back(path_, ring_, "seg-8"), absl::StatusCode::kDataLoss);
  absl::StatusOr<std::string> read = read_sealed_file(path_, ring_, KeyPurpose::kBackups, "seg-7");
  MERIDIAN_EXPECT_CODE(read, absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(read.status().message()).find("segment files"), std::string::npos);
  // Relabelling the purpose byte does not help: the key and associated data differ.
  std::string bytes = read_file_bytes(path_);
  bytes[5] = static_cast<char>(KeyPurpose::kBackups);
  write_file_bytes(damaged_, bytes);
  MERIDIAN_EXPECT_CODE(read_sealed_file(damaged_, ring_, KeyPurpose::kBackups, "seg-7"),
                       absl::StatusCode::kDataLoss);
}

TEST_F(SealedFileReaderTest, WrongKeyRingIsFailedPreconditionNamingTheKeyId) {
  write_sealed(path_, ring_, sample_data(20));
  absl::StatusOr<std::string> read = read_back(path_, test_ring(2));
  MERIDIAN_EXPECT_CODE(read, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(read.status().message()).find(format_key_id(test_key_id(1))),
            std::string::npos);
}

TEST_F(SealedFileReaderTest, RotatedRingReadsOldFiles) {
  write_sealed(path_, ring_, sample_data(20));
  EXPECT_EQ(read_back(path_, test_ring({1, 2}, 2)).value(), sample_data(20));
}

TEST_F(SealedFileReaderTest, MissingFileAndGarbageAreReported) {
  MERIDIAN_EXPECT_CODE(read_back(dir_.path() / "absent", ring_), absl::StatusCode::kNotFound);
  write_file_bytes(damaged_, std::string(100, 'x'));
  MERIDIAN_EXPECT_CODE(read_back(damaged_, ring_), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace meridian::crypto
