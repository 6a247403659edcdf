// `meridian`: Meridian's command-line client. Parses arguments and dispatches; the commands
// live in the meridian_cli library beside this file.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/progress_bar.h"
#include "cli/run_command.h"

int main(int argc, char** argv) {
  using namespace meridian::cli;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const char* env_server = std::getenv("MERIDIAN_SERVER");
  const std::string default_server =
      env_server != nullptr && *env_server != '\0' ? env_server : kDefaultServer;
  absl::StatusOr<Invocation> invocation = parse_command_line(args, default_server);
  if (!invocation.ok()) {
    std::cerr << "error: " << invocation.status().message() << '\n' << short_usage(args);
    return kExitUsage;
  }
  return run_invocation(*invocation, std::cout, std::cerr, stderr_is_terminal());
}
