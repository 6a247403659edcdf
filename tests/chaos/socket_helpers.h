// Test helpers for the chaos proxy tests: a threaded echo server on 127.0.0.1:0 that can pause
// reading (a slow reader), and a blocking loopback client whose reads take deadlines.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace meridian::chaos::testing {

// Echoes every byte back on each accepted connection, one thread per connection. While paused,
// connections do not read (their peers see back-pressure). Thread-safe.
class EchoServer {
 public:
  EchoServer();  // listens on 127.0.0.1:0; port() is 0 if that failed
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  uint16_t port() const { return port_; }
  void set_paused(bool paused);

 private:
  void accept_loop();
  void serve(int fd);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable resumed_;
  bool paused_ = false;               // guarded by mu_
  std::vector<int> fds_;              // guarded by mu_
  std::vector<std::thread> threads_;  // guarded by mu_
  std::thread acceptor_;
};

// A blocking TCP connection to 127.0.0.1:port. Not thread-safe, except that one thread may send
// while another receives.
class TestSocket {
 public:
  static absl::StatusOr<TestSocket> connect(uint16_t port);
  TestSocket(TestSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  TestSocket& operator=(TestSocket&&) = delete;
  ~TestSocket();

  // Unavailable when the connection fails (reset, closed).
  absl::Status send_all(std::string_view bytes);
  // Exactly n bytes; Unavailable on EOF or reset, DeadlineExceeded when not all came in time.
  absl::StatusOr<std::string> recv_exact(size_t n, std::chrono::milliseconds deadline);
  // True when the peer closes or resets the connection before the deadline (data is discarded).
  bool wait_closed(std::chrono::milliseconds deadline);
  void shutdown_send();

 private:
  explicit TestSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// `n` bytes from a seeded generator.
std::string random_bytes(size_t n, uint64_t seed);

}  // namespace meridian::chaos::testing
