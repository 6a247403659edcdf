// fvecs/ivecs I/O with validation of every length and dimension read from the file.
#include "cli/vecs_io.h"

#include <sys/stat.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace meridian::cli {
namespace {

static_assert(std::endian::native == std::endian::little,
              "fvecs/ivecs are little-endian; this reader assumes a little-endian host");

absl::Status file_error(std::string_view what, const std::string& path) {
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(what), " ", path, ": ", std::strerror(errno)));
}

absl::Status corrupt(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

template <typename T>
absl::StatusOr<VecsMatrix<T>> read_all(const std::string& path) {
  auto reader = VecsReader<T>::open(path);
  if (!reader.ok()) return reader.status();
  VecsMatrix<T> matrix;
  matrix.dim = (*reader)->dim();
  matrix.data.reserve((*reader)->rows() * matrix.dim);
  while (true) {
    absl::StatusOr<size_t> n = (*reader)->read(4096, matrix.data);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
  }
  return matrix;
}

template <typename T>
absl::Status write_all(const std::string& path, const VecsMatrix<T>& matrix) {
  if (matrix.dim == 0 || matrix.data.size() % matrix.dim != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": matrix has dim ",
                                                   matrix.dim, " and ", matrix.data.size(),
                                                   " values"));
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return file_error("cannot create", path);
  const int32_t dim = static_cast<int32_t>(matrix.dim);
  bool ok = true;
  for (size_t i = 0; i < matrix.rows() && ok; ++i) {
    ok = std::fwrite(&dim, sizeof dim, 1, file) == 1 &&
         std::fwrite(matrix.row(i).data(), sizeof(T), matrix.dim, file) == matrix.dim;
  }
  // fclose flushes; a failure there (disk full) is as much a failed write as fwrite's.
  if (std::fclose(file) != 0) ok = false;
  if (!ok) return file_error("cannot write", path);
  return absl::OkStatus();
}

}  // namespace

template <typename T>
VecsReader<T>::VecsReader(std::string path, File file, uint32_t dim, size_t rows)
    : path_(std::move(path)), file_(std::move(file)), dim_(dim), rows_(rows) {}

template <typename T>
absl::StatusOr<std::unique_ptr<VecsReader<T>>> VecsReader<T>::open(const std::string& path) {
  File owned_file(std::fopen(path.c_str(), "rb"));
  if (owned_file == nullptr) return file_error("cannot open", path);
  std::FILE* file = owned_file.get();
  struct stat info;
  if (fstat(fileno(file), &info) != 0) return file_error("cannot stat", path);
  if (!S_ISREG(info.st_mode)) return corrupt(path, "not a regular file");
  const uint64_t size = static_cast<uint64_t>(info.st_size);
  uint32_t dim = 0;
  size_t rows = 0;
  if (size > 0) {
    int32_t first_dim = 0;
    if (size < sizeof first_dim || std::fread(&first_dim, sizeof first_dim, 1, file) != 1) {
      return corrupt(path, "truncated: too short for a row header");
    }
    if (first_dim <= 0 || static_cast<uint32_t>(first_dim) > kMaxVecsDim) {
      return corrupt(path, absl::StrCat("bad dimension ", first_dim, " in the first row"));
    }
    dim = static_cast<uint32_t>(first_dim);
    const uint64_t row_bytes = sizeof(int32_t) + uint64_t{dim} * sizeof(T);
    if (size % row_bytes != 0) {
      return corrupt(path, absl::StrCat("truncated or inconsistent: ", size,
                                        " bytes is not a whole number of rows of dimension ", dim,
                                        " (", row_bytes, " bytes each)"));
    }
    rows = size / row_bytes;
    if (std::fseek(file, 0, SEEK_SET) != 0) return file_error("cannot seek in", path);
  }
  return std::unique_ptr<VecsReader>(new VecsReader(path, std::move(owned_file), dim, rows));
}

template <typename T>
absl::StatusOr<size_t> VecsReader<T>::read(size_t max_rows, std::vector<T>& out) {
  size_t n = 0;
  for (; n < max_rows && position_ < rows_; ++n, ++position_) {
    int32_t dim = 0;
    if (std::fread(&dim, sizeof dim, 1, file_.get()) != 1) {
      return corrupt(path_, absl::StrCat("cannot read row ", position_, " (file changed?)"));
    }
    if (dim != static_cast<int32_t>(dim_)) {
      return corrupt(path_, absl::StrCat("row ", position_, " has dimension ", dim, ", expected ",
                                         dim_, " like the first row"));
    }
    const size_t old_size = out.size();
    out.resize(old_size + dim_);
    if (std::fread(out.data() + old_size, sizeof(T), dim_, file_.get()) != dim_) {
      out.resize(old_size);
      return corrupt(path_, absl::StrCat("cannot read row ", position_, " (file changed?)"));
    }
  }
  return n;
}

template class VecsReader<float>;
template class VecsReader<int32_t>;

absl::StatusOr<FloatMatrix> read_fvecs(const std::string& path) { return read_all<float>(path); }
absl::StatusOr<IntMatrix> read_ivecs(const std::string& path) { return read_all<int32_t>(path); }

absl::Status write_fvecs(const std::string& path, const FloatMatrix& matrix) {
  return write_all(path, matrix);
}
absl::Status write_ivecs(const std::string& path, const IntMatrix& matrix) {
  return write_all(path, matrix);
}

}  // namespace meridian::cli
