// Key rotation for encryption at rest: holds the node's master keys (active first), swaps the
// sealer's key ring when a key is added or retired, and runs the background pass that re-seals
// every stored value under the active key while writes go on.
//
// Thread safety: all methods may be called from any thread. The re-seal pass runs on its own
// thread and interleaves with writers one LMDB transaction (at most kResealBatch values) at a
// time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/aead_record_sealer.h"
#include "crypto/master_key.h"
#include "storage/store.h"

namespace meridian::node {

struct KeyInfo {
  uint32_t key_id = 0;
  bool active = false;
  uint64_t values = 0;
};

struct KeyStatus {
  bool encrypted = false;
  std::vector<KeyInfo> keys;  // active first
  bool resealing = false;
  uint64_t resealed_values = 0;
  uint64_t unreadable_values = 0;
};

class KeyManager {
 public:
  static constexpr size_t kResealBatch = 512;

  // `sealer` is null when the node runs without encryption; then every action but status()
  // fails with FailedPrecondition. `keys` are the ring's keys, active first. `store` and
  // `sealer` must outlive the manager.
  KeyManager(storage::Store& store, crypto::AeadRecordSealer* sealer,
             std::vector<crypto::MasterKey> keys);
  ~KeyManager();  // stops the re-seal thread after its current batch
  KeyManager(const KeyManager&) = delete;
  KeyManager& operator=(const KeyManager&) = delete;

  // Starts a re-seal pass when any value is sealed under a non-active key (e.g. after a crash
  // in the middle of a pass, or a restart with a newly listed key).
  absl::Status resume_if_needed();

  absl::StatusOr<KeyStatus> status() const;
  // Loads the key in `key_file`, makes it active and starts re-sealing. AlreadyExists when the
  // key is in the ring already.
  absl::StatusOr<KeyStatus> rotate(const std::string& key_file);
  // FailedPrecondition when `key_id` is active or any value is still sealed under it.
  absl::StatusOr<KeyStatus> retire(uint32_t key_id);

 private:
  absl::Status install_ring_locked();
  void request_pass_locked();
  void reseal_loop();
  absl::Status run_pass();

  storage::Store& store_;
  crypto::AeadRecordSealer* const sealer_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<crypto::MasterKey> keys_;  // guarded by mu_; active first
  uint64_t requested_passes_ = 0;        // guarded by mu_
  uint64_t finished_passes_ = 0;         // guarded by mu_
  uint64_t resealed_values_ = 0;         // guarded by mu_
  bool stopping_ = false;                // guarded by mu_
  std::thread worker_;
};

}  // namespace meridian::node
