// A test fixture holding a real node::Node over a real LMDB store in a temporary directory
// (plaintext sealing), with reopen() to simulate a restart. Shared by the node tests.
#pragma once

#include <memory>

#include "crypto/plaintext_record_sealer.h"
#include "node/node.h"
#include "tests/support/test_support.h"

namespace meridian::node {

class NodeFixture : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  // Closes the node and store (if open) and opens them again from the same directory.
  void reopen() {
    node_.reset();
    store_.reset();
    storage::StoreOptions options;
    options.node_id_if_new = "test-node";
    options.map_size_bytes = size_t{1} << 30;
    auto store = storage::Store::open(dir_.path(), sealer_, options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto node = Node::open(*store_, node_options());
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
  }

  // Options of every open; a test fixture overrides this to change them.
  virtual NodeOptions node_options() const { return NodeOptions{}; }

  meridian::testing::TempDir dir_;
  crypto::PlaintextRecordSealer sealer_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Node> node_;
};

}  // namespace meridian::node
