// Cap'n Proto servers for the public API (schema/api.capnp): Gate, the bootstrap, and Api,
// which translates each call to node::Node and raises failures through rpc_status.h.
#pragma once

#include <kj/timer.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "node/cluster_service.h"
#include "node/key_manager.h"
#include "node/node.h"
#include "node/request_router.h"
#include "node/shard_forwarder.h"
#include "schema/api.capnp.h"

namespace meridian::node {

struct ServerInfo {
  std::string version;
  std::string data_dir;
  std::chrono::steady_clock::time_point started;
  KeyManager* keys = nullptr;  // serves Admin's key actions
  // The event loop's timer, for reads that wait on a consistency token. Without one such a read
  // fails at once with DEADLINE_EXCEEDED unless the token is already reached.
  kj::Timer* timer = nullptr;
  // The node's cluster membership and replication (null when the node runs alone).
  ClusterService* cluster = nullptr;
  // Sends the parts of requests for shards not held here to their holders in the region (null
  // when the node runs alone: every shard is then held here).
  ShardForwarder* forwarder = nullptr;
};

class ApiServer final : public rpc::Api::Server {
 public:
  // `node` and `info` must outlive the server.
  ApiServer(Node& node, const ServerInfo& info) : node_(node), router_(node), info_(info) {}

 protected:
  kj::Promise<void> status(StatusContext context) override;
  kj::Promise<void> createCollection(CreateCollectionContext context) override;
  kj::Promise<void> listCollections(ListCollectionsContext context) override;
  kj::Promise<void> collectionInfo(CollectionInfoContext context) override;
  kj::Promise<void> dropCollection(DropCollectionContext context) override;
  kj::Promise<void> upsert(UpsertContext context) override;
  kj::Promise<void> delete_(DeleteContext context) override;
  kj::Promise<void> get(GetContext context) override;
  kj::Promise<void> count(CountContext context) override;
  kj::Promise<void> scroll(ScrollContext context) override;
  kj::Promise<void> search(SearchContext context) override;
  kj::Promise<void> admin(AdminContext context) override;
  kj::Promise<void> setPayload(SetPayloadContext context) override;
  kj::Promise<void> overwritePayload(OverwritePayloadContext context) override;
  kj::Promise<void> deletePayloadKeys(DeletePayloadKeysContext context) override;
  kj::Promise<void> shardMap(ShardMapContext context) override;

 private:
  // Resolves once `collection`'s replica includes every write `token` names (at once when the
  // token is empty); rejects with DEADLINE_EXCEEDED after Node's consistency wait, or
  // INVALID_ARGUMENT for a malformed token. Polls on the timer: never blocks the event loop.
  // Resolves when the local commit `seq` of `collection` satisfies `concern`, or at `deadline`
  // with what is still missing (never an error: the write is committed either way).
  // A write to several shards is confirmed when every shard's commit is; its missing regions
  // are those of any shard.
  kj::Promise<WriteConfirmation> confirm_write(std::vector<ShardCommit> commits,
                                               WriteConcern concern, kj::TimePoint deadline);
  // Fills result.replication after the wait a write's concern asks for.
  template <typename Context>
  kj::Promise<void> answer_write(Context context, const RoutedWrite& outcome);
  kj::Promise<void> await_token(std::string collection, std::string token);
  kj::Promise<void> poll_token(std::string collection, std::string token, kj::TimePoint deadline);
  // The reads as planned when they arrive (get() and friends rerun them once when a replica
  // here was handed off meanwhile).
  kj::Promise<void> get_planned(GetContext context);
  kj::Promise<void> count_planned(CountContext context);
  kj::Promise<void> scroll_planned(ScrollContext context);
  kj::Promise<void> search_planned(SearchContext context);
  // The reads themselves, once their token is reached.
  kj::Promise<void> get_now(GetContext context);
  kj::Promise<void> count_now(CountContext context);
  kj::Promise<void> scroll_now(ScrollContext context);
  kj::Promise<void> search_now(SearchContext context);

  // Forwarding of the parts of a request for shards held on other nodes of the region
  // (api_forwarding.cc).
  struct ShardPlan {
    CollectionConfig config;
    std::vector<uint32_t> local;   // shards held here
    std::vector<uint32_t> remote;  // shards held elsewhere in the region
  };
  // Consistency tokens split the same way: the part naming local shards, and per other shard a
  // token naming only it.
  struct SplitToken {
    std::string local;
    std::map<uint32_t, std::string> remote;
  };
  // The plan of a request on `collection`, or nullopt when every shard is held here (or the
  // collection is unknown, or there is no forwarder): the local path then answers. For a write
  // (`for_write`), a shard held here that is being handed off with every owner reachable counts
  // as held elsewhere (ClusterService::forwards_writes): its owners take the write.
  std::optional<ShardPlan> plan(const std::string& collection, bool for_write = false) const;
  // For a write's parts, run in the turn that commits the local part: `planned` (made when the
  // write arrived) made again now, with every shard local when none is elsewhere.
  ShardPlan replan(const std::string& collection, ShardPlan planned) const;
  static SplitToken split_token(const ShardPlan& plan, const std::string& token);
  // For a request another node forwarded for `shard`: Unavailable unless it is held here.
  void check_forwarded(const std::string& collection, int32_t shard) const;
  kj::Promise<void> upsert_forwarding(UpsertContext context, ShardPlan plan,
                                      std::vector<storage::PointRecord> records);
  kj::Promise<void> delete_forwarding(DeleteContext context, ShardPlan plan,
                                      std::vector<PointId> ids);
  kj::Promise<void> get_forwarding(GetContext context, ShardPlan plan);
  kj::Promise<void> count_forwarding(CountContext context, ShardPlan plan);
  kj::Promise<void> scroll_forwarding(ScrollContext context, ShardPlan plan);
  kj::Promise<void> search_forwarding(SearchContext context, ShardPlan plan);
  kj::Promise<void> set_payload_forwarding(SetPayloadContext context, ShardPlan plan);
  kj::Promise<void> overwrite_payload_forwarding(OverwritePayloadContext context, ShardPlan plan);
  kj::Promise<void> delete_payload_keys_forwarding(DeletePayloadKeysContext context,
                                                   ShardPlan plan);

  Node& node_;
  RequestRouter router_;
  const ServerInfo& info_;
};

class AdminServer final : public rpc::Admin::Server {
 public:
  explicit AdminServer(KeyManager& keys) : keys_(keys) {}

 protected:
  kj::Promise<void> keyStatus(KeyStatusContext context) override;
  kj::Promise<void> rotateKey(RotateKeyContext context) override;
  kj::Promise<void> retireKey(RetireKeyContext context) override;

 private:
  KeyManager& keys_;
};

class GateServer final : public rpc::Gate::Server {
 public:
  GateServer(Node& node, const ServerInfo& info) : node_(node), info_(info) {}

 protected:
  kj::Promise<void> open(OpenContext context) override;

 private:
  Node& node_;
  const ServerInfo& info_;
};

}  // namespace meridian::node
