// Client: runs each AsyncClient call to completion on the client's own event loop.
#include "client/client.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace meridian::client {

Client::Client(std::unique_ptr<kj::AsyncIoContext> io, std::unique_ptr<AsyncClient> async)
    : io_(std::move(io)), async_(std::move(async)) {}

// async_ is declared after io_, so the connection closes while the event loop still exists.
Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Client>> Client::connect(const std::string& address,
                                                        const ConnectOptions& options) {
  std::unique_ptr<kj::AsyncIoContext> io;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] {
                 io = std::make_unique<kj::AsyncIoContext>(kj::setupAsyncIo());
               })) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start a KJ event loop on this thread (one Client per thread): ",
                     exception->getDescription().cStr()));
  }
  absl::StatusOr<std::unique_ptr<AsyncClient>> async =
      AsyncClient::connect(io->provider->getNetwork(), address, options).wait(io->waitScope);
  if (!async.ok()) return async.status();
  return std::unique_ptr<Client>(new Client(std::move(io), *std::move(async)));
}

absl::StatusOr<NodeStatus> Client::status() { return wait(async_->status()); }

absl::StatusOr<CollectionInfo> Client::create_collection(const CollectionConfig& config) {
  return wait(async_->create_collection(config));
}

absl::StatusOr<std::vector<CollectionInfo>> Client::list_collections() {
  return wait(async_->list_collections());
}

absl::StatusOr<ShardMap> Client::shard_map(const std::string& collection) {
  return wait(async_->shard_map(collection));
}

absl::StatusOr<CollectionInfo> Client::collection_info(const std::string& name) {
  return wait(async_->collection_info(name));
}

absl::Status Client::drop_collection(const std::string& name) {
  return wait(async_->drop_collection(name));
}

absl::StatusOr<WriteResult> Client::upsert(const std::string& collection,
                                           std::span<const PointData> points,
                                           const WriteOptions& options) {
  return wait(async_->upsert(collection, points, options));
}

absl::StatusOr<WriteResult> Client::remove(const std::string& collection,
                                           std::span<const PointId> ids,
                                           const WriteOptions& options) {
  return wait(async_->remove(collection, ids, options));
}

absl::StatusOr<std::vector<PointData>> Client::get(const std::string& collection,
                                                   std::span<const PointId> ids,
                                                   ReadOptions options) {
  return wait(async_->get(collection, ids, options));
}

absl::StatusOr<WriteResult> Client::set_payload(const std::string& collection,
                                                std::span<const PointId> ids,
                                                const std::string& payload_json) {
  return wait(async_->set_payload(collection, ids, payload_json));
}

absl::StatusOr<WriteResult> Client::overwrite_payload(const std::string& collection,
                                                      std::span<const PointId> ids,
                                                      const std::string& payload_json) {
  return wait(async_->overwrite_payload(collection, ids, payload_json));
}

absl::StatusOr<WriteResult> Client::delete_payload_keys(const std::string& collection,
                                                        std::span<const PointId> ids,
                                                        const std::vector<std::string>& keys) {
  return wait(async_->delete_payload_keys(collection, ids, keys));
}

absl::StatusOr<uint64_t> Client::count(const std::string& collection,
                                       const std::string& consistency_token) {
  return wait(async_->count(collection, consistency_token));
}

absl::StatusOr<ScrollPage> Client::scroll(const std::string& collection, const std::string& cursor,
                                          uint32_t limit, ReadOptions options) {
  return wait(async_->scroll(collection, cursor, limit, options));
}

absl::StatusOr<SearchResults> Client::search(const SearchRequest& request) {
  return wait(async_->search(request));
}

absl::StatusOr<KeyStatus> Client::key_status() { return wait(async_->key_status()); }

absl::StatusOr<KeyStatus> Client::rotate_key(const std::string& key_file) {
  return wait(async_->rotate_key(key_file));
}

absl::StatusOr<KeyStatus> Client::retire_key(uint32_t key_id) {
  return wait(async_->retire_key(key_id));
}

}  // namespace meridian::client
