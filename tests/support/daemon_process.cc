// Real-process launcher for integration tests; see daemon_process.h.
#include "tests/support/daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace meridian::testing {

std::filesystem::path built_binary(const std::string& relative) {
  const char* dir = std::getenv("MERIDIAN_BINARY_DIR");
  return std::filesystem::path(dir != nullptr ? dir : MERIDIAN_DEFAULT_BINARY_DIR) / relative;
}

DaemonProcess::DaemonProcess(std::vector<std::string> args, std::filesystem::path log_path)
    : log_path_(std::move(log_path)) {
  std::string binary = built_binary("node/meridiand").string();
  std::vector<char*> argv;
  argv.push_back(binary.data());
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Truncate before forking so wait_listening() can never read a previous run's lines.
  std::ofstream(log_path_, std::ios::trunc).close();
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, STDERR_FILENO);
      ::dup2(fd, STDOUT_FILENO);
    }
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string DaemonProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> DaemonProcess::wait_listening(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  const std::string marker = "listening on ";
  while (std::chrono::steady_clock::now() < until) {
    std::string text = log();
    size_t at = text.find(marker);
    if (at != std::string::npos) {
      size_t end = text.find('\n', at);
      if (end != std::string::npos)
        return text.substr(at + marker.size(), end - at - marker.size());
    }
    int status = 0;
    if (!exited_ && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return std::nullopt;
    }
    // Polling the log file: the condition is the log line, the interval only bounds CPU use.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

std::optional<int> DaemonProcess::stop(int signal, std::chrono::milliseconds deadline) {
  if (exited_) return std::nullopt;
  ::kill(pid_, signal);
  return wait_exit(deadline);
}

}  // namespace meridian::testing
