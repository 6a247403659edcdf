// meridian-chaos-proxy as a real process: the lines it prints, bytes through it, control over
// its socket, a refused target, and a clean exit on SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "chaos/chaos_control.h"
#include "tests/chaos/socket_helpers.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_support.h"

namespace meridian::chaos {
namespace {

using std::chrono::milliseconds;
using testing::EchoServer;
using testing::TestSocket;

constexpr milliseconds kDeadline{20000};

// A meridian-chaos-proxy child with stdout and stderr in a file; SIGKILLed if still running.
class ProxyProcess {
 public:
  ProxyProcess(std::vector<std::string> args, std::filesystem::path log) : log_(std::move(log)) {
    std::string binary = meridian::testing::built_binary("chaos/meridian-chaos-proxy").string();
    std::vector<char*> argv{binary.data()};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::ofstream(log_, std::ios::trunc).close();
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_APPEND);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
  }
  ~ProxyProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  std::string log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Waits for a line matching `pattern` (an ECMAScript regex) and returns its captures.
  std::optional<std::smatch> wait_line(const std::string& pattern) {
    std::regex re(pattern);
    auto until = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < until) {
      text_ = log();
      std::smatch match;
      if (std::regex_search(text_, match, re)) return match;
      if (wait_exit(milliseconds(0))) return std::nullopt;
      std::this_thread::sleep_for(milliseconds(10));  // polls the log; bounds CPU only
    }
    return std::nullopt;
  }

  // The exit status (as from waitpid) once the process has exited, within the deadline.
  std::optional<int> wait_exit(milliseconds deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    do {
      if (exited_) return status_;
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
        exited_ = true;
        return status_;
      }
      if (deadline.count() > 0) std::this_thread::sleep_for(milliseconds(10));
    } while (std::chrono::steady_clock::now() < until);
    return std::nullopt;
  }

  void signal(int sig) { ::kill(pid_, sig); }

 private:
  std::filesystem::path log_;
  std::string text_;  // keeps the matched text alive for the returned smatch
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

TEST(ProxyProcessTest, ForwardsIntactIsControlledAndStopsOnSigterm) {
  EchoServer echo;
  meridian::testing::TempDir dir;
  ProxyProcess proxy({"--link", "r1-r2=127.0.0.1:0->127.0.0.1:" + std::to_string(echo.port()),
                      "--delay-ms", "0:2", "--seed", "1234", "--control", "127.0.0.1:0"},
                     dir.path() / "proxy.log");
  auto ready = proxy.wait_line("\nready\n");
  ASSERT_TRUE(ready) << proxy.log();
  std::string log = proxy.log();
  EXPECT_THAT(log, ::testing::HasSubstr("seed 1234"));
  std::smatch link;
  ASSERT_TRUE(std::regex_search(
      log, link,
      std::regex("link r1-r2 listening on 127\\.0\\.0\\.1:(\\d+) -> 127\\.0\\.0\\.1:" +
                 std::to_string(echo.port()))))
      << log;
  uint16_t port = static_cast<uint16_t>(std::stoi(link[1].str()));
  std::smatch control_match;
  ASSERT_TRUE(std::regex_search(log, control_match,
                                std::regex("control listening on 127\\.0\\.0\\.1:(\\d+)")));
  uint16_t control_port = static_cast<uint16_t>(std::stoi(control_match[1].str()));

  std::vector<std::thread> threads;
  std::array<bool, 3> intact{};  // not vector<bool>: its elements share words
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      std::string payload = testing::random_bytes(1 << 20, 100 + i);
      auto socket = TestSocket::connect(port);
      if (!socket.ok()) return;
      std::thread sender([&] { (void)socket->send_all(payload); });
      auto echoed = socket->recv_exact(payload.size(), kDeadline);
      sender.join();
      intact[i] = echoed.ok() && *echoed == payload;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(intact[i]) << "connection " << i;

  auto control = ChaosControl::connect(HostPort{"127.0.0.1", control_port});
  MERIDIAN_ASSERT_OK(control);
  auto open = TestSocket::connect(port);
  MERIDIAN_ASSERT_OK(open);
  MERIDIAN_ASSERT_OK(control->cut("r1-r2"));
  EXPECT_TRUE(open->wait_closed(kDeadline));
  MERIDIAN_ASSERT_OK(control->heal("r1-r2"));
  auto status = control->status();
  MERIDIAN_ASSERT_OK(status);
  EXPECT_EQ(status->seed, 1234u);
  ASSERT_EQ(status->links.size(), 1u);
  EXPECT_FALSE(status->links[0].cut);
  EXPECT_GE(status->links[0].closed_by_cut, 1u);

  proxy.signal(SIGTERM);
  auto exit_status = proxy.wait_exit(kDeadline);
  ASSERT_TRUE(exit_status.has_value());
  EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 0) << proxy.log();
}

TEST(ProxyProcessTest, RefusesANonLoopbackTarget) {
  meridian::testing::TempDir dir;
  ProxyProcess proxy({"--link", "out=127.0.0.1:0->8.8.8.8:53"}, dir.path() / "proxy.log");
  auto exit_status = proxy.wait_exit(kDeadline);
  ASSERT_TRUE(exit_status.has_value());
  EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 1);
  EXPECT_THAT(proxy.log(), ::testing::HasSubstr("target 8.8.8.8:53 refused"));
}

TEST(ProxyProcessTest, BadCommandLineExitsWithUsage) {
  meridian::testing::TempDir dir;
  ProxyProcess proxy({"--link", "nonsense"}, dir.path() / "proxy.log");
  auto exit_status = proxy.wait_exit(kDeadline);
  ASSERT_TRUE(exit_status.has_value());
  EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 2);
  EXPECT_THAT(proxy.log(), ::testing::HasSubstr("usage: meridian-chaos-proxy"));
}

}  // namespace
}  // namespace meridian::chaos
