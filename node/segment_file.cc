// Segment file encoding, atomic writes and verified reads; see segment_file.h.
#include "node/segment_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "crypto/sealed_file_reader.h"
#include "crypto/sealed_file_writer.h"
#include "index/vector_check.h"

namespace meridian::node {
namespace {

static_assert(std::endian::native == std::endian::little,
              "segment files are written with host byte order");

constexpr std::string_view kMagic = "MSEG";
// Version 1: every IVF kind carries its rows' vectors in row order. Version 2: IVF-Flat files do
// not, because its index bytes already hold every row's float32 vector (in list order, under
// its row number), so version 1 stored them twice; the row view is rebuilt from the lists on
// load. Other kinds did not change and are still written as version 1, so that older readers
// keep reading them. Both versions are read.
constexpr uint8_t kVersionRowVectors = 1;
constexpr uint8_t kVersionIvfFlatFromLists = 2;
// Kinds as Segment::Kind: 1 hnsw, 2 ivf_flat, 3 ivf_pq.
constexpr uint8_t kKindHnsw = 1;
constexpr uint8_t kKindIvfFlat = 2;
constexpr uint8_t kKindIvfPq = 3;
constexpr size_t kHeaderBytes = 4 + 4 + 4 + 8;  // magic, version/kind/metric/reserved, dim, rows
constexpr size_t kChecksumBytes = crypto_generichash_BYTES;  // BLAKE2b-256
constexpr std::string_view kSuffix = ".mseg";

uint8_t metric_code(index::Metric m) {
  switch (m) {
    case index::Metric::kL2:
      return 0;
    case index::Metric::kInnerProduct:
      return 1;
    case index::Metric::kCosine:
      return 2;
  }
  return 0;
}

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads little-endian fields from a byte string, remembering the first overrun.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool get(T& value) {
    if (bytes_.size() - pos_ < sizeof value) return false;
    std::memcpy(&value, bytes_.data() + pos_, sizeof value);
    pos_ += sizeof value;
    return true;
  }
  bool take(size_t n, std::string_view& out) {
    if (bytes_.size() - pos_ < n) return false;
    out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

absl::Status corrupt(const std::string& what) {
  return absl::DataLossError(absl::StrCat("segment file: ", what));
}

std::string checksum(std::string_view bytes) {
  std::string sum(kChecksumBytes, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(sum.data()), sum.size(),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr,
                     0);
  return sum;
}

std::string binding_of(const SegmentFiles& files, const std::filesystem::path& path) {
  return absl::StrCat("meridian segment ", files.collection, "/", path.filename().string());
}

absl::Status errno_status(const std::string& what, const std::filesystem::path& path) {
  const int error = errno;
  return absl::ErrnoToStatus(error, absl::StrCat(what, " ", path.string()));
}

// Plaintext mode: temporary file, fsync, rename, fsync of the directory.
absl::Status write_plain_file(const std::filesystem::path& path, std::string_view bytes) {
  const std::filesystem::path temp = path.string() + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno_status("cannot create", temp);
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = errno_status("cannot write", temp);
      ::close(fd);
      ::unlink(temp.c_str());
      return s;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    absl::Status s = errno_status("cannot sync", temp);
    ::unlink(temp.c_str());
    return s;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status s = errno_status("cannot rename onto", path);
    ::unlink(temp.c_str());
    return s;
  }
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return errno_status("cannot open directory of", path);
  const int synced = ::fsync(dir);
  ::close(dir);
  if (synced != 0) return errno_status("cannot sync directory of", path);
  return absl::OkStatus();
}

absl::StatusOr<std::string> read_plain_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::filesystem::exists(path)
               ? absl::DataLossError(absl::StrCat("cannot read ", path.string()))
               : absl::NotFoundError(absl::StrCat(path.string(), " does not exist"));
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path.string()));
  return bytes.str();
}

}  // namespace

std::filesystem::path SegmentFiles::path_of(uint64_t seq) const {
  return dir / absl::StrFormat("seg-%016x%s", seq, kSuffix);
}

