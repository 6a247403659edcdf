// Meridian's blocking C++ client: a small synchronous facade over AsyncClient that owns its
// own KJ event loop. The simplest way for an application to talk to a node.
#pragma once

#include <kj/async-io.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/async_client.h"
#include "client/types.h"

namespace meridian::client {

// A blocking connection to one node. Each call sends one request and waits for its reply.
//
// Not thread-safe, and thread-bound: a Client owns a KJ event loop, which is tied to the
// thread that called connect(). Use one Client per thread, created and used on that thread,
// and at most one Client (or other KJ event loop) per thread at a time.
//
// Errors: the server's status code (InvalidArgument, NotFound, AlreadyExists, ...) with its
// message; Unavailable when the node cannot be reached or the connection drops (a Client
// does not reconnect: connect again).
class Client {
 public:
  // Connects to "HOST:PORT". Unavailable (with the address in the message) when nothing
  // answers there; FailedPrecondition when this thread already runs a KJ event loop.
  static absl::StatusOr<std::unique_ptr<Client>> connect(const std::string& address,
                                                         const ConnectOptions& options = {});

  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& server_version() const { return async_->server_version(); }

  absl::StatusOr<NodeStatus> status();

  absl::StatusOr<CollectionInfo> create_collection(const CollectionConfig& config);
  absl::StatusOr<std::vector<CollectionInfo>> list_collections();
  absl::StatusOr<CollectionInfo> collection_info(const std::string& name);
  absl::Status drop_collection(const std::string& name);
  // Which nodes hold each shard of the collection (see ShardMap).
  absl::StatusOr<ShardMap> shard_map(const std::string& collection);

  // Inserts or replaces up to kMaxBatchPoints points in one atomic, durable batch.
  absl::StatusOr<WriteResult> upsert(const std::string& collection,
                                     std::span<const PointData> points,
                                     const WriteOptions& options = {});
  // Deletes points by id; ids that do not exist are ignored (not counted in `applied`).
  absl::StatusOr<WriteResult> remove(const std::string& collection, std::span<const PointId> ids,
                                     const WriteOptions& options = {});
  // The points that exist among `ids`, in request order; missing ids are skipped.
  absl::StatusOr<std::vector<PointData>> get(const std::string& collection,
                                             std::span<const PointId> ids,
                                             ReadOptions options = {});
  absl::StatusOr<uint64_t> count(const std::string& collection,
                                 const std::string& consistency_token = "");
  // One page in id order from `cursor` (empty: the beginning); `limit` 0 means 100.
  // An empty ScrollPage::next_cursor means the end.
  absl::StatusOr<ScrollPage> scroll(const std::string& collection, const std::string& cursor,
                                    uint32_t limit, ReadOptions options = {});
  // Payload updates (see AsyncClient): merge fields, replace the payload, remove fields.
  absl::StatusOr<WriteResult> set_payload(const std::string& collection,
                                          std::span<const PointId> ids,
                                          const std::string& payload_json);
  absl::StatusOr<WriteResult> overwrite_payload(const std::string& collection,
                                                std::span<const PointId> ids,
                                                const std::string& payload_json);
  absl::StatusOr<WriteResult> delete_payload_keys(const std::string& collection,
                                                  std::span<const PointId> ids,
                                                  const std::vector<std::string>& keys);
  // Exact top-k for each query; one result list per query, nearest first.
  absl::StatusOr<SearchResults> search(const SearchRequest& request);

  // Key rotation (see AsyncClient): status, add a key file on the node as active, retire a key.
  absl::StatusOr<KeyStatus> key_status();
  absl::StatusOr<KeyStatus> rotate_key(const std::string& key_file);
  absl::StatusOr<KeyStatus> retire_key(uint32_t key_id);

 private:
  Client(std::unique_ptr<kj::AsyncIoContext> io, std::unique_ptr<AsyncClient> async);

  template <typename T>
  T wait(kj::Promise<T>&& promise) {
    return promise.wait(io_->waitScope);
  }

  // io_ outlives async_ (members are destroyed in reverse order).
  std::unique_ptr<kj::AsyncIoContext> io_;
  std::unique_ptr<AsyncClient> async_;
};

}  // namespace meridian::client
