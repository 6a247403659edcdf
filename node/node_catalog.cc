// Node's side of the collection catalog (see node.h and collection_catalog.h): loading and
// persisting it, and making the local collections match its winners after a local change or a
// merge of a peer's entries.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "node/cluster_codec.h"
#include "node/log.h"
#include "node/node.h"
#include "node/shard_placement.h"

namespace meridian::node {
namespace {

constexpr std::string_view kCatalogKey = "catalog";

}  // namespace

absl::Status Node::load_catalog() {
  auto stored = store_.read_meta(kCatalogKey);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    auto decoded = decode_stored_catalog(**stored);
    if (!decoded.ok()) {
      return absl::DataLossError(absl::StrCat("the stored collection catalog is unreadable: ",
                                              decoded.status().message()));
    }
    catalog_.merge(decoded->entries);
    bindings_ = std::move(decoded->bindings);
  }
  auto changes = reconcile_catalog();
  if (!changes.ok()) return changes.status();
  for (const auto& line : *changes) log_info(line);
  return absl::OkStatus();
}

absl::Status Node::persist_catalog() const {
  return store_.write_meta(kCatalogKey,
                           encode_stored_catalog(StoredCatalog{catalog_.entries(), bindings_}));
}

std::vector<CatalogEntry> Node::catalog_entries() const {
  AnnotatedReaderLock lock(&mu_);
  return catalog_.entries();
}

std::vector<CatalogEntry> Node::catalog_conflicts(const std::string& collection) const {
  AnnotatedReaderLock lock(&mu_);
  return catalog_.conflicts(collection);
}

absl::StatusOr<std::vector<std::string>> Node::set_region_members(
    std::vector<std::string> node_ids) {
  absl::MutexLock lock(&mu_);
  std::sort(node_ids.begin(), node_ids.end());
  node_ids.erase(std::unique(node_ids.begin(), node_ids.end()), node_ids.end());
  if (region_members_ == node_ids) return std::vector<std::string>{};
  region_members_ = std::move(node_ids);
  return reconcile_catalog();
}

bool Node::owns_shard(const CollectionConfig& config, uint32_t shard) const {
  absl::ReaderMutexLock lock(&mu_);
  return owns_shard_locked(config, shard);
}

bool Node::owns_shard_locked(const CollectionConfig& config, uint32_t shard) const {
  if (config.replication_factor == 0) return true;
  if (!region_members_.has_value()) return !options_.await_placement;
  const auto owners = shard_owners(config.name, shard, *region_members_, config.replication_factor);
  return std::find(owners.begin(), owners.end(), node_id()) != owners.end();
}

absl::StatusOr<std::vector<std::string>> Node::merge_catalog(
    const std::vector<CatalogEntry>& entries) {
  AnnotatedWriterLock lock(&mu_);
  if (!catalog_.merge(entries)) return std::vector<std::string>{};
  if (auto s = persist_catalog(); !s.ok()) return s;
  return reconcile_catalog();
}

absl::StatusOr<std::vector<std::string>> Node::reconcile_catalog() {
  std::vector<std::string> changes;
  bool dirty = false;
  // Local collections the catalog has never heard of: from before the catalog existed, or
  // created locally just before a crash. They join the catalog as creates of this node.
  std::vector<std::string> locals;
  for (const auto& [name, unused] : collections_) locals.push_back(name);
  for (const std::string& name : locals) {
    auto parsed = parse_shard_replica_name(name);
    if (!parsed.ok()) continue;  // stored names are validated: not reached
    const auto winner = catalog_.resolve(parsed->collection);
    if (winner.has_value() && bindings_.contains(name)) continue;
    if (!winner.has_value()) {
      // Only a whole one-shard collection can stand for itself; a shard replica of a collection
      // the catalog does not know is a leftover of a crash during its create or drop.
      if (parsed->shard != 0 || local_config(name).shard_count != 1) {
        log_error(absl::StrCat("shard replica '", name,
                               "' belongs to no collection of the catalog; dropping it"));
        if (auto s = drop_local(name); !s.ok()) return s;
        continue;
      }
      auto entry = catalog_.create(local_config(name), options_.mint_replica_id(),
                                   options_.physical_clock_ms(), options_.region);
      if (!entry.ok()) return entry.status();
      bindings_[name] = entry->incarnation;
    } else {
      // In the catalog but unbound (a crash between the catalog write and the binding):
      // the local data belongs to whatever the catalog resolves to if the settings agree.
      bindings_[name] = winner->incarnation;
    }
    dirty = true;
  }
  for (const std::string& name : catalog_.names()) {
    const CatalogEntry winner = *catalog_.resolve(name);
    if (winner.dropped) {
      for (const std::string& local : local_shards_of(name)) {
        if (auto s = drop_local(local); !s.ok()) return s;
        changes.push_back(absl::StrCat("collection '", local, "' dropped (catalog)"));
        bindings_.erase(local);
        dirty = true;
      }
      continue;
    }
    const uint32_t shard_count = winner.config.shard_count;
    // The shards this node owns in its region (all of them for replication factor 0).
    for (uint32_t shard = 0; shard < shard_count; ++shard) {
      const std::string local = shard_replica_name(name, shard);
      const CollectionConfig config = shard_replica_config(winner.config, shard);
      if (!collections_.contains(local)) {
        // Only owned shards get a new replica. One already here that is no longer owned is
        // kept (it may hold the only copy of writes) until ClusterService hands it off
        // (retire_replica) once its owners have everything.
        if (!owns_shard_locked(winner.config, shard)) continue;
        if (auto s = create_local(config); !s.ok()) return s;
        bindings_[local] = winner.incarnation;
        changes.push_back(absl::StrCat("collection '", local, "' created (catalog, from region ",
                                       winner.region, ")"));
        dirty = true;
        continue;
      }
      auto bound = bindings_.find(local);
      if (bound->second == winner.incarnation) continue;
      if (catalog_.same_collection(name, bound->second) && local_config(local) == config) {
        // A concurrent create with the same settings: the same collection; keep the data.
        bindings_[local] = winner.incarnation;
        dirty = true;
        continue;
      }
      // Our create lost to one with other settings: its data cannot be mixed into the winner.
      log_error(absl::StrCat("collection '", local, "': a create with other settings from region ",
                             winner.region,
                             " wins everywhere; this node's copy of the losing create is "
                             "discarded (see `meridian collection info`)"));
      if (auto s = drop_local(local); !s.ok()) return s;
      if (auto s = create_local(config); !s.ok()) return s;
      bindings_[local] = winner.incarnation;
      changes.push_back(absl::StrCat("collection '", local, "' replaced by the winning create"));
      dirty = true;
    }
    // Shard replicas beyond the winner's shard count (of a losing create with more shards).
    for (const std::string& local : local_shards_of(name)) {
      if (parse_shard_replica_name(local)->shard < shard_count) continue;
      if (auto s = drop_local(local); !s.ok()) return s;
      bindings_.erase(local);
      changes.push_back(absl::StrCat("collection '", local,
                                     "' dropped (not a shard of the "
                                     "winning create)"));
      dirty = true;
    }
  }
  if (dirty) {
    if (auto s = persist_catalog(); !s.ok()) return s;
  }
  return changes;
}

}  // namespace meridian::node
