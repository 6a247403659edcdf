// The single-node database: collections persisted in storage::Store, each with an in-memory
// exact index (index::FlatIndex) rebuilt from the stored points at start. Validates every
// request before it touches storage, so bad input changes nothing.
//
// Thread safety: all methods are safe to call concurrently (one mutex; searches of one node
// run one at a time for now). A write is durable (LMDB commit) before it is visible to search.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "index/flat_index.h"
#include "storage/store.h"

namespace meridian::node {

struct CollectionInfo {
  storage::StoredCollection stored;
  uint64_t point_count = 0;
  uint64_t stored_bytes = 0;
};

struct SearchHit {
  PointId id;
  float score = 0;            // l2: Euclidean distance; cosine: similarity; dot: inner product
  std::vector<float> vector;  // filled when asked for
  std::string payload_json;   // filled when asked for
};

struct SearchParams {
  uint32_t k = 10;
  bool with_payload = false;
  bool with_vector = false;
};

struct NodeStats {
  uint32_t collections = 0;
  uint64_t points = 0;
  // Stored records that failed to open (tampered, corrupt, or under an unknown key): at start
  // they are skipped (and logged); at run time the request touching them fails with DataLoss.
  uint64_t integrity_failures = 0;
};

class Node {
 public:
  // Loads every collection of `store` and builds its index. `store` must outlive the node.
  static absl::StatusOr<std::unique_ptr<Node>> open(storage::Store& store);
  ~Node();

  absl::StatusOr<CollectionInfo> create_collection(const CollectionConfig& config);
  absl::StatusOr<std::vector<CollectionInfo>> list_collections() const;
  absl::StatusOr<CollectionInfo> collection_info(const std::string& name) const;
  absl::Status drop_collection(const std::string& name);

  // Validates then durably writes the batch; returns the number of points written.
  // Payloads must be empty or a JSON object; they are stored in normalised form.
  absl::StatusOr<uint32_t> upsert(const std::string& collection,
                                  std::vector<storage::PointRecord> points);
  // Returns how many of `ids` existed and were deleted.
  absl::StatusOr<uint32_t> remove(const std::string& collection, std::span<const PointId> ids);
  absl::StatusOr<std::vector<std::optional<storage::PointRecord>>> get(
      const std::string& collection, std::span<const PointId> ids) const;
  absl::StatusOr<uint64_t> count(const std::string& collection) const;
  absl::StatusOr<storage::ScrollPage> scroll(const std::string& collection, std::string_view cursor,
                                             uint32_t limit) const;
  // Exact top-k for each of the row-major `queries`; results nearest first.
  absl::StatusOr<std::vector<std::vector<SearchHit>>> search(const std::string& collection,
                                                             std::span<const float> queries,
                                                             const SearchParams& params) const;

  NodeStats stats() const;
  const std::string& node_id() const { return store_.node_id(); }

 private:
  struct Collection;
  explicit Node(storage::Store& store);
  absl::Status load_collection(const storage::StoredCollection& stored)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Collection*> find(const std::string& name) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  static CollectionInfo info_of(const Collection& c);

  // Counts DataLoss/FailedPrecondition from stored records; passes `result` through.
  template <typename T>
  T count_integrity(T result) const;

  storage::Store& store_;
  mutable std::atomic<uint64_t> integrity_failures_{0};
  mutable absl::Mutex mu_;
  absl::btree_map<std::string, std::unique_ptr<Collection>> collections_ ABSL_GUARDED_BY(mu_);
};

}  // namespace meridian::node
