// Internals of the chaos proxy: one Link (a listening socket forwarding to one target) and its
// Connections, each relaying bytes both ways through a delayed, bounded queue.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "chaos/control_protocol.h"
#include "chaos/fault_profile.h"

namespace meridian::chaos::internal {

using Clock = std::chrono::steady_clock;

class Connection;

// A listening socket whose connections are forwarded to one target under a FaultProfile.
// Thread safety: none; every member is used only on the thread running the io_context. The
// Link must outlive every handler of its connections (ChaosProxy drains the io_context first).
class Link {
 public:
  Link(asio::io_context& io, std::string name, asio::ip::tcp::endpoint target, FaultProfile profile,
       uint64_t queue_cap_bytes, uint64_t seed);
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Binds and listens on `listen` (port 0: ephemeral). Call once, before start().
  absl::Status open(const asio::ip::tcp::endpoint& listen);
  // Starts accepting.
  void start();
  // Closes the listening socket and resets every connection; nothing is started afterwards.
  void close();
  // Resets all current connections and resets new ones at once, until heal().
  void cut();
  void heal();

  const std::string& name() const { return name_; }
  // The profile read by connections for every chunk; changes apply at once (reset-prob: to
  // connections accepted afterwards).
  FaultProfile& profile() { return profile_; }
  uint64_t queue_cap_bytes() const { return queue_cap_bytes_; }
  asio::ip::tcp::endpoint listen_endpoint() const { return listen_endpoint_; }
  LinkStatus status() const;

  // Used by Connection.
  LinkStatus& counters() { return counters_; }
  void on_connection_closed(uint64_t id);

 private:
  void accept_next();

  std::string name_;
  asio::ip::tcp::endpoint target_;
  asio::ip::tcp::endpoint listen_endpoint_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  FaultProfile profile_;
  uint64_t queue_cap_bytes_;
  std::mt19937_64 rng_;
  bool cut_ = false;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  LinkStatus counters_;  // only the counter fields are kept here
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
};

// One proxied connection: client <-> proxy <-> target. Owned by its Link's map while open;
// handlers hold a shared_ptr so it lives until the last one ran. Thread safety: io thread only.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Link& link, uint64_t id, asio::ip::tcp::socket client, uint64_t seed);

  // Connects to `target`, then relays. `reset_after`: reset the connection after this long.
  void start(const asio::ip::tcp::endpoint& target, std::optional<Clock::duration> reset_after);
  // Closes both sockets with a TCP reset and leaves the link; idempotent.
  void abort();

 private:
  struct Chunk {
    std::vector<char> bytes;
    Clock::time_point release;
  };
  // One direction of the relay; index 0 is client -> target, 1 is target -> client.
  struct Direction {
    explicit Direction(asio::any_io_executor executor) : timer(executor) {}
    asio::steady_timer timer;
    std::deque<Chunk> queue;
    std::vector<char> read_buffer;
    uint64_t queued = 0;
    bool reading = false;
    bool writing = false;  // waiting for the front chunk's release time, or writing it
    bool eof = false;
    bool shut_down = false;
    Clock::time_point last_release;
    Clock::time_point wire_free_at;  // bandwidth model
  };

  asio::ip::tcp::socket& source(int d) { return d == 0 ? client_ : target_; }
  asio::ip::tcp::socket& sink(int d) { return d == 0 ? target_ : client_; }
  void read(int d);
  void on_read(int d, const asio::error_code& ec, size_t n);
  void pump(int d);
  Clock::time_point release_time(Direction& dir, size_t n);
  void close_gracefully();
  void leave_link();

  Link& link_;
  uint64_t id_;
  asio::ip::tcp::socket client_;
  asio::ip::tcp::socket target_;
  asio::steady_timer reset_timer_;
  Direction dirs_[2];
  std::mt19937_64 rng_;
  bool closed_ = false;
};

}  // namespace meridian::chaos::internal
