# Meridian's cluster layer: which nodes exist (membership) and which collections exist (the
# collection catalog), exchanged between nodes by gossip over the peer port (Replicator.gossip in
# replication.capnp carries a GossipMessage as bytes). See docs/replication.md, "Cluster".
#
# Compatibility rules (as api.capnp): fields are only ever added, never renumbered or retyped.
@0xd4cada20e461b316;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("meridian::rpc::cluster");

using Api = import "api.capnp";

# One collection shard replica a node serves: its peers in every region replicate with it.
struct ReplicaAd {
  collection @0 :Text;
  incarnation @1 :UInt64;   # the catalog incarnation the replica belongs to
  replicaId @2 :UInt64;     # the crdt replica id of the node's replica
  shard @3 :UInt32;         # which shard of the collection (0 for a one-shard collection)
}

# What a node says about itself. `heartbeat` grows with every gossip round of that node, so the
# freshest description of a node wins wherever descriptions meet.
struct MemberInfo {
  nodeId @0 :Text;
  region @1 :Text;
  clientAddress @2 :Text;   # host:port of the client API
  peerAddress @3 :Text;     # host:port of the peer (replication) port
  heartbeat @4 :UInt64;
  replicas @5 :List(ReplicaAd);
}

# One create of a collection name. The catalog keeps every create it has seen of the newest
# generation of a name; all nodes resolve them to the same winner (node/collection_catalog.h).
struct CatalogEntry {
  name @0 :Text;
  incarnation @1 :UInt64;   # random per create; identifies this create everywhere
  generation @2 :UInt32;    # 0 for the first create of a name; drop + create = previous + 1
  createdMs @3 :UInt64;     # wall clock of the creating node
  region @4 :Text;          # where it was created (for conflict reports)
  config @5 :Api.CollectionConfig;
  dropped @6 :Bool;
}

struct Catalog {
  entries @0 :List(CatalogEntry);
}

# One gossip round: the sender's view; the answer is the receiver's view after merging it.
struct GossipMessage {
  from @0 :MemberInfo;
  members @1 :List(MemberInfo);  # every other member the sender knows
  catalog @2 :Catalog;
}

# Which catalog incarnation each local collection belongs to (a node's own bookkeeping).
struct LocalBinding {
  collection @0 :Text;
  incarnation @1 :UInt64;
}

# The catalog as a node persists it (sealed, in the store's meta database).
struct StoredCatalog {
  catalog @0 :Catalog;
  bindings @1 :List(LocalBinding);
}