std::vector<SegmentFileName> list_segment_files(const SegmentFiles& files) {
  std::vector<SegmentFileName> out;
  std::error_code error;
  if (!files.enabled() || !std::filesystem::is_directory(files.dir, error)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(files.dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp") != std::string::npos) {
      std::filesystem::remove(entry.path(), error);  // a write cut short by a crash
      continue;
    }
    if (name.size() != 4 + 16 + kSuffix.size() || name.rfind("seg-", 0) != 0 ||
        name.substr(20) != kSuffix) {
      continue;
    }
    uint64_t seq = 0;
    bool hex = true;
    for (char c : name.substr(4, 16)) {
      const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0) hex = false;
      seq = seq * 16 + static_cast<uint64_t>(std::max(digit, 0));
    }
    if (hex) out.push_back({seq, entry.path()});
  }
  std::sort(out.begin(), out.end(),
            [](const SegmentFileName& a, const SegmentFileName& b) { return a.seq > b.seq; });
  return out;
}

std::span<const float> SegmentFileContents::vector_at(uint32_t row) const {
  if (hnsw != nullptr) return hnsw->vector_of_label(row);
  const size_t dim = ids.empty() ? 0 : vectors.size() / ids.size();
  return std::span<const float>(vectors).subspan(size_t{row} * dim, dim);
}

std::shared_ptr<const Segment> SegmentFileContents::into_segment(std::vector<uint64_t> labels) && {
  if (hnsw != nullptr) {
    return std::make_shared<const HnswSegment>(std::move(hnsw), std::move(labels), std::move(ids));
  }
  auto rows = std::make_shared<SegmentRows>();
  rows->labels = std::move(labels);
  rows->ids = std::move(ids);
  rows->vectors = std::move(vectors);
  if (ivf_flat != nullptr) {
    return std::make_shared<const IvfFlatSegment>(std::move(ivf_flat), std::move(rows));
  }
  return std::make_shared<const IvfPqSegment>(std::move(ivf_pq), std::move(rows));
}

absl::StatusOr<std::string> encode_segment_payload(const Segment& segment) {
  const auto* hnsw = dynamic_cast<const HnswSegment*>(&segment);
  const auto* ivf_flat = dynamic_cast<const IvfFlatSegment*>(&segment);
  const auto* ivf_pq = dynamic_cast<const IvfPqSegment*>(&segment);
  if (hnsw == nullptr && ivf_flat == nullptr && ivf_pq == nullptr) {
    return absl::UnimplementedError("only sealed segments have a segment file format");
  }
  const uint8_t kind = hnsw != nullptr       ? kKindHnsw
                       : ivf_flat != nullptr ? kKindIvfFlat
                                             : kKindIvfPq;
  std::string out(kMagic);
  put<uint8_t>(out, kind == kKindIvfFlat ? kVersionIvfFlatFromLists : kVersionRowVectors);
  put<uint8_t>(out, kind);
  put<uint8_t>(out, metric_code(segment.metric()));
  put<uint8_t>(out, 0);
  put<uint32_t>(out, segment.dim());
  put<uint64_t>(out, segment.rows());
  for (const PointId& id : segment.ids()) {
    if (id.is_number()) {
      put<uint8_t>(out, 0);
      put<uint64_t>(out, id.as_number());
    } else {
      put<uint8_t>(out, 1);
      out.append(reinterpret_cast<const char*>(id.as_uuid().data()), 16);
    }
  }
  if (ivf_pq != nullptr) {
    // IVF-PQ keeps its rows' vectors only as codes (and, with refinement, in list order): the
    // rows are written in row order so that reads, rebuilds and exact scans of a reloaded
    // segment work.
    out.reserve(out.size() + segment.rows() * segment.dim() * sizeof(float));
    for (size_t r = 0; r < segment.rows(); ++r) {
      std::span<const float> v = segment.vector_at(static_cast<uint32_t>(r));
      out.append(reinterpret_cast<const char*>(v.data()), v.size_bytes());
    }
  }
  std::string index_bytes;
  absl::Status saved = hnsw != nullptr       ? hnsw->hnsw().save(&index_bytes)
                       : ivf_flat != nullptr ? ivf_flat->ivf_flat().save(&index_bytes)
                                             : ivf_pq->ivf_pq().save(&index_bytes);
  if (!saved.ok()) return saved;
  put<uint64_t>(out, index_bytes.size());
  out += index_bytes;
  out += checksum(out);
  return out;
}

