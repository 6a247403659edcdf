// POSIX file helpers for crypto/: errno to Status, EINTR-safe whole reads and writes.
#include "crypto/internal/file_io.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace meridian::crypto::internal {

FileDescriptor::FileDescriptor(FileDescriptor&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    (void)close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileDescriptor::~FileDescriptor() { (void)close(); }

absl::Status FileDescriptor::close() {
  if (fd_ < 0) return absl::OkStatus();
  int fd = std::exchange(fd_, -1);
  // On Linux the descriptor is released even when close() fails, so never retry it.
  if (::close(fd) != 0) {
    return errno_status(errno, "close", std::filesystem::path());
  }
  return absl::OkStatus();
}

absl::Status errno_status(int error_number, std::string_view what,
                          const std::filesystem::path& path) {
  std::string message = absl::StrCat(std::string(what), " ", path.string(), ": ",
                                     std::string(std::strerror(error_number)));
  return absl::ErrnoToStatus(error_number, message);
}

absl::StatusOr<FileDescriptor> open_file(const std::filesystem::path& path, int flags,
                                         unsigned mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, static_cast<mode_t>(mode));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_status(errno, "open", path);
  return FileDescriptor(fd);
}

absl::Status write_all(const FileDescriptor& fd, const void* data, std::size_t size,
                       const std::filesystem::path& path) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd.get(), bytes, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, "write", path);
    }
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::size_t> read_up_to(const FileDescriptor& fd, void* data, std::size_t size,
                                       const std::filesystem::path& path) {
  auto* bytes = static_cast<unsigned char*>(data);
  std::size_t total = 0;
  while (total < size) {
    ssize_t n = ::read(fd.get(), bytes + total, size - total);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, "read", path);
    }
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
  }
  return total;
}

absl::Status sync_parent_directory(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  absl::StatusOr<FileDescriptor> fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return fd.status();
  if (::fsync(fd->get()) != 0) return errno_status(errno, "fsync", dir);
  return fd->close();
}

std::filesystem::path temporary_path_for(const std::filesystem::path& path) {
  unsigned char suffix[8];
  randombytes_buf(suffix, sizeof suffix);
  char hex[2 * sizeof suffix + 1];
  sodium_bin2hex(hex, sizeof hex, suffix, sizeof suffix);
  std::filesystem::path temp = path;
  temp += ".tmp-";
  temp += hex;
  return temp;
}

}  // namespace meridian::crypto::internal
