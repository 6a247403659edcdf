// Small POSIX file helpers shared by key files and sealed files: an owning file descriptor,
// whole reads and writes that retry on EINTR, directory fsync and temporary names.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace meridian::crypto::internal {

// Owns one open file descriptor and closes it on destruction. Move-only.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept;
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now and reports the close error (which can carry a delayed write error).
  absl::Status close();

 private:
  int fd_ = -1;
};

// A Status for a failed system call on `path`: the errno mapped to an absl code (ENOENT ->
// NotFound, EEXIST -> AlreadyExists, EACCES -> PermissionDenied, ...) and the strerror text.
absl::Status errno_status(int error_number, std::string_view what,
                          const std::filesystem::path& path);

// open(2) with O_CLOEXEC added.
absl::StatusOr<FileDescriptor> open_file(const std::filesystem::path& path, int flags,
                                         unsigned mode = 0);

// Writes all `size` bytes or fails.
absl::Status write_all(const FileDescriptor& fd, const void* data, std::size_t size,
                       const std::filesystem::path& path);

// Reads until `size` bytes are read or end of file; returns how many were read.
absl::StatusOr<std::size_t> read_up_to(const FileDescriptor& fd, void* data, std::size_t size,
                                       const std::filesystem::path& path);

// fsyncs the directory holding `path`, making a create, link or rename in it durable.
absl::Status sync_parent_directory(const std::filesystem::path& path);

// `path` with a random suffix (".tmp-" and 16 hex digits) in the same directory, for writing a
// file that is published by rename or link.
std::filesystem::path temporary_path_for(const std::filesystem::path& path);

}  // namespace meridian::crypto::internal
