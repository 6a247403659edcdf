// Tests for the crypto/ POSIX file helpers.
#include "crypto/internal/file_io.h"

#include <fcntl.h>

#include <cerrno>
#include <string>

#include "tests/support/test_support.h"

namespace meridian::crypto::internal {
namespace {

using meridian::testing::TempDir;

TEST(FileIo, ErrnoMapsToStatusCodesAndNamesThePath) {
  absl::Status st = errno_status(ENOENT, "open", "/some/path");
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(st.message()).find("/some/path"), std::string::npos);
  EXPECT_EQ(errno_status(EEXIST, "open", "p").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(errno_status(EACCES, "open", "p").code(), absl::StatusCode::kPermissionDenied);
}

TEST(FileIo, WritesAndReadsWholeBuffers) {
  TempDir dir;
  const auto path = dir.path() / "f";
  const std::string data(100000, 'q');
  {
    FileDescriptor fd = open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0600).value();
    MERIDIAN_ASSERT_OK(write_all(fd, data.data(), data.size(), path));
    MERIDIAN_ASSERT_OK(fd.close());
    EXPECT_FALSE(fd.valid());
  }
  FileDescriptor fd = open_file(path, O_RDONLY).value();
  std::string read(data.size() + 10, '\0');
  EXPECT_EQ(read_up_to(fd, read.data(), read.size(), path).value(), data.size());
  read.resize(data.size());
  EXPECT_EQ(read, data);
  MERIDIAN_EXPECT_CODE(open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0600),
                       absl::StatusCode::kAlreadyExists);
}

TEST(FileIo, TemporaryPathsAreBesideAndDistinct) {
  const std::filesystem::path path = "/data/dir/seg-1";
  const auto a = temporary_path_for(path);
  const auto b = temporary_path_for(path);
  EXPECT_EQ(a.parent_path(), path.parent_path());
  EXPECT_NE(a, b);
  EXPECT_EQ(a.filename().string().rfind("seg-1.tmp-", 0), 0u);
}

TEST(FileIo, SyncsParentDirectory) {
  TempDir dir;
  MERIDIAN_EXPECT_OK(sync_parent_directory(dir.path() / "anything"));
  MERIDIAN_EXPECT_CODE(sync_parent_directory(dir.path() / "missing" / "x"),
                       absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace meridian::crypto::internal
