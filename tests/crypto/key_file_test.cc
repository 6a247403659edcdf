// Tests for master key files: creation mode, no overwrite, loading and every malformation.
#include "crypto/key_file.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "tests/crypto/crypto_test_keys.h"
#include "tests/support/test_support.h"

namespace meridian::crypto {
namespace {

using meridian::testing::TempDir;
using testing::read_file_bytes;
using testing::test_key;
using testing::write_file_bytes;

unsigned mode_of(const std::filesystem::path& path) {
  struct stat info;
  EXPECT_EQ(::stat(path.c_str(), &info), 0);
  return info.st_mode & 07777;
}

// Writes `text` as a key file with mode 0600.
void write_key_text(const std::filesystem::path& path, const std::string& text) {
  write_file_bytes(path, text);
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(KeyFile, NewKeyFileHasMode0600AndLoadsBack) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  absl::StatusOr<KeyId> id = write_new_key_file(path);
  MERIDIAN_ASSERT_OK(id);
  EXPECT_EQ(mode_of(path), 0600u);
  absl::StatusOr<MasterKey> key = load_key_file(path);
  MERIDIAN_ASSERT_OK(key);
  EXPECT_EQ(key->id(), *id);
}

TEST(KeyFile, WrittenKeyLoadsWithSameBytesAndReadableFormat) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  MERIDIAN_ASSERT_OK(write_key_file(path, test_key(0)));
  EXPECT_EQ(read_file_bytes(path),
            "MERIDIAN-MASTER-KEY 1\nkey-id " + format_key_id(test_key(0).id()) +
                "\nkey 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
  MasterKey key = load_key_file(path).value();
  EXPECT_TRUE(key.bytes().equals(test_key(0).bytes()));
}

TEST(KeyFile, RefusesToOverwriteAndLeavesOriginalAndNoTemporaries) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  MERIDIAN_ASSERT_OK(write_key_file(path, test_key(1)));
  const std::string before = read_file_bytes(path);
  MERIDIAN_EXPECT_CODE(write_new_key_file(path), absl::StatusCode::kAlreadyExists);
  MERIDIAN_EXPECT_CODE(write_key_file(path, test_key(2)), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(read_file_bytes(path), before);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(KeyFile, RefusesToWriteThroughADanglingSymlink) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  std::filesystem::create_symlink(dir.path() / "elsewhere", path);
  MERIDIAN_EXPECT_CODE(write_new_key_file(path), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "elsewhere"));
}

TEST(KeyFile, MissingDirectoryIsNotFound) {
  TempDir dir;
  MERIDIAN_EXPECT_CODE(write_new_key_file(dir.path() / "no" / "master.key"),
                       absl::StatusCode::kNotFound);
}

TEST(KeyFile, MissingFileIsNotFound) {
  TempDir dir;
  MERIDIAN_EXPECT_CODE(load_key_file(dir.path() / "absent.key"), absl::StatusCode::kNotFound);
}

TEST(KeyFile, LooseModeIsRefusedNamingTheFix) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  MERIDIAN_ASSERT_OK(write_key_file(path, test_key(3)));
  for (unsigned mode : {0640u, 0604u, 0620u, 0602u, 0644u}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    absl::StatusOr<MasterKey> key = load_key_file(path);
    MERIDIAN_EXPECT_CODE(key, absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(std::string(key.status().message()).find("chmod 600"), std::string::npos)
        << key.status();
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  MERIDIAN_EXPECT_OK(load_key_file(path));
}

TEST(KeyFile, DirectoryIsNotAKeyFile) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0700), 0);
  MERIDIAN_EXPECT_CODE(load_key_file(dir.path()), absl::StatusCode::kFailedPrecondition);
}

TEST(KeyFile, FollowsSymlinksToTheKey) {
  TempDir dir;
  MERIDIAN_ASSERT_OK(write_key_file(dir.path() / "real.key", test_key(4)));
  std::filesystem::create_symlink(dir.path() / "real.key", dir.path() / "link.key");
  absl::StatusOr<MasterKey> key = load_key_file(dir.path() / "link.key");
  MERIDIAN_ASSERT_OK(key);
  EXPECT_EQ(key->id(), test_key(4).id());
}

TEST(KeyFile, MalformedFilesAreDataLoss) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  const std::string id = format_key_id(test_key(0).id());
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  const std::string cases[] = {
      "",
      "hello\n",
      "MERIDIAN-MASTER-KEY\nkey-id " + id + "\nkey " + hex + "\n",
      "MERIDIAN-MASTER-KEY 2\nkey-id " + id + "\nkey " + hex + "\n",
      "MERIDIAN-MASTER-KEYS 1\nkey-id " + id + "\nkey " + hex + "\n",
      "MERIDIAN-MASTER-KEY 1\nkey " + hex + "\n",
      "MERIDIAN-MASTER-KEY 1\nkey-id " + id + "\n",
      "MERIDIAN-MASTER-KEY 1\nkey-id 0x00000000\nkey " + hex + "\n",
      "MERIDIAN-MASTER-KEY 1\nkey-id " + id + "\nkey " + hex.substr(2) + "\n",
      "MERIDIAN-MASTER-KEY 1\nkey-id " + id + "\nkey " + hex + "00\n",
      "MERIDIAN-MASTER-KEY 1\nkey-id " + id + "\nkey " + hex + "\nextra\n",
      "MERIDIAN-MASTER-KEY 1\nkey-id " + id + "\nkey " + hex + "\n\n",
      "MERIDIAN-MASTER-KEY 1\r\nkey-id " + id + "\r\nkey " + hex + "\r\n",
      std::string(kMaxKeyFileBytes + 1, 'x'),
  };
  for (const std::string& text : cases) {
    std::filesystem::remove(path);
    write_key_text(path, text);
    absl::StatusOr<MasterKey> key = load_key_file(path);
    MERIDIAN_EXPECT_CODE(key, absl::StatusCode::kDataLoss);
    EXPECT_EQ(std::string(key.status().message()).find(hex.substr(8, 16)), std::string::npos);
  }
}

TEST(KeyFile, AcceptsMissingFinalNewline) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  MERIDIAN_ASSERT_OK(write_key_file(path, test_key(0)));
  std::string text = read_file_bytes(path);
  text.pop_back();
  write_key_text(path, text);
  MERIDIAN_EXPECT_OK(load_key_file(path));
}

TEST(KeyFile, EveryTruncationAndEveryFlippedByteIsDataLoss) {
  TempDir dir;
  const auto original = dir.path() / "master.key";
  MERIDIAN_ASSERT_OK(write_key_file(original, test_key(5)));
  const std::string text = read_file_bytes(original);
  const auto path = dir.path() / "damaged.key";
  // Length size-1 drops only the optional final newline, which is still a valid file.
  for (std::size_t length = 0; length + 1 < text.size(); ++length) {
    write_key_text(path, text.substr(0, length));
    MERIDIAN_EXPECT_CODE(load_key_file(path), absl::StatusCode::kDataLoss);
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string damaged = text;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    write_key_text(path, damaged);
    MERIDIAN_EXPECT_CODE(load_key_file(path), absl::StatusCode::kDataLoss);
  }
}

}  // namespace
}  // namespace meridian::crypto
