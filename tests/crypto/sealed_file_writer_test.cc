// Tests for SealedFileWriter: atomic publish, file mode, chunking, misuse and cleanup.
#include "crypto/sealed_file_writer.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "crypto/sealed_file_reader.h"
#include "tests/crypto/crypto_test_keys.h"
#include "tests/support/test_support.h"

namespace meridian::crypto {
namespace {

using meridian::testing::TempDir;
using testing::read_file_bytes;
using testing::test_ring;

int entries_in(const std::filesystem::path& dir) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    (void)entry;
    ++n;
  }
  return n;
}

TEST(SealedFileWriter, PublishesOnlyOnCloseWithMode0600) {
  TempDir dir;
  const auto path = dir.path() / "seg-1";
  auto writer =
      SealedFileWriter::create(path, test_ring(1), KeyPurpose::kSegmentFiles, "seg-1").value();
  MERIDIAN_ASSERT_OK(writer->append("hello"));
  EXPECT_FALSE(std::filesystem::exists(path));
  MERIDIAN_ASSERT_OK(writer->close());
  ASSERT_TRUE(std::filesystem::exists(path));
  struct stat info;
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(entries_in(dir.path()), 1);
  EXPECT_EQ(read_file_bytes(path).find("hello"), std::string::npos);
}

TEST(SealedFileWriter, ChunkLayoutAndSize) {
  TempDir dir;
  const auto path = dir.path() / "seg";
  SealedFileOptions options;
  options.chunk_bytes = 10;
  auto writer =
      SealedFileWriter::create(path, test_ring(1), KeyPurpose::kSegmentFiles, "seg", options)
          .value();
  MERIDIAN_ASSERT_OK(writer->append(std::string(25, 'a')));
  MERIDIAN_ASSERT_OK(writer->close());
  // Chunks of 10, 10 and a final 5.
  const std::size_t expected =
      kSealedFileHeaderBytes + 3 * (kSealedFileChunkLengthBytes + kSealedFileChunkOverhead) + 25;
  EXPECT_EQ(std::filesystem::file_size(path), expected);
}

TEST(SealedFileWriter, ExactMultipleOfChunkSizeEndsWithFullFinalChunk) {
  TempDir dir;
  const auto path = dir.path() / "seg";
  SealedFileOptions options;
  options.chunk_bytes = 10;
  auto ring = test_ring(1);
  auto writer =
      SealedFileWriter::create(path, ring, KeyPurpose::kSegmentFiles, "seg", options).value();
  MERIDIAN_ASSERT_OK(writer->append(std::string(20, 'a')));
  MERIDIAN_ASSERT_OK(writer->close());
  EXPECT_EQ(
      std::filesystem::file_size(path),
      kSealedFileHeaderBytes + 2 * (kSealedFileChunkLengthBytes + kSealedFileChunkOverhead) + 20);
  EXPECT_EQ(read_sealed_file(path, ring, KeyPurpose::kSegmentFiles, "seg").value(),
            std::string(20, 'a'));
}

TEST(SealedFileWriter, ReplacesAnExistingFileAtomically) {
  TempDir dir;
  const auto path = dir.path() / "seg";
  auto ring = test_ring(1);
  testing::write_file_bytes(path, "old contents");
  auto writer = SealedFileWriter::create(path, ring, KeyPurpose::kSegmentFiles, "seg").value();
  MERIDIAN_ASSERT_OK(writer->append("new"));
  EXPECT_EQ(read_file_bytes(path), "old contents");
  MERIDIAN_ASSERT_OK(writer->close());
  EXPECT_EQ(read_sealed_file(path, ring, KeyPurpose::kSegmentFiles, "seg").value(), "new");
}

TEST(SealedFileWriter, AbandonedWriterLeavesNothing) {
  TempDir dir;
  {
    auto writer =
        SealedFileWriter::create(dir.path() / "seg", test_ring(1), KeyPurpose::kSegmentFiles, "seg")
            .value();
    MERIDIAN_ASSERT_OK(writer->append("partial"));
  }
  EXPECT_EQ(entries_in(dir.path()), 0);
}

TEST(SealedFileWriter, RejectsBadOptionsAndPurposes) {
  TempDir dir;
  SealedFileOptions options;
  options.chunk_bytes = 0;
  MERIDIAN_EXPECT_CODE(SealedFileWriter::create(dir.path() / "a", test_ring(1),
                                                KeyPurpose::kSegmentFiles, "a", options),
                       absl::StatusCode::kInvalidArgument);
  options.chunk_bytes = kMaxSealedFileChunkBytes + 1;
  MERIDIAN_EXPECT_CODE(SealedFileWriter::create(dir.path() / "a", test_ring(1),
                                                KeyPurpose::kSegmentFiles, "a", options),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(
      SealedFileWriter::create(dir.path() / "a", test_ring(1), KeyPurpose::kRecords, "a"),
      absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(SealedFileWriter::create(dir.path() / "missing" / "a", test_ring(1),
                                                KeyPurpose::kSegmentFiles, "a"),
                       absl::StatusCode::kNotFound);
  EXPECT_EQ(entries_in(dir.path()), 0);
}

TEST(SealedFileWriter, UseAfterCloseIsFailedPrecondition) {
  TempDir dir;
  auto writer =
      SealedFileWriter::create(dir.path() / "seg", test_ring(1), KeyPurpose::kBackups, "b").value();
  MERIDIAN_ASSERT_OK(writer->close());
  MERIDIAN_EXPECT_CODE(writer->append("x"), absl::StatusCode::kFailedPrecondition);
  MERIDIAN_EXPECT_CODE(writer->close(), absl::StatusCode::kFailedPrecondition);
}

TEST(SealedFileWriter, UsesTheActiveKey) {
  TempDir dir;
  auto writer = SealedFileWriter::create(dir.path() / "seg", test_ring({1, 2}, 2),
                                         KeyPurpose::kSegmentFiles, "seg")
                    .value();
  EXPECT_EQ(writer->key_id(), testing::test_key_id(2));
  EXPECT_EQ(writer->path(), dir.path() / "seg");
}

}  // namespace
}  // namespace meridian::crypto
