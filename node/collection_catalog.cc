// The collection catalog's join and resolution rules (see collection_catalog.h).
#include "node/collection_catalog.h"

#include <tuple>

#include "absl/strings/str_cat.h"

namespace meridian::node {

const CatalogEntry& CollectionCatalog::earliest(const Name& n) {
  const CatalogEntry* best = nullptr;
  for (const auto& [incarnation, e] : n.creates) {
    if (best == nullptr ||
        std::tie(e.created_ms, e.incarnation) < std::tie(best->created_ms, best->incarnation)) {
      best = &e;
    }
  }
  return *best;
}

std::optional<CatalogEntry> CollectionCatalog::resolve(const std::string& name) const {
  auto it = names_.find(name);
  if (it == names_.end() || it->second.creates.empty()) return std::nullopt;
  CatalogEntry winner = earliest(it->second);
  for (const auto& [incarnation, e] : it->second.creates) {
    if (e.config != winner.config) continue;
    winner.incarnation = std::min(winner.incarnation, incarnation);
    winner.dropped = winner.dropped || e.dropped;
  }
  return winner;
}

bool CollectionCatalog::same_collection(const std::string& name, uint64_t incarnation) const {
  auto it = names_.find(name);
  if (it == names_.end()) return false;
  auto create = it->second.creates.find(incarnation);
  if (create == it->second.creates.end()) return false;
  return create->second.config == earliest(it->second).config;
}

std::vector<CatalogEntry> CollectionCatalog::conflicts(const std::string& name) const {
  std::vector<CatalogEntry> out;
  auto it = names_.find(name);
  if (it == names_.end() || it->second.creates.empty()) return out;
  const CollectionConfig& winning = earliest(it->second).config;
  for (const auto& [incarnation, e] : it->second.creates) {
    if (e.config != winning) out.push_back(e);
  }
  return out;
}

absl::StatusOr<CatalogEntry> CollectionCatalog::create(const CollectionConfig& config,
                                                       uint64_t incarnation, uint64_t created_ms,
                                                       const std::string& region) {
  if (incarnation == 0) return absl::InvalidArgumentError("incarnation 0 is reserved");
  auto current = resolve(config.name);
  if (current.has_value() && !current->dropped) {
    return absl::AlreadyExistsError(absl::StrCat("collection '", config.name, "' already exists"));
  }
  CatalogEntry entry{config.name, incarnation, current ? current->generation + 1 : 0,
                     created_ms,  region,      config,
                     false};
  merge_one(entry);
  return entry;
}

absl::Status CollectionCatalog::drop(const std::string& name) {
  auto current = resolve(name);
  if (!current.has_value() || current->dropped) {
    return absl::NotFoundError(absl::StrCat("collection '", name, "' does not exist"));
  }
  for (auto& [incarnation, e] : names_[name].creates) {
    if (e.config == current->config) e.dropped = true;
  }
  return absl::OkStatus();
}

bool CollectionCatalog::merge_one(const CatalogEntry& entry) {
  if (entry.name.empty() || entry.incarnation == 0) return false;
  auto [it, inserted] = names_.try_emplace(entry.name);
  Name& n = it->second;
  if (!inserted && entry.generation < n.generation) return false;
  if (inserted || entry.generation > n.generation) {
    n.generation = entry.generation;
    n.creates.clear();
    n.creates.emplace(entry.incarnation, entry);
    return true;
  }
  auto [create, fresh] = n.creates.try_emplace(entry.incarnation, entry);
  if (fresh) return true;
  // Every field but `dropped` is fixed at create time; `dropped` only ever turns on.
  if (entry.dropped && !create->second.dropped) {
    create->second.dropped = true;
    return true;
  }
  return false;
}

bool CollectionCatalog::merge(const std::vector<CatalogEntry>& entries) {
  bool changed = false;
  for (const auto& e : entries) changed = merge_one(e) || changed;
  return changed;
}

std::vector<std::string> CollectionCatalog::names() const {
  std::vector<std::string> out;
  for (const auto& [name, n] : names_) out.push_back(name);
  return out;
}

std::vector<CatalogEntry> CollectionCatalog::entries() const {
  std::vector<CatalogEntry> out;
  for (const auto& [name, n] : names_) {
    for (const auto& [incarnation, e] : n.creates) out.push_back(e);
  }
  return out;
}

}  // namespace meridian::node
