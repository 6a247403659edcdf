// Segment files: a sealed segment persisted beside the LMDB environment, so a restart reloads it
// instead of rebuilding it. Sealed with crypto::SealedFileWriter under the node's key ring (or
// plain, with a checksum, on a node running --insecure-no-encryption); written to a temporary
// file, fsynced and renamed. Layout in docs/formats.md ("Segment file").
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/key_ring.h"
#include "index/hnsw_index.h"
#include "node/sealed_segment.h"

namespace meridian::node {

// Where and how one collection's segment files are kept.
struct SegmentFiles {
  // The collection's own directory; empty: segments are not persisted.
  std::filesystem::path dir;
  // The key ring that seals the files, asked at every read and write so that key rotation
  // applies; null: plaintext files.
  std::function<std::shared_ptr<const crypto::KeyRing>()> keys;
  // The collection's name: bound into every sealed file, and named in log lines.
  std::string collection;

  bool enabled() const { return !dir.empty(); }
  // The file of segment number `seq`: "<dir>/seg-<seq as 16 hex digits>.mseg".
  std::filesystem::path path_of(uint64_t seq) const;
};

// A segment file found on disk.
struct SegmentFileName {
  uint64_t seq = 0;
  std::filesystem::path path;
};

// The segment files in files.dir, newest (highest seq) first; none when the directory is absent.
// Temporary files left by a crash are removed.
std::vector<SegmentFileName> list_segment_files(const SegmentFiles& files);

// What a segment file holds: the point id of every row and the row-keyed index of the file's
// kind (exactly one of hnsw, ivf_flat, ivf_pq is set). IVF kinds also come with the rows'
// prepared vectors in row order, which the IVF indexes do not hand back by row: IVF-PQ files
// store them (the index may keep only codes); for IVF-Flat they are rebuilt from the index's
// lists (version 1 files stored them too, and are still read).
struct SegmentFileContents {
  std::vector<PointId> ids;
  std::unique_ptr<index::HnswIndex> hnsw;
  std::unique_ptr<index::IvfFlatIndex> ivf_flat;
  std::unique_ptr<index::IvfPqIndex> ivf_pq;
  std::vector<float> vectors;  // IVF kinds: rows x dim, row-major

  // The prepared vector of row `row` (< ids.size()), as the segment stores it.
  std::span<const float> vector_at(uint32_t row) const;
  // The sealed segment these contents make, its rows named by `labels` (kDeadRow for dead rows;
  // labels.size() == ids.size()). Consumes the contents.
  std::shared_ptr<const Segment> into_segment(std::vector<uint64_t> labels) &&;
};

// Writes `segment` as file `seq`, replacing any file of that name only once it is complete.
// Unimplemented for an exact segment (only sealed ones have files); errno-based errors of the
// file system.
absl::Status write_segment_file(const SegmentFiles& files, uint64_t seq, const Segment& segment);

// Reads file `seq` and checks that it holds a segment of `spec` (kind, dim, metric, and the
// kind's parameters: HNSW m, ef_construction and quantization; IVF nlist, quantization, refine
// factor; PQ m). NotFound when absent; DataLoss when corrupt, truncated, tampered with or of other
// settings; FailedPrecondition when sealed under a key the ring does not hold.
absl::StatusOr<SegmentFileContents> read_segment_file(const SegmentFiles& files, uint64_t seq,
                                                      const SegmentSpec& spec);

// The plaintext inside a segment file, and its decoder (exposed for corruption tests).
absl::StatusOr<std::string> encode_segment_payload(const Segment& segment);
absl::StatusOr<SegmentFileContents> decode_segment_payload(std::string_view payload,
                                                           const SegmentSpec& spec);

// Removes the collection's segment directory and everything in it (the collection is dropped).
void remove_segment_files(const SegmentFiles& files);

}  // namespace meridian::node
