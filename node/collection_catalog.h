// The collection catalog: which collections exist cluster-wide, replicated between nodes by
// gossip. A state-based CRDT (a join-semilattice): per name it keeps the creates of the newest
// generation it has seen, each with a grow-only "dropped" flag, and every node resolves them to
// the same winner. Pure data: no storage, no network (node.cc persists it, cluster_service
// gossips it).
//
// Resolution of one name (resolve()):
// - A higher generation always wins: dropping a name and creating it again makes a new
//   generation, so an old create or drop can never bring back or remove the new collection.
// - Within a generation, creates with the same settings are one collection (two regions that
//   create "docs" alike at once share their data); its identity is the smallest incarnation.
// - Creates with different settings conflict: the earliest (created_ms, incarnation) wins
//   everywhere; the others are reported by conflicts(), never mixed into the winner.
// - A drop of any create in the winning group drops the collection (drop wins within a
//   generation).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "schema/types.h"

namespace meridian::node {

struct CatalogEntry {
  std::string name;
  uint64_t incarnation = 0;  // random per create, never 0
  uint32_t generation = 0;
  uint64_t created_ms = 0;
  std::string region;
  CollectionConfig config;  // config.name == name
  bool dropped = false;
  friend bool operator==(const CatalogEntry&, const CatalogEntry&) = default;
};

class CollectionCatalog {
 public:
  // Records a create of `config.name`. AlreadyExists while the name resolves to a live
  // collection. The new entry's generation follows a dropped one.
  absl::StatusOr<CatalogEntry> create(const CollectionConfig& config, uint64_t incarnation,
                                      uint64_t created_ms, const std::string& region);
  // Marks the live collection `name` dropped (every create of its winning group). NotFound when
  // the name does not resolve to a live collection.
  absl::Status drop(const std::string& name);
  // Joins `entries` (from a peer or from disk) into this catalog. True when anything changed.
  // Entries with an empty name or a zero incarnation are ignored.
  bool merge(const std::vector<CatalogEntry>& entries);

  // The winner for `name` (nullopt when the name was never created). Its incarnation is the
  // smallest of its group; `dropped` is set when any create of the group was dropped.
  std::optional<CatalogEntry> resolve(const std::string& name) const;
  // True when `incarnation` is a create of `name` in the same group as the winner (same
  // generation and settings): data of that incarnation belongs to the winner.
  bool same_collection(const std::string& name, uint64_t incarnation) const;
  // Creates of `name` that lost to a create with different settings.
  std::vector<CatalogEntry> conflicts(const std::string& name) const;

  std::vector<std::string> names() const;
  // Every stored entry (for gossip and persistence), in name then incarnation order.
  std::vector<CatalogEntry> entries() const;

  friend bool operator==(const CollectionCatalog&, const CollectionCatalog&) = default;

 private:
  // Creates of one name, all of generation `generation`, keyed by incarnation.
  struct Name {
    uint32_t generation = 0;
    std::map<uint64_t, CatalogEntry> creates;
    friend bool operator==(const Name&, const Name&) = default;
  };
  static const CatalogEntry& earliest(const Name& n);
  bool merge_one(const CatalogEntry& entry);

  std::map<std::string, Name> names_;
};

}  // namespace meridian::node
