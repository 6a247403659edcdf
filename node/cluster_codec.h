// Byte encodings of the cluster layer (schema/cluster.capnp): the gossip message nodes exchange
// and the catalog a node persists. Decoders never trust their input: sizes, nesting, names and
// collection settings are checked, and anything wrong is DataLoss / InvalidArgument.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "node/cluster_membership.h"
#include "node/collection_catalog.h"

namespace meridian::node {

struct GossipMessage {
  MemberInfo from;
  std::vector<MemberInfo> members;
  std::vector<CatalogEntry> catalog;
  friend bool operator==(const GossipMessage&, const GossipMessage&) = default;
};

struct StoredCatalog {
  std::vector<CatalogEntry> entries;
  std::map<std::string, uint64_t> bindings;  // local collection -> catalog incarnation
  friend bool operator==(const StoredCatalog&, const StoredCatalog&) = default;
};

std::string encode_gossip(const GossipMessage& message);
absl::StatusOr<GossipMessage> decode_gossip(std::string_view bytes);

std::string encode_stored_catalog(const StoredCatalog& catalog);
absl::StatusOr<StoredCatalog> decode_stored_catalog(std::string_view bytes);

}  // namespace meridian::node
