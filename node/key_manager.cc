// Key rotation and the background re-seal pass; see key_manager.h.
#include "node/key_manager.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "crypto/key_file.h"
#include "crypto/key_ring.h"
#include "node/log.h"

namespace meridian::node {
namespace {

absl::StatusOr<crypto::MasterKey> copy_key(const crypto::MasterKey& key) {
  const auto& bytes = key.bytes();
  return crypto::MasterKey::from_bytes(std::span<const unsigned char>(bytes.data(), bytes.size()));
}

absl::Status encryption_off() {
  return absl::FailedPreconditionError(
      "encryption at rest is off on this node (--insecure-no-encryption): there are no keys");
}

}  // namespace

KeyManager::KeyManager(storage::Store& store, crypto::AeadRecordSealer* sealer,
                       std::vector<crypto::MasterKey> keys)
    : store_(store), sealer_(sealer), keys_(std::move(keys)) {
  if (sealer_ != nullptr) worker_ = std::thread([this] { reseal_loop(); });
}

KeyManager::~KeyManager() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

absl::Status KeyManager::install_ring_locked() {
  std::vector<crypto::MasterKey> copies;
  for (const auto& key : keys_) {
    auto copy = copy_key(key);
    if (!copy.ok()) return copy.status();
    copies.push_back(std::move(*copy));
  }
  crypto::KeyId active = keys_.front().id();
  auto ring = crypto::KeyRing::create(std::move(copies), active);
  if (!ring.ok()) return ring.status();
  sealer_->set_ring(std::move(*ring));
  return absl::OkStatus();
}

void KeyManager::request_pass_locked() {
  ++requested_passes_;
  wake_.notify_all();
}

absl::Status KeyManager::resume_if_needed() {
  if (sealer_ == nullptr) return absl::OkStatus();
  auto usage = store_.key_usage();
  if (!usage.ok()) return usage.status();
  std::lock_guard lock(mu_);
  for (const auto& [id, count] : usage->values_by_key_id) {
    if (id != keys_.front().id() && count > 0) {
      log_info(absl::StrCat(count, " stored values are sealed under key ",
                            crypto::format_key_id(id), ", not the active key ",
                            crypto::format_key_id(keys_.front().id()), "; re-sealing them"));
      request_pass_locked();
      break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<KeyStatus> KeyManager::status() const {
  KeyStatus status;
  status.encrypted = sealer_ != nullptr;
  if (sealer_ == nullptr) return status;
  auto usage = store_.key_usage();
  if (!usage.ok()) return usage.status();
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < keys_.size(); ++i) {
    uint32_t id = keys_[i].id();
    auto it = usage->values_by_key_id.find(id);
    status.keys.push_back({id, i == 0, it == usage->values_by_key_id.end() ? 0 : it->second});
  }
  status.resealing = finished_passes_ < requested_passes_;
  status.resealed_values = resealed_values_;
  status.unreadable_values = usage->unreadable;
  return status;
}

absl::StatusOr<KeyStatus> KeyManager::rotate(const std::string& key_file) {
  if (sealer_ == nullptr) return encryption_off();
  auto key = crypto::load_key_file(key_file);
  if (!key.ok()) return key.status();
  {
    std::lock_guard lock(mu_);
    for (const auto& existing : keys_) {
      if (existing.id() == key->id()) {
        return absl::AlreadyExistsError(absl::StrCat("key ", crypto::format_key_id(key->id()),
                                                     " is already in this node's key ring"));
      }
    }
    keys_.insert(keys_.begin(), std::move(*key));
    if (auto s = install_ring_locked(); !s.ok()) {
      keys_.erase(keys_.begin());
      return s;
    }
    log_info(absl::StrCat("key ", crypto::format_key_id(keys_.front().id()), " from ", key_file,
                          " is now the active master key; list it first (--key-file ", key_file,
                          ") in this node's configuration before the next restart"));
    request_pass_locked();
  }
  return status();
}

absl::StatusOr<KeyStatus> KeyManager::retire(uint32_t key_id) {
  if (sealer_ == nullptr) return encryption_off();
  {
    std::lock_guard lock(mu_);
    auto it = std::find_if(keys_.begin(), keys_.end(),
                           [&](const crypto::MasterKey& k) { return k.id() == key_id; });
    if (it == keys_.end()) {
      return absl::NotFoundError(
          absl::StrCat("key ", crypto::format_key_id(key_id), " is not in this node's key ring"));
    }
    if (it == keys_.begin()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key ", crypto::format_key_id(key_id), " is the active key; rotate to another first"));
    }
  }
  // Only the active key seals new values, so once no value uses a non-active key none will.
  auto usage = store_.key_usage();
  if (!usage.ok()) return usage.status();
  auto in_use = usage->values_by_key_id.find(key_id);
  if (in_use != usage->values_by_key_id.end() && in_use->second > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", crypto::format_key_id(key_id), " still seals ", in_use->second,
                     " stored values; wait for the re-seal pass to finish (meridian keys status)"));
  }
  {
    std::lock_guard lock(mu_);
    auto it = std::find_if(keys_.begin(), keys_.end(),
                           [&](const crypto::MasterKey& k) { return k.id() == key_id; });
    if (it == keys_.end() || it == keys_.begin()) {
      return absl::AbortedError("the key ring changed during retire; try again");
    }
    crypto::MasterKey removed = std::move(*it);
    keys_.erase(it);
    if (auto s = install_ring_locked(); !s.ok()) return s;
    log_info(absl::StrCat("retired key ", crypto::format_key_id(key_id),
                          "; remove its --key-file from this node's configuration"));
  }
  return status();
}

void KeyManager::reseal_loop() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || finished_passes_ < requested_passes_; });
    if (stopping_) return;
    uint64_t target = requested_passes_;
    lock.unlock();
    absl::Status s = run_pass();
    lock.lock();
    if (!s.ok()) {
      log_error(
          absl::StrCat("re-seal pass failed (it will resume at the next start or "
                       "rotation): ",
                       s.ToString()));
    }
    finished_passes_ = target;
  }
}

absl::Status KeyManager::run_pass() {
  auto started = std::chrono::steady_clock::now();
  std::string cursor;
  uint64_t resealed = 0, unreadable = 0;
  do {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return absl::OkStatus();
    }
    auto batch = store_.reseal_batch(&cursor, kResealBatch);
    if (!batch.ok()) return batch.status();
    resealed += batch->resealed;
    unreadable += batch->unreadable;
    std::lock_guard lock(mu_);
    resealed_values_ += batch->resealed;
  } while (!cursor.empty());
  log_info(absl::StrCat(
      "re-seal pass done: ", resealed, " values re-sealed under key ",
      crypto::format_key_id(sealer_->active_key_id()), " in ",
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                            started)
          .count(),
      " ms",
      unreadable > 0 ? absl::StrCat(", ", unreadable, " unreadable values left as they are") : ""));
  return absl::OkStatus();
}

}  // namespace meridian::node
