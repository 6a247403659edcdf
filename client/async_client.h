// Meridian's asynchronous C++ client: one Cap'n Proto RPC connection to a meridiand node, with
// one method per Api call returning a KJ promise of an absl::Status(Or).
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/types.h"
#include "schema/api.capnp.h"

namespace meridian::client {

// Settings for one connection. The read limits bound what the server can make this client
// allocate; the defaults allow search results of up to 1 GiB.
struct ConnectOptions {
  std::string client_name = "meridian-cpp-client";
  uint64_t traversal_limit_words = uint64_t{1} << 27;  // 1 GiB
  int nesting_limit = 64;
  // Flow limit for calls the server makes on this client (none today); see RpcSystem.
  size_t flow_limit_words = size_t{1} << 23;  // 64 MiB
};

// The default port a HOST without ":PORT" connects to.
inline constexpr unsigned kDefaultPort = 7600;

// A connection to one node. Lives on one thread with a KJ event loop: every method must be
// called, and every promise waited on, on that thread, and the client must outlive the promises
// it returned.
//
// Failures never escape as KJ exceptions: every promise resolves to a status, with the code
// the server sent (schema/rpc_status.h), Unavailable for a lost connection, and Internal or
// DataLoss for a malformed reply. Arguments are copied into the request before a method
// returns, so they need not outlive the call.
class AsyncClient {
 public:
  // Connects to "HOST:PORT" through `network` (kj::AsyncIoContext::provider->getNetwork()),
  // then opens the Api through the node's Gate. Resolves to Unavailable (naming the address)
  // when the node cannot be reached, InvalidArgument for a malformed address.
  // `network` must outlive the client.
  static kj::Promise<absl::StatusOr<std::unique_ptr<AsyncClient>>> connect(
      kj::Network& network, const std::string& address, const ConnectOptions& options = {});

  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  // The version string the node reported when the Api was opened.
  const std::string& server_version() const { return server_version_; }

  kj::Promise<absl::StatusOr<NodeStatus>> status();

  kj::Promise<absl::StatusOr<CollectionInfo>> create_collection(const CollectionConfig& config);
  kj::Promise<absl::StatusOr<std::vector<CollectionInfo>>> list_collections();
  kj::Promise<absl::StatusOr<CollectionInfo>> collection_info(const std::string& name);
  kj::Promise<absl::Status> drop_collection(const std::string& name);
  kj::Promise<absl::StatusOr<ShardMap>> shard_map(const std::string& collection);

  // Inserts or replaces up to kMaxBatchPoints points in one atomic, durable batch.
  kj::Promise<absl::StatusOr<WriteResult>> upsert(const std::string& collection,
                                                  std::span<const PointData> points,
                                                  const WriteOptions& options = {});
  // Deletes points by id (the Api's `delete`); missing ids are not counted in `applied`.
  kj::Promise<absl::StatusOr<WriteResult>> remove(const std::string& collection,
                                                  std::span<const PointId> ids,
                                                  const WriteOptions& options = {});
  // The points that exist among `ids`, in request order.
  kj::Promise<absl::StatusOr<std::vector<PointData>>> get(const std::string& collection,
                                                          std::span<const PointId> ids,
                                                          ReadOptions options = {});
  kj::Promise<absl::StatusOr<uint64_t>> count(const std::string& collection,
                                              const std::string& consistency_token = "");
  // One page in id order, starting at `cursor` (empty: the beginning). `limit` 0 means 100.
  kj::Promise<absl::StatusOr<ScrollPage>> scroll(const std::string& collection,
                                                 const std::string& cursor, uint32_t limit,
                                                 ReadOptions options = {});
  // Payload updates of existing points (missing ids are skipped, not counted). `payload_json`
  // is a JSON object: set merges its top-level fields, overwrite replaces the whole payload;
  // delete_payload_keys removes the named top-level fields.
  kj::Promise<absl::StatusOr<WriteResult>> set_payload(const std::string& collection,
                                                       std::span<const PointId> ids,
                                                       const std::string& payload_json);
  kj::Promise<absl::StatusOr<WriteResult>> overwrite_payload(const std::string& collection,
                                                             std::span<const PointId> ids,
                                                             const std::string& payload_json);
  kj::Promise<absl::StatusOr<WriteResult>> delete_payload_keys(
      const std::string& collection, std::span<const PointId> ids,
      const std::vector<std::string>& keys);
  // Exact top-k for every query in `request`.
  kj::Promise<absl::StatusOr<SearchResults>> search(const SearchRequest& request);

  // Operator actions (Admin capability). `key_file` is a path on the node's machine.
  kj::Promise<absl::StatusOr<KeyStatus>> key_status();
  kj::Promise<absl::StatusOr<KeyStatus>> rotate_key(const std::string& key_file);
  kj::Promise<absl::StatusOr<KeyStatus>> retire_key(uint32_t key_id);

 private:
  AsyncClient(kj::Own<kj::AsyncIoStream> stream, const ConnectOptions& options);

  // Declared in construction order; destroyed in reverse (the RPC system before the network
  // before the stream).
  kj::Own<kj::AsyncIoStream> stream_;
  capnp::TwoPartyVatNetwork network_;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc_system_;
  rpc::Api::Client api_;
  std::string server_version_;
};

}  // namespace meridian::client
