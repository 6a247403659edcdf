// Cap'n Proto servers for the public API (schema/api.capnp): Gate, the bootstrap, and Api,
// which translates each call to node::Node and raises failures through rpc_status.h.
#pragma once

#include <chrono>
#include <string>

#include "node/key_manager.h"
#include "node/node.h"
#include "schema/api.capnp.h"

namespace meridian::node {

struct ServerInfo {
  std::string version;
  std::string data_dir;
  std::chrono::steady_clock::time_point started;
  KeyManager* keys = nullptr;  // serves Admin's key actions
};

class ApiServer final : public rpc::Api::Server {
 public:
  // `node` and `info` must outlive the server.
  ApiServer(Node& node, const ServerInfo& info) : node_(node), info_(info) {}

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

 private:
  Node& node_;
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
