// Sends the parts of client requests for shards this node does not hold to the nodes of its region
// that do (docs/sharding.md, "Forwarding"), over their client API: one Cap'n Proto connection per
// member's client address, reused by every request and forgotten when it breaks. A part whose
// node does not answer, or answers Unavailable (it does not hold the shard after all), is tried
// on the next holder of the shard; when none answers the part fails with Unavailable naming the
// shard. Runs on the event loop that serves the client API. Not thread-safe.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/cluster_service.h"
#include "schema/api.capnp.h"
#include "schema/rpc_status.h"

namespace meridian::node {

class ShardForwarder {
 public:
  // `network` and `cluster` must outlive the forwarder, and the forwarder every promise it made.
  ShardForwarder(kj::Network& network, const ClusterService& cluster)
      : network_(network), cluster_(cluster) {}
  ~ShardForwarder();
  ShardForwarder(const ShardForwarder&) = delete;
  ShardForwarder& operator=(const ShardForwarder&) = delete;

  // Runs `send` on the Api of the first node of this region holding shard `shard` of the
  // collection `config` that answers. `send` must mark its request with forwardShard = shard.
  template <typename T>
  kj::Promise<T> call(const CollectionConfig& config, uint32_t shard,
                      std::function<kj::Promise<T>(rpc::Api::Client)> send) {
    return try_holder<T>(cluster_.region_holders(config, shard), 0, config.name, shard,
                         kj::mv(send), "no other node of this region is known to hold it");
  }

 private:
  // Members are destroyed in reverse order: the Api first, the socket last.
  struct Connection {
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyVatNetwork> network;
    kj::Own<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc;
    kj::Maybe<rpc::Api::Client> api;
  };

  template <typename T>
  kj::Promise<T> try_holder(std::vector<ShardHolder> holders, size_t i, std::string collection,
                            uint32_t shard, std::function<kj::Promise<T>(rpc::Api::Client)> send,
                            std::string last_error) {
    if (i >= holders.size()) {
      return status_to_exception(absl::UnavailableError(
          absl::StrCat("shard ", shard, " of collection '", collection,
                       "' is not held on this node and no node of the region holding it answered: ",
                       last_error)));
    }
    const std::string address = holders[i].client_address;
    const std::string node_id = holders[i].node_id;
    auto sent = kj::evalNow([&] { return send(api(address)); });
    return sent.catch_([this, holders = kj::mv(holders), i, collection = kj::mv(collection), shard,
                        send = kj::mv(send), address,
                        node_id](kj::Exception&& e) mutable -> kj::Promise<T> {
      const absl::Status status = exception_to_status(e);
      if (e.getType() == kj::Exception::Type::DISCONNECTED) forget(address);
      if (status.code() != absl::StatusCode::kUnavailable) return kj::mv(e);
      return try_holder<T>(kj::mv(holders), i + 1, kj::mv(collection), shard, kj::mv(send),
                           absl::StrCat("node ", node_id, " (", address, "): ", status.message()));
    });
  }

  // The Api of the node at `address` (pipelined: usable before the connection is up).
  rpc::Api::Client api(const std::string& address);
  void forget(const std::string& address);

  kj::Network& network_;
  const ClusterService& cluster_;
  std::map<std::string, std::unique_ptr<Connection>> connections_;
  std::deque<std::unique_ptr<Connection>> retired_;  // broken, oldest first
};

}  // namespace meridian::node
