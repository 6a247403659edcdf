// Node's side of the collection catalog (see node.h and collection_catalog.h): loading and
// persisting it, and making the local collections match its winners after a local change or a
// merge of a peer's entries.
#include "absl/strings/str_cat.h"
#include "node/cluster_codec.h"
#include "node/log.h"
#include "node/node.h"

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
  for (const auto& [name, unused] : collections_) {
    if (catalog_.resolve(name).has_value() && bindings_.contains(name)) continue;
    if (!catalog_.resolve(name).has_value()) {
      auto entry = catalog_.create(local_config(name), options_.mint_replica_id(),
                                   options_.physical_clock_ms(), options_.region);
      if (!entry.ok()) return entry.status();
      bindings_[name] = entry->incarnation;
    } else {
      // In the catalog but unbound (a crash between the catalog write and the binding):
      // the local data belongs to whatever the catalog resolves to if the settings agree.
      bindings_[name] = catalog_.resolve(name)->incarnation;
    }
    dirty = true;
  }
  for (const std::string& name : catalog_.names()) {
    const CatalogEntry winner = *catalog_.resolve(name);
    const bool local = collections_.contains(name);
    auto bound = bindings_.find(name);
    if (winner.dropped) {
      if (local) {
        if (auto s = drop_local(name); !s.ok()) return s;
        changes.push_back(absl::StrCat("collection '", name, "' dropped (catalog)"));
      }
      if (bound != bindings_.end()) bindings_.erase(bound);
      dirty = true;
      continue;
    }
    if (!local) {
      if (auto s = create_local(winner.config); !s.ok()) return s;
      bindings_[name] = winner.incarnation;
      changes.push_back(absl::StrCat("collection '", name, "' created (catalog, from region ",
                                     winner.region, ")"));
      dirty = true;
      continue;
    }
    if (bound->second == winner.incarnation) continue;
    if (catalog_.same_collection(name, bound->second) && local_config(name) == winner.config) {
      // A concurrent create with the same settings: the same collection; keep the data.
      bindings_[name] = winner.incarnation;
      dirty = true;
      continue;
    }
    // Our create lost to one with other settings: its data cannot be mixed into the winner.
    log_error(absl::StrCat("collection '", name, "': a create with other settings from region ",
                           winner.region,
                           " wins everywhere; this node's copy of the losing create is "
                           "discarded (see `meridian collection info`)"));
    if (auto s = drop_local(name); !s.ok()) return s;
    if (auto s = create_local(winner.config); !s.ok()) return s;
    bindings_[name] = winner.incarnation;
    changes.push_back(absl::StrCat("collection '", name, "' replaced by the winning create"));
    dirty = true;
  }
  if (dirty) {
    if (auto s = persist_catalog(); !s.ok()) return s;
  }
  return changes;
}

}  // namespace meridian::node
