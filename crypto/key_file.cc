// Master key files: atomic 0600 creation and strict, non-leaking parsing.
#include "crypto/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "crypto/internal/file_io.h"
#include "crypto/secret_bytes.h"

namespace meridian::crypto {
namespace {

constexpr std::string_view kMagicLine = "MERIDIAN-MASTER-KEY";
constexpr std::string_view kVersion = "1";
constexpr std::string_view kKeyIdField = "key-id ";
constexpr std::string_view kKeyField = "key ";

// Appends `text` to the secret buffer at `*offset`. The buffer is sized by the caller.
void append(SecretBytes& buffer, std::size_t* offset, std::string_view text) {
  std::memcpy(buffer.data() + *offset, text.data(), text.size());
  *offset += text.size();
}

absl::Status malformed(const std::filesystem::path& path, std::string_view why) {
  return absl::DataLossError(
      absl::StrCat("key file ", path.string(), " is malformed: ", std::string(why)));
}

// Splits off the next '\n'-terminated line of `*rest`; the final newline is optional.
std::string_view next_line(std::string_view* rest) {
  std::size_t end = rest->find('\n');
  std::string_view line = rest->substr(0, end);
  rest->remove_prefix(end == std::string_view::npos ? rest->size() : end + 1);
  return line;
}

// Parses the file contents (held in guarded memory) into a key.
absl::StatusOr<MasterKey> parse_key_file(const std::filesystem::path& path, std::string_view text) {
  std::string_view rest = text;
  std::string_view magic = next_line(&rest);
  if (magic.substr(0, kMagicLine.size()) != kMagicLine ||
      (magic.size() > kMagicLine.size() && magic[kMagicLine.size()] != ' ')) {
    return malformed(path, "it does not start with the line 'MERIDIAN-MASTER-KEY 1'");
  }
  std::string_view version =
      magic.size() > kMagicLine.size() ? magic.substr(kMagicLine.size() + 1) : "";
  if (version != kVersion) {
    return malformed(path, absl::StrCat("unsupported version '", std::string(version.substr(0, 16)),
                                        "' (this build reads version 1)"));
  }
  std::string_view id_line = next_line(&rest);
  if (id_line.substr(0, kKeyIdField.size()) != kKeyIdField) {
    return malformed(path, "line 2 must be 'key-id 0x<8 hex digits>'");
  }
  std::string_view key_line = next_line(&rest);
  if (key_line.substr(0, kKeyField.size()) != kKeyField) {
    return malformed(path, "line 3 must be 'key <64 hex digits>'");
  }
  if (!rest.empty()) return malformed(path, "unexpected text after the key line");
  std::string_view key_hex = key_line.substr(kKeyField.size());
  if (key_hex.size() != 2 * kMasterKeyBytes) {
    return malformed(path, "the key is not 64 hex digits");
  }
  absl::StatusOr<MasterKey> key = parse_master_key_hex(key_hex);
  if (!key.ok()) return malformed(path, "the key is not 64 hex digits");
  std::string_view stated_id = id_line.substr(kKeyIdField.size());
  if (stated_id != format_key_id(key->id())) {
    return malformed(path, absl::StrCat("its key does not match the key id '",
                                        std::string(stated_id.substr(0, 16)),
                                        "' written beside it (corrupted or edited)"));
  }
  return key;
}

}  // namespace

absl::Status write_key_file(const std::filesystem::path& path, const MasterKey& key) {
  // Build the text in guarded memory: it holds the key in hex.
  const std::string id_text = format_key_id(key.id());
  const std::size_t size = kMagicLine.size() + 1 + kVersion.size() + 1 + kKeyIdField.size() +
                           id_text.size() + 1 + kKeyField.size() + 2 * kMasterKeyBytes + 1;
  absl::StatusOr<SecretBytes> text = SecretBytes::allocate(size + 1);  // + sodium_bin2hex's NUL
  if (!text.ok()) return text.status();
  std::size_t offset = 0;
  append(*text, &offset, kMagicLine);
  append(*text, &offset, " ");
  append(*text, &offset, kVersion);
  append(*text, &offset, "\n");
  append(*text, &offset, kKeyIdField);
  append(*text, &offset, id_text);
  append(*text, &offset, "\n");
  append(*text, &offset, kKeyField);
  sodium_bin2hex(reinterpret_cast<char*>(text->data() + offset), 2 * kMasterKeyBytes + 1,
                 key.bytes().data(), key.bytes().size());
  offset += 2 * kMasterKeyBytes;
  append(*text, &offset, "\n");

  // Refuse early with a clear error; link() below is what makes it race-free.
  struct stat existing;
  if (::lstat(path.c_str(), &existing) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("key file ", path.string(), " already exists; refusing to overwrite it"));
  }

  const std::filesystem::path temp = internal::temporary_path_for(path);
  absl::StatusOr<internal::FileDescriptor> fd =
      internal::open_file(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (!fd.ok()) return fd.status();
  absl::Status st;
  // The umask can only clear bits, but set the mode explicitly so it is exactly 0600.
  if (::fchmod(fd->get(), 0600) != 0) st = internal::errno_status(errno, "fchmod", temp);
  if (st.ok()) st = internal::write_all(*fd, text->data(), offset, temp);
  if (st.ok() && ::fsync(fd->get()) != 0) st = internal::errno_status(errno, "fsync", temp);
  if (st.ok()) st = fd->close();
  if (st.ok() && ::link(temp.c_str(), path.c_str()) != 0) {
    st = errno == EEXIST
             ? absl::AlreadyExistsError(absl::StrCat("key file ", path.string(),
                                                     " already exists; refusing to overwrite it"))
             : internal::errno_status(errno, "link", path);
  }
  ::unlink(temp.c_str());
  if (!st.ok()) return st;
  return internal::sync_parent_directory(path);
}

absl::StatusOr<KeyId> write_new_key_file(const std::filesystem::path& path) {
  absl::StatusOr<MasterKey> key = MasterKey::generate();
  if (!key.ok()) return key.status();
  if (absl::Status st = write_key_file(path, *key); !st.ok()) return st;
  return key->id();
}

absl::StatusOr<MasterKey> load_key_file(const std::filesystem::path& path) {
  // Follows symlinks on purpose: orchestrators (Kubernetes secrets) mount keys through them.
  absl::StatusOr<internal::FileDescriptor> fd = internal::open_file(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  struct stat info;
  if (::fstat(fd->get(), &info) != 0) return internal::errno_status(errno, "fstat", path);
  if (!S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("key file ", path.string(), " is not a regular file"));
  }
  if ((info.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "key file %s has mode %04o; a master key must not be accessible to group or others "
        "(run: chmod 600 %s)",
        path.string(), info.st_mode & 07777, path.string()));
  }
  absl::StatusOr<SecretBytes> text = SecretBytes::allocate(kMaxKeyFileBytes + 1);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::size_t> size = internal::read_up_to(*fd, text->data(), text->size(), path);
  if (!size.ok()) return size.status();
  if (*size > kMaxKeyFileBytes) {
    return malformed(path, absl::StrCat("larger than ", kMaxKeyFileBytes, " bytes"));
  }
  return parse_key_file(path, std::string_view(reinterpret_cast<const char*>(text->data()), *size));
}

}  // namespace meridian::crypto