namespace {

uint8_t kind_code(IndexKind kind) {
  switch (kind) {
    case IndexKind::kHnsw:
      return kKindHnsw;
    case IndexKind::kIvfFlat:
      return kKindIvfFlat;
    case IndexKind::kIvfPq:
      return kKindIvfPq;
    case IndexKind::kFlat:
      break;
  }
  return 0;
}

// Decodes the index bytes of an HNSW file into `out` and checks them against `spec`.
absl::Status decode_hnsw(std::string_view bytes, const SegmentSpec& spec, uint64_t rows,
                         SegmentFileContents& out) {
  auto hnsw = index::HnswIndex::load(bytes);
  if (!hnsw.ok()) return corrupt(std::string(hnsw.status().message()));
  const index::HnswParams& params = (*hnsw)->params();
  if ((*hnsw)->dim() != spec.dim || (*hnsw)->metric() != spec.metric || params.m != spec.hnsw.m ||
      params.ef_construction != spec.hnsw.ef_construction ||
      params.quantization != spec.hnsw.quantization) {
    return corrupt("index built with other settings than the collection's");
  }
  if ((*hnsw)->size() != rows || (*hnsw)->node_count() != rows) {
    return corrupt("index and row list disagree");
  }
  for (uint64_t r = 0; r < rows; ++r) {
    if (!(*hnsw)->contains(r)) return corrupt("index and row list disagree");
  }
  out.hnsw = *std::move(hnsw);
  return absl::OkStatus();
}

// Decodes the index bytes of an IVF-Flat or IVF-PQ file into `out` and checks them against
// `spec`: the settings a build from `spec` would use for this many rows, and exactly the rows
// 0..rows-1.
template <typename Index>
absl::Status decode_ivf(std::string_view bytes, const SegmentSpec& spec, uint64_t rows,
                        std::unique_ptr<Index>& out) {
  auto ivf = Index::load(bytes);
  if (!ivf.ok()) return corrupt(std::string(ivf.status().message()));
  if (ivf->dim() != spec.dim || ivf->metric() != spec.metric ||
      ivf->params().nlist != ivf_lists_of(spec, rows) || ivf->nlist() != ivf->params().nlist) {
    return corrupt("index built with other settings than the collection's");
  }
  if constexpr (std::is_same_v<Index, index::IvfFlatIndex>) {
    if (ivf->params().quantization != spec.ivf_quantization ||
        ivf->params().refine_factor != spec.ivf_refine_factor) {
      return corrupt("index built with other settings than the collection's");
    }
  } else {
    if (ivf->code_bytes() != std::min(spec.pq_m, spec.dim) ||
        ivf->params().refine_factor != spec.pq_refine_factor) {
      return corrupt("index built with other settings than the collection's");
    }
  }
  if (ivf->size() != rows) return corrupt("index and row list disagree");
  for (uint64_t r = 0; r < rows; ++r) {
    if (!ivf->contains(r)) return corrupt("index and row list disagree");
  }
  out = std::make_unique<Index>(*std::move(ivf));
  return absl::OkStatus();
}

// The rows' vectors in row order from a decoded IVF-Flat index whose labels are exactly the rows
// 0..rows-1 (decode_ivf checked that): its lists hold each row's float32 vector (the scanned data,
// or the re-rank store under sq8). Under cosine the index normalised them once more when the
// segment was built, so they may differ from the segment's own copy in the last bit, which the
// loader's comparison with the stored points allows for.
std::vector<float> rows_of(const index::IvfFlatIndex& ivf, uint64_t rows) {
  const size_t dim = ivf.dim();
  std::vector<float> out(rows * dim);
  for (uint32_t list = 0; list < ivf.nlist(); ++list) {
    std::span<const uint64_t> labels = ivf.list_labels(list);
    std::span<const float> data = ivf.list_vectors(list);
    for (size_t i = 0; i < labels.size(); ++i) {
      std::copy_n(data.data() + i * dim, dim, out.data() + labels[i] * dim);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<SegmentFileContents> decode_segment_payload(std::string_view payload,
                                                           const SegmentSpec& spec) {
  if (payload.size() < kHeaderBytes + 8 + kChecksumBytes) return corrupt("truncated");
  const std::string_view body = payload.substr(0, payload.size() - kChecksumBytes);
  if (checksum(body) != payload.substr(body.size())) return corrupt("checksum mismatch");
  Reader in(body);
  std::string_view magic;
  uint8_t version = 0, kind = 0, metric = 0, reserved = 0;
  uint32_t dim = 0;
  uint64_t rows = 0;
  in.take(4, magic);
  in.get(version);
  in.get(kind);
  in.get(metric);
  in.get(reserved);
  in.get(dim);
  in.get(rows);
  if (magic != kMagic) return corrupt("bad magic");
  if (version != kVersionRowVectors && version != kVersionIvfFlatFromLists) {
    return corrupt(absl::StrCat("unknown version ", version));
  }
  if (kind == 0 || kind != kind_code(spec.kind)) {
    return corrupt("holds another index kind than the collection's");
  }
  if (metric != metric_code(spec.metric) || dim != spec.dim || dim == 0) {
    return corrupt("holds another metric or dimension than the collection's");
  }
  // Every id takes at least 9 bytes: bounds the allocation below by the file's size.
  if (rows > in.remaining() / 9) return corrupt("row count exceeds the file");
  SegmentFileContents out;
  out.ids.reserve(rows);
  for (uint64_t r = 0; r < rows; ++r) {
    uint8_t id_kind = 0;
    if (!in.get(id_kind)) return corrupt("truncated ids");
    if (id_kind == 0) {
      uint64_t n = 0;
      if (!in.get(n)) return corrupt("truncated ids");
      out.ids.push_back(PointId::number(n));
    } else if (id_kind == 1) {
      std::string_view bytes;
      if (!in.take(16, bytes)) return corrupt("truncated ids");
      Uuid u;
      std::memcpy(u.data(), bytes.data(), 16);
      out.ids.push_back(PointId::uuid(u));
    } else {
      return corrupt("bad point id kind");
    }
  }
  const bool row_vectors =
      kind == kKindIvfPq || (kind == kKindIvfFlat && version == kVersionRowVectors);
  if (row_vectors) {
    std::string_view bytes;
    if (rows > in.remaining() / (sizeof(float) * dim) ||
        !in.take(rows * dim * sizeof(float), bytes)) {
      return corrupt("truncated vectors");
    }
    out.vectors.resize(rows * dim);
    std::memcpy(out.vectors.data(), bytes.data(), bytes.size());
    for (uint64_t r = 0; r < rows; ++r) {
      if (!index::check_vector(out.vector_at(static_cast<uint32_t>(r)), dim).ok()) {
        return corrupt(absl::StrCat("row ", r, ": bad vector"));
      }
    }
  }
  uint64_t index_length = 0;
  std::string_view index_bytes;
  if (!in.get(index_length) || index_length != in.remaining() ||
      !in.take(index_length, index_bytes)) {
    return corrupt("index length does not match the file");
  }
  absl::Status decoded = kind == kKindHnsw      ? decode_hnsw(index_bytes, spec, rows, out)
                         : kind == kKindIvfFlat ? decode_ivf(index_bytes, spec, rows, out.ivf_flat)
                                                : decode_ivf(index_bytes, spec, rows, out.ivf_pq);
  if (!decoded.ok()) return decoded;
  if (kind == kKindIvfFlat && !row_vectors) out.vectors = rows_of(*out.ivf_flat, rows);
  return out;
}

absl::Status write_segment_file(const SegmentFiles& files, uint64_t seq, const Segment& segment) {
  auto payload = encode_segment_payload(segment);
  if (!payload.ok()) return payload.status();
  std::error_code error;
  std::filesystem::create_directories(files.dir, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", files.dir.string(), ": ", error.message()));
  }
  const std::filesystem::path path = files.path_of(seq);
  std::shared_ptr<const crypto::KeyRing> ring = files.keys ? files.keys() : nullptr;
  if (ring == nullptr) return write_plain_file(path, *payload);
  auto writer = crypto::SealedFileWriter::create(
      path, std::move(ring), crypto::KeyPurpose::kSegmentFiles, binding_of(files, path));
  if (!writer.ok()) return writer.status();
  if (auto s = (*writer)->append(*payload); !s.ok()) return s;
  return (*writer)->close();
}

absl::StatusOr<SegmentFileContents> read_segment_file(const SegmentFiles& files, uint64_t seq,
                                                      const SegmentSpec& spec) {
  const std::filesystem::path path = files.path_of(seq);
  std::shared_ptr<const crypto::KeyRing> ring = files.keys ? files.keys() : nullptr;
  absl::StatusOr<std::string> payload =
      ring == nullptr
          ? read_plain_file(path)
          : crypto::read_sealed_file(path, std::move(ring), crypto::KeyPurpose::kSegmentFiles,
                                     binding_of(files, path));
  if (!payload.ok()) return payload.status();
  return decode_segment_payload(*payload, spec);
}

void remove_segment_files(const SegmentFiles& files) {
  if (!files.enabled()) return;
  std::error_code error;
  std::filesystem::remove_all(files.dir, error);
}

}  // namespace meridian::node
