// End-to-end key rotation on a real meridiand: rotate while a writer runs, no acknowledged write
// is lost, every record reads back, the old key is retired once the re-seal pass is done, and the
// node restarts with only the new key.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <thread>

#include "client/client.h"
#include "crypto/key_file.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_support.h"

namespace meridian {
namespace {

using client::Client;
using client::PointData;
using testing::DaemonProcess;
using testing::TempDir;
using namespace std::chrono_literals;

uint64_t values_under(const client::KeyStatus& status, uint32_t key_id) {
  for (const auto& k : status.keys) {
    if (k.key_id == key_id) return k.values;
  }
  return 0;
}

TEST(KeyRotationTest, RotateWhileWritingLosesNothingAndTheOldKeyRetiresAfterTheResealPass) {
  TempDir dir;
  std::string old_key = (dir.path() / "old.key").string();
  std::string new_key = (dir.path() / "new.key").string();
  auto old_id = crypto::write_new_key_file(old_key);
  auto new_id = crypto::write_new_key_file(new_key);
  ASSERT_TRUE(old_id.ok() && new_id.ok());
  std::string data = (dir.path() / "data").string();

  DaemonProcess node({"--data-dir", data, "--listen", "127.0.0.1:0", "--key-file", old_key},
                     dir.path() / "node.log");
  auto address = node.wait_listening(30s);
  ASSERT_TRUE(address.has_value()) << node.log();
  auto admin = Client::connect(*address);
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)->create_collection({"c", 8, Metric::kL2, IndexKind::kFlat}).ok());
  // Enough data that the re-seal pass takes several batches.
  for (uint64_t start = 0; start < 5000; start += 1000) {
    std::vector<PointData> batch;
    for (uint64_t i = start; i < start + 1000; ++i) {
      batch.push_back({PointId::number(i), std::vector<float>(8, float(i)), ""});
    }
    ASSERT_TRUE((*admin)->upsert("c", batch).ok());
  }

  // A writer on its own connection keeps upserting while the key rotates.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> acknowledged{5000};
  std::thread writer([&] {
    auto client = Client::connect(*address);
    if (!client.ok()) return;
    for (uint64_t next = 5000; !stop.load() || next < 5500; next += 10) {
      std::vector<PointData> batch;
      for (uint64_t i = next; i < next + 10; ++i) {
        batch.push_back({PointId::number(i), std::vector<float>(8, float(i)), "{\"w\":1}"});
      }
      if (!(*client)->upsert("c", batch).ok()) return;
      acknowledged.store(next + 10);
    }
  });

  auto rotated = (*admin)->rotate_key(new_key);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_TRUE(rotated->keys.front().active);
  EXPECT_EQ(rotated->keys.front().key_id, *new_id);
  MERIDIAN_EXPECT_CODE((*admin)->rotate_key(new_key), absl::StatusCode::kAlreadyExists);
  MERIDIAN_EXPECT_CODE((*admin)->retire_key(*new_id), absl::StatusCode::kFailedPrecondition);

  // Wait (with a deadline) for the pass to move everything off the old key.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  client::KeyStatus status;
  do {
    auto s = (*admin)->key_status();
    ASSERT_TRUE(s.ok()) << s.status();
    status = *s;
    if (!status.resealing && values_under(status, *old_id) == 0) break;
    // (Refusal to retire a key still in use is tested deterministically in key_manager_test.)
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(values_under(status, *old_id), 0u) << node.log();
  EXPECT_GT(status.resealed_values, 0u);

  stop.store(true);
  writer.join();
  uint64_t total = acknowledged.load();
  ASSERT_GE(total, 5500u);

  auto retired = (*admin)->retire_key(*old_id);
  ASSERT_TRUE(retired.ok()) << retired.status();
  ASSERT_EQ(retired->keys.size(), 1u);
  EXPECT_EQ(retired->keys[0].key_id, *new_id);
  EXPECT_EQ(*(*admin)->count("c"), total);
  admin->reset();
  auto exit = node.stop(SIGTERM, 20s);
  ASSERT_TRUE(exit.has_value() && WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << node.log();

  // The node restarts with the new key alone, and every acknowledged write reads back.
  DaemonProcess again({"--data-dir", data, "--listen", "127.0.0.1:0", "--key-file", new_key},
                      dir.path() / "node2.log");
  auto address2 = again.wait_listening(30s);
  ASSERT_TRUE(address2.has_value()) << again.log();
  auto client = Client::connect(*address2);
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(*(*client)->count("c"), total);
  for (uint64_t start = 0; start < total; start += 5000) {
    std::vector<PointId> ids;
    for (uint64_t i = start; i < std::min(total, start + 5000); ++i)
      ids.push_back(PointId::number(i));
    auto got = (*client)->get("c", ids, {true, false});
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), ids.size());
    for (size_t i = 0; i < got->size(); ++i) {
      EXPECT_EQ((*got)[i].vector, std::vector<float>(8, float(start + i)));
    }
  }
  auto final_status = (*client)->key_status();
  ASSERT_TRUE(final_status.ok());
  EXPECT_EQ(final_status->unreadable_values, 0u);
}

TEST(KeyRotationTest, InsecureNodeHasNoKeysToRotate) {
  TempDir dir;
  DaemonProcess node({"--data-dir", (dir.path() / "data").string(), "--listen", "127.0.0.1:0",
                      "--insecure-no-encryption"},
                     dir.path() / "node.log");
  auto address = node.wait_listening(30s);
  ASSERT_TRUE(address.has_value()) << node.log();
  auto client = Client::connect(*address);
  ASSERT_TRUE(client.ok());
  auto status = (*client)->key_status();
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->encrypted);
  MERIDIAN_EXPECT_CODE((*client)->rotate_key((dir.path() / "x.key").string()),
                       absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace meridian
